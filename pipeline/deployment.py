"""Deploying the pipeline: upload the step code (content-addressed, once), then create or update it."""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.exceptions import ClientError
from sagemaker.mlops.workflow.parallelism_config import ParallelismConfiguration
from sagemaker.mlops.workflow.pipeline import Pipeline

from .code_package import StepCode
from .config import PipelineConfig
from .parameters import DESCRIPTIONS

NOT_FOUND_CODES = {"ResourceNotFound", "ValidationException", "404", "NoSuchKey", "NotFound"}


def upload_step_code(
    session: boto3.Session, config: PipelineConfig, codes: list[StepCode], kms_key_id: str = ""
) -> list[str]:
    """Upload each package unless its content-addressed key is already there; return the URIs uploaded."""
    s3 = session.client("s3")
    uploaded = []
    for code in codes:
        uri = code.s3_uri(config.code_prefix)
        bucket, key = uri.removeprefix("s3://").split("/", 1)
        try:
            s3.head_object(Bucket=bucket, Key=key)
            continue  # same key, same bytes: nothing to do
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in NOT_FOUND_CODES:
                raise
        encryption = (
            {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id}
            if kms_key_id
            else {"ServerSideEncryption": "AES256"}
        )
        s3.put_object(Bucket=bucket, Key=key, Body=code.archive, ContentType="application/gzip", **encryption)
        uploaded.append(uri)
    return uploaded


def pipeline_description(config: PipelineConfig, pipeline: Pipeline) -> str:
    """The pipeline's description with its parameters' descriptions: the definition has no field for them."""
    lines = [config.description, "", "Parameters:"]
    for parameter in pipeline.parameters:
        lines.append(
            f"- {parameter.name} (default {parameter.default_value!r}): {DESCRIPTIONS[parameter.name]}"
        )
    return "\n".join(lines)[:3072]  # the API's limit


def upsert(pipeline: Pipeline, config: PipelineConfig, max_parallel_steps: int | None) -> dict[str, Any]:
    parallelism = (
        ParallelismConfiguration(max_parallel_execution_steps=max_parallel_steps)
        if max_parallel_steps
        else None
    )
    response = pipeline.upsert(
        role_arn=config.role_arn,
        description=pipeline_description(config, pipeline),
        tags=[{"Key": key, "Value": value} for key, value in sorted(config.tags.items())],
        parallelism_config=parallelism,
    )
    # The SDK's create/update take no display name; set it with the same client, as Studio shows it.
    pipeline.sagemaker_session.sagemaker_client.update_pipeline(
        PipelineName=pipeline.name, PipelineDisplayName=config.display_name
    )
    return response


def deployed_definition(pipeline: Pipeline) -> dict[str, Any] | None:
    """The definition the service holds now, or None if the pipeline does not exist."""
    try:
        described = pipeline.describe()
    except ClientError as exc:
        if exc.response["Error"]["Code"] in NOT_FOUND_CODES:
            return None
        raise
    return json.loads(described["PipelineDefinition"])
