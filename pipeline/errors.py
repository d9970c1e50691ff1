"""One exception family for the SDK side: every failure a command expects ends as one line and an exit code.

:func:`failure_of` is the CLI edge's one place for turning an exception into that line: this family, the
AWS SDK's own errors (botocore's, with the service's error code and message) and the operating system's.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

SHOWN_CHARACTERS = 80  # a value longer than this is cut in messages


def shown(value: Any, length: int = SHOWN_CHARACTERS) -> str:
    """A value as a one-line message shows it: its repr, cut short."""
    return cut(repr(value), length)


def cut(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


class PipelineError(Exception):
    """A command cannot go on; the message says why in one line."""

    exit_code = 1


class ConfigError(PipelineError):
    """The configuration is incomplete or invalid; the message says which setting and how to set it."""


class ParameterOverrideError(PipelineError):
    """A ``--param`` that names no parameter, or whose value is not of the parameter's type."""


class DefinitionError(PipelineError):
    """An expression of the pipeline definition cannot be resolved: a missing parameter, step or property."""


class DeploymentError(PipelineError):
    """The SDK refused to deploy or schedule the pipeline (e.g. a role it does not accept)."""


class NotFoundError(PipelineError):
    """What a command asked for (an execution, the pipeline's executions) does not exist."""


class LocalRunError(PipelineError):
    """The local run cannot start or did not finish."""


class LocalUsageError(LocalRunError):
    """The local run's options contradict each other (its folders overlap, a --param it sets itself)."""

    exit_code = 2


@dataclass(frozen=True)
class Failure:
    message: str
    exit_code: int


# How to give credentials, and how to renew a session that expired: what the credential errors end with.
CREDENTIALS_HELP = (
    'run "aws configure" (or "aws sso login --profile NAME"), or set AWS_PROFILE / --profile, or '
    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
)
RENEW_HELP = (
    'log in again ("aws sso login --profile NAME", or "aws login"), or set fresh AWS_ACCESS_KEY_ID, '
    "AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN"
)
# The services' error codes for a session token that has expired.
EXPIRED_TOKEN_CODES = frozenset({"ExpiredToken", "ExpiredTokenException"})


def failure_of(exc: BaseException) -> Failure | None:
    """The one line and exit code an expected error ends in; None for a bug, whose traceback is wanted."""
    if isinstance(exc, PipelineError):
        return Failure(_one_line(str(exc)) or type(exc).__name__, exc.exit_code)
    if isinstance(exc, OSError):
        return Failure(_one_line(str(exc)) or type(exc).__name__, 1)
    if "botocore" in sys.modules:  # an AWS error can only come from a command that loaded botocore
        from botocore.exceptions import BotoCoreError, ClientError

        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            operation = getattr(exc, "operation_name", "request")
            message = f"{operation} failed: {error.get('Code', 'error')}: {error.get('Message', '')}"
            if error.get("Code") in EXPIRED_TOKEN_CODES:
                message += f": the AWS session has expired: {RENEW_HELP}"
            return Failure(_one_line(message), 1)
        if isinstance(exc, BotoCoreError):
            return Failure(_one_line(_credentials_message(exc) or str(exc)) or type(exc).__name__, 1)
    return None


def _credentials_message(exc: BaseException) -> str:
    """The line for botocore's credential errors, saying how to fix them; empty for its other errors."""
    from botocore import exceptions

    if isinstance(exc, exceptions.NoCredentialsError):
        return f"no AWS credentials found: {CREDENTIALS_HELP}"
    if isinstance(exc, exceptions.PartialCredentialsError):
        return f"{exc}: {CREDENTIALS_HELP}"
    # An SSO or "aws login" session that expired or was never started (LoginError: newer botocore only),
    # a token or credentials that cannot be had.
    login_error = getattr(exceptions, "LoginError", exceptions.SSOError)
    expired = (
        exceptions.SSOError,
        login_error,
        exceptions.TokenRetrievalError,
        exceptions.CredentialRetrievalError,
    )
    if isinstance(exc, expired):
        return f"AWS credentials could not be loaded ({exc}): {RENEW_HELP}"
    return ""


def _one_line(text: str) -> str:
    return " ".join(text.split())
