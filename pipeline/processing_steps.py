"""Step factories: an extract step per patient group, and the combine step over all of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sagemaker.core.network import NetworkConfig
from sagemaker.core.processing import Processor
from sagemaker.core.shapes import ProcessingInput, ProcessingOutput, ProcessingS3Input, ProcessingS3Output
from sagemaker.core.workflow.execution_variables import ExecutionVariables
from sagemaker.core.workflow.functions import Join
from sagemaker.core.workflow.parameters import ParameterInteger, ParameterString
from sagemaker.core.workflow.pipeline_context import PipelineSession
from sagemaker.mlops.workflow.retry import (
    SageMakerJobExceptionTypeEnum,
    SageMakerJobStepRetryPolicy,
    StepExceptionTypeEnum,
    StepRetryPolicy,
)
from sagemaker.mlops.workflow.steps import CacheConfig, ProcessingStep

from .code_package import CONTAINER_CODE_DIR, StepCode
from .config import PipelineConfig
from .parameters import PipelineParameters

RECORDS_DIR = "/opt/ml/processing/input/records"
GROUP_OUTPUTS_DIR = "/opt/ml/processing/input/groups"
OUTPUT_DIR = "/opt/ml/processing/output"
GROUP_OUTPUT_NAME = "group"
COMBINED_OUTPUT_NAME = "combined"
CACHE = CacheConfig(enable_caching=True, expire_after="P30D")


@dataclass(frozen=True)
class StepContext:
    """What every step factory needs: the config, the parameters, a pipeline session, the images."""

    config: PipelineConfig
    parameters: PipelineParameters
    session: PipelineSession
    image_uri: str


def retry_policies() -> list[StepRetryPolicy | SageMakerJobStepRetryPolicy]:
    """Retry what is worth retrying: throttling and service faults, capacity and internal job errors."""
    return [
        StepRetryPolicy(
            exception_types=[StepExceptionTypeEnum.THROTTLING, StepExceptionTypeEnum.SERVICE_FAULT],
            interval_seconds=30,
            backoff_rate=2.0,
            max_attempts=5,
        ),
        SageMakerJobStepRetryPolicy(
            exception_types=[
                SageMakerJobExceptionTypeEnum.CAPACITY_ERROR,
                SageMakerJobExceptionTypeEnum.RESOURCE_LIMIT,
                SageMakerJobExceptionTypeEnum.INTERNAL_ERROR,
            ],
            interval_seconds=120,
            backoff_rate=2.0,
            max_attempts=4,
        ),
    ]


def extract_step(context: StepContext, code: StepCode, group: str) -> ProcessingStep:
    """``Extract<group>``: the whole group folder, FullyReplicated, so a record's files land together."""
    p = context.parameters
    processor = _processor(
        context, code, p.group_instance_type, p.group_instance_count, p.group_volume_size_gb
    )
    records = ProcessingInput(
        input_name="records",
        s3_input=ProcessingS3Input(
            s3_uri=Join(on="/", values=[p.input_root, group]),
            local_path=RECORDS_DIR,
            s3_data_type="S3Prefix",
            s3_input_mode="File",
            s3_data_distribution_type="FullyReplicated",
        ),
    )
    output = ProcessingOutput(
        output_name=GROUP_OUTPUT_NAME,
        s3_output=ProcessingS3Output(
            s3_uri=Join(
                on="/", values=[p.output_root, ExecutionVariables.PIPELINE_EXECUTION_ID, "groups", group]
            ),
            local_path=OUTPUT_DIR,
            s3_upload_mode="EndOfJob",
        ),
    )
    arguments = [
        "--input-dir", RECORDS_DIR,
        "--output-dir", OUTPUT_DIR,
        "--group", group,
        "--strict", Join(on="", values=[p.strict_mode]),
        "--input-version", p.input_version,
    ]  # fmt: skip
    return ProcessingStep(
        name=f"Extract{group}",
        display_name=f"Extract group {group}",
        description=f"Summarise every WFDB record of patient group {group} over every vCPU.",
        step_args=processor.run(
            inputs=[_code_input(context, code), records], outputs=[output], arguments=arguments
        ),
        cache_config=CACHE,
        retry_policies=retry_policies(),
    )


