"""Getting the SageMaker SDK ready to be imported and used, from the resolved configuration."""

from __future__ import annotations

import logging
import os
import warnings
from typing import TYPE_CHECKING

from .config import PipelineConfig

if TYPE_CHECKING:
    import boto3

QUIET_LOGGERS = ("botocore", "boto3", "sagemaker", "sagemaker.config", "urllib3")


def export_region(config: PipelineConfig) -> None:
    """Make the resolved region every client's default, before anything imports the SDK.

    SDK 3.27 creates boto3 clients at import time (``sagemaker.ai_registry.air_hub``, reached from
    ``sagemaker.mlops``; sagemaker-python-sdk PR #5935 makes them lazy), and botocore takes a client's default
    region from ``AWS_DEFAULT_REGION`` only, not from ``AWS_REGION``, ``--region`` or our config file. So the
    region, however it was given, is exported here, and it replaces a different ``AWS_DEFAULT_REGION``: the
    resolved setting (flag > environment > file) is the one every client uses.
    """
    if config.region:
        os.environ["AWS_DEFAULT_REGION"] = config.region


def boto_session(config: PipelineConfig) -> boto3.Session:
    """A boto3 session for the configured profile and region, with the SDK importable and quiet."""
    import boto3

    config.require("region")
    export_region(config)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    # One warning a step that the job name is dropped from the definition: that is what we want.
    logging.getLogger("sagemaker.core.workflow.utilities").setLevel(logging.ERROR)
    # A credential refresh that fails (an SSO session never logged in, or expired) is logged as a warning with
    # its traceback, then raised: the error line (errors.failure_of) says it once, and how to log in.
    logging.getLogger("botocore.credentials").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="Running within a PipelineSession")
    return boto3.Session(profile_name=config.profile or None, region_name=config.region)
