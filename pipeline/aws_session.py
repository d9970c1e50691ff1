"""Getting the SageMaker SDK ready to be imported and used, from the resolved configuration."""

from __future__ import annotations

import logging
import os
import warnings

import boto3

from .config import PipelineConfig

QUIET_LOGGERS = ("botocore", "boto3", "sagemaker", "sagemaker.config", "urllib3")


def boto_session(config: PipelineConfig) -> boto3.Session:
    """A boto3 session for the configured profile and region, with the SDK importable and quiet.

    SDK 3.27 creates boto3 clients at import time (``sagemaker.ai_registry.air_hub``, reached from
    ``sagemaker.mlops``), which fails without a default region: sagemaker-python-sdk PR #5935 makes them
    lazy. Until then the configured region is exported before the SDK is imported.
    """
    config.require("region")
    os.environ.setdefault("AWS_DEFAULT_REGION", config.region)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    # One warning a step that the job name is dropped from the definition: that is what we want.
    logging.getLogger("sagemaker.core.workflow.utilities").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="Running within a PipelineSession")
    return boto3.Session(profile_name=config.profile or None, region_name=config.region)