def combine_step(
    context: StepContext, code: StepCode, extract_steps: Sequence[ProcessingStep]
) -> ProcessingStep:
    """``Combine``: its inputs are the group steps' output properties, so a group that ran anew (and so
    wrote under a new execution id) changes the combine step's cache key, and a reused one does not."""
    p = context.parameters
    processor = _processor(context, code, p.combine_instance_type, 1, 100)
    group_inputs = [
        ProcessingInput(
            input_name=f"group-{step.name.removeprefix('Extract')}",
            s3_input=ProcessingS3Input(
                s3_uri=step.properties.ProcessingOutputConfig.Outputs[GROUP_OUTPUT_NAME].S3Output.S3Uri,
                local_path=f"{GROUP_OUTPUTS_DIR}/{step.name.removeprefix('Extract')}",
                s3_data_type="S3Prefix",
                s3_input_mode="File",
                s3_data_distribution_type="FullyReplicated",
            ),
        )
        for step in extract_steps
    ]
    output = ProcessingOutput(
        output_name=COMBINED_OUTPUT_NAME,
        s3_output=ProcessingS3Output(
            s3_uri=Join(on="/", values=[p.output_root, ExecutionVariables.PIPELINE_EXECUTION_ID, "combined"]),
            local_path=OUTPUT_DIR,
            s3_upload_mode="EndOfJob",
        ),
    )
    # The dataset goes next to the reports, at a location the script reads from its own job's output
    # configuration: an execution id in the arguments would change the cache key of every run.
    arguments = [
        "--input-dir", GROUP_OUTPUTS_DIR,
        "--output-dir", OUTPUT_DIR,
        "--dataset-s3-uri", "from-job-output",
        "--kms-key-id", p.kms_key_id,
    ]  # fmt: skip
    if context.config.glue_database:
        arguments += ["--glue-database", context.config.glue_database]
    if context.config.glue_table:
        arguments += ["--glue-table", context.config.glue_table]
    return ProcessingStep(
        name="Combine",
        display_name="Combine groups",
        description="Merge the groups' features into one Parquet dataset, signal statistics, quality report.",
        step_args=processor.run(
            inputs=[_code_input(context, code), *group_inputs], outputs=[output], arguments=arguments
        ),
        cache_config=CACHE,
        retry_policies=retry_policies(),
    )


def _processor(
    context: StepContext,
    code: StepCode,
    instance_type: ParameterString,
    instance_count: ParameterInteger | int,
    volume_size: ParameterInteger | int,
) -> Processor:
    config = context.config
    p = context.parameters
    network = (
        NetworkConfig(
            subnets=list(config.subnets),
            security_group_ids=list(config.security_group_ids),
            encrypt_inter_container_traffic=True,
        )
        if config.subnets
        else None
    )
    return Processor(
        role=config.role_arn,
        image_uri=context.image_uri,
        instance_count=instance_count,
        instance_type=instance_type,
        entrypoint=code.entrypoint(install_requirements=not config.custom_image),
        volume_size_in_gb=volume_size,
        volume_kms_key=p.kms_key_id,
        output_kms_key=p.kms_key_id,
        max_runtime_in_seconds=p.max_runtime_seconds,
        base_job_name=f"{config.pipeline_name}-{code.step}",
        sagemaker_session=context.session,
        env={"PYTHONUNBUFFERED": "1"},
        tags=[{"Key": key, "Value": value} for key, value in sorted(config.tags.items())],
        network_config=network,
    )


def _code_input(context: StepContext, code: StepCode) -> ProcessingInput:
    return ProcessingInput(
        input_name="code",
        s3_input=ProcessingS3Input(
            s3_uri=code.s3_uri(context.config.code_prefix),
            local_path=CONTAINER_CODE_DIR,
            s3_data_type="S3Prefix",
            s3_input_mode="File",
            s3_data_distribution_type="FullyReplicated",
        ),
    )
