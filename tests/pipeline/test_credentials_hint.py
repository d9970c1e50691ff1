"""The commands that need credentials, when there are none or their session expired, say in one line how to
get them, against moto's server, from a process whose environment holds no credentials."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from pipeline.errors import failure_of
from tests.aws import MotoAws

COMMAND = str(Path(sys.executable).parent / "waveform-pipeline")
NO_CREDENTIALS = (
    'error: no AWS credentials found: run "aws configure" (or "aws sso login --profile NAME"), or set '
    "AWS_PROFILE / --profile, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY\n"
)


def run(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([COMMAND, *argv], capture_output=True, text=True, env=env, cwd=cwd, check=False)


@pytest.fixture
def no_credentials(aws: MotoAws, tmp_path: Path) -> dict[str, str]:
    """The moto server's address and a region, and no credentials anywhere botocore looks: empty files, no
    variables, no instance metadata."""
    empty = tmp_path / "empty"
    empty.write_text("")
    (tmp_path / "home").mkdir()
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path / "home"),
        "AWS_ENDPOINT_URL": aws.endpoint,
        "AWS_REGION": aws.region,
        "AWS_SHARED_CREDENTIALS_FILE": str(empty),
        "AWS_CONFIG_FILE": str(empty),
        "AWS_EC2_METADATA_DISABLED": "true",
        "SAGEMAKER_USER_CONFIG_OVERRIDE": str(empty),
        "SAGEMAKER_ADMIN_CONFIG_OVERRIDE": str(empty),
    }


@pytest.mark.parametrize(
    "command",
    [["status"], ["executions"], ["schedule", "show"], ["plan", "--bucket", "my-waveform-bucket"]],
    ids=" ".join,
)
def test_no_credentials_says_how_to_give_them(
    no_credentials: dict[str, str], tmp_path: Path, command: list[str]
) -> None:
    result = run(command, no_credentials, tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (1, "", NO_CREDENTIALS)


def test_an_sso_profile_that_is_not_logged_in_says_to_log_in(
    no_credentials: dict[str, str], tmp_path: Path
) -> None:
    config = tmp_path / "aws-config"
    config.write_text(
        "[profile icu]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\n"
        "sso_account_id = 111122223333\nsso_role_name = Deployer\n"
    )
    result = run(
        ["--profile", "icu", "executions"], {**no_credentials, "AWS_CONFIG_FILE": str(config)}, tmp_path
    )
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.startswith(
        "error: AWS credentials could not be loaded ("
    ) and result.stderr.endswith(
        '): log in again ("aws sso login --profile NAME", or "aws login"), or set fresh AWS_ACCESS_KEY_ID, '
        "AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN\n"
    )
    assert result.stderr.count("\n") == 1


def test_an_expired_session_token_says_to_log_in_again() -> None:
    expired = ClientError(
        {
            "Error": {
                "Code": "ExpiredTokenException",
                "Message": "The security token included in the request is expired",
            }
        },
        "ListPipelineExecutions",
    )
    failure = failure_of(expired)
    assert failure is not None and failure.exit_code == 1
    assert failure.message == (
        "ListPipelineExecutions failed: ExpiredTokenException: The security token included in the request "
        'is expired: the AWS session has expired: log in again ("aws sso login --profile NAME", or "aws '
        'login"), or set fresh AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN'
    )
