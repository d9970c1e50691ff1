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

from steps.combine.destination import sse_arguments

from .config import PipelineConfig
from .errors import DeploymentError
from .parameters import DESCRIPTIONS
from .step_code import StepCode

NOT_FOUND_CODES = {"ResourceNotFound", "ValidationException", "404", "NoSuchKey", "NotFound"}


def upload_step_code(session: boto3.Session, config: PipelineConfig, codes: Iterable[StepCode]) -> list[str]:
    """Upload each package unless its content-addressed key is already there, encrypted under the configured
    KMS key (else SSE-S3); return the URIs uploaded."""
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
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=code.archive,
            ContentType="application/gzip",
            **sse_arguments(config.kms_key_id),
        )
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


def upsert_pipeline(
    pipeline: Pipeline, config: PipelineConfig, max_parallel_steps: int | None
) -> dict[str, Any]:
    parallelism = (
        ParallelismConfiguration(max_parallel_execution_steps=max_parallel_steps)
        if max_parallel_steps
        else None
    )
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
