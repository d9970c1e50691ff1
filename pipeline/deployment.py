"""Deploying the pipeline: upload the step code (content-addressed, once), then create or update it."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.exceptions import ClientError
from sagemaker.core.helper.iam_role_resolver import RoleValidationError
from sagemaker.mlops.workflow.parallelism_config import ParallelismConfiguration
from sagemaker.mlops.workflow.pipeline import Pipeline

from steps.contract.s3 import sse_arguments

from .config import PipelineConfig
from .errors import DeploymentError
from .parameters import DESCRIPTIONS, parameter_text
from .step_code import StepCode

NOT_FOUND_CODES = {"ResourceNotFound", "ValidationException", "404", "NoSuchKey", "NotFound"}
DESCRIPTION_LIMIT = 3072  # PipelineDescription's maximum length in the service model


def upload_step_code(session: boto3.Session, config: PipelineConfig, codes: Iterable[StepCode]) -> list[str]:
    """Upload each package unless its content-addressed key is already there encrypted as configured (under
    the KMS key, else SSE-S3); return the URIs uploaded."""
    s3 = session.client("s3")
    uploaded = []
    for code in codes:
        uri = code.s3_uri(config.code_prefix)
        bucket, key = uri.removeprefix("s3://").split("/", 1)
        try:
            head = s3.head_object(Bucket=bucket, Key=key)
            if _encrypted_as_configured(head, config.kms_key_id):
                continue  # same key, same bytes, same encryption: nothing to do
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in NOT_FOUND_CODES:
                raise
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=code.archive,
            ContentType="application/gzip",
            **sse_arguments(config.kms_key_id),
        )
        uploaded.append(uri)
    return uploaded


def _encrypted_as_configured(head: dict[str, Any], kms_key_id: str) -> bool:
    """Whether an object (its HeadObject response) is encrypted as ``sse_arguments`` would encrypt it now."""
    wanted = sse_arguments(kms_key_id)
    if head.get("ServerSideEncryption") != wanted["ServerSideEncryption"]:
        return False
    # S3 reports the key's ARN whichever form was given: a key id or ARN matches its tail; an alias never
    # does, and the package is uploaded again, which is harmless
    return not kms_key_id or str(head.get("SSEKMSKeyId", "")).endswith(kms_key_id.rsplit(":", 1)[-1])


def pipeline_description(config: PipelineConfig, pipeline: Pipeline) -> str:
    """The pipeline's description with its parameters' descriptions (the definition has no field for them),
    on one line: the API matches its pattern ``.*`` against the whole value, and ``.`` takes no newline."""
    parameters = "; ".join(
        f"{p.name} (default {parameter_text(p.default_value)}): {DESCRIPTIONS[p.name]}"
        for p in pipeline.parameters
    )
    text = f"{config.description} Parameters: {parameters}"
    return text if len(text) <= DESCRIPTION_LIMIT else text[: DESCRIPTION_LIMIT - 3] + "..."


def upsert_pipeline(pipeline: Pipeline, config: PipelineConfig) -> dict[str, Any]:
    parallelism = ParallelismConfiguration(max_parallel_execution_steps=config.max_parallel_steps)
    with sdk_refusals_as_errors():
        response = pipeline.upsert(
            role_arn=config.role_arn,
            description=pipeline_description(config, pipeline),
            tags=config.tag_list,
            parallelism_config=parallelism,
        )
    # The SDK's create/update take no display name; set it with the same client, as Studio shows it.
    pipeline.sagemaker_session.sagemaker_client.update_pipeline(
        PipelineName=pipeline.name, PipelineDisplayName=config.display_name
    )
    return dict(response)


@contextmanager
def sdk_refusals_as_errors() -> Iterator[None]:
    """The SDK's own refusal of a role (it checks the role before any request) as one of ours."""
    try:
        yield
    except RoleValidationError as exc:
        raise DeploymentError(str(exc)) from exc


def deployed_definition(pipeline: Pipeline) -> dict[str, Any] | None:
    """The definition the service holds now, or None if the pipeline does not exist."""
    try:
        described = pipeline.describe()
    except ClientError as exc:
        if exc.response["Error"]["Code"] in NOT_FOUND_CODES:
            return None
        raise
    return dict(json.loads(described["PipelineDefinition"]))
