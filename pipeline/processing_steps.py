"""The SDK's declaration of the pipeline's steps (``dag``): a ProcessingStep per extract step, then the
combine step over them; and the SDK objects of the pipeline's parameters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sagemaker.core.network import NetworkConfig
from sagemaker.core.processing import Processor
from sagemaker.core.shapes import ProcessingInput, ProcessingOutput, ProcessingS3Input, ProcessingS3Output
from sagemaker.core.workflow.execution_variables import ExecutionVariables
from sagemaker.core.workflow.functions import Join
from sagemaker.core.workflow.parameters import (
    Parameter,
    ParameterBoolean,
    ParameterInteger,
    ParameterString,
)
from sagemaker.core.workflow.pipeline_context import PipelineSession
from sagemaker.mlops.workflow.retry import (
    SageMakerJobExceptionTypeEnum,
    SageMakerJobStepRetryPolicy,
    StepExceptionTypeEnum,
    StepRetryPolicy,
)
from sagemaker.mlops.workflow.steps import CacheConfig, ProcessingStep

from steps.extract.command import INPUT_VERSION_OPTION

from .config import PipelineConfig
from .dag import (
    CODE_DIR,
    COMBINED_OUTPUT_NAME,
    GROUP_OUTPUT_NAME,
    OUTPUT_DIR,
    RECORDS_DIR,
    DagStep,
    combine_arguments,
    extract_arguments,
)
from .parameters import pipeline_parameters
from .step_code import StepCode

CACHE = CacheConfig(enable_caching=True, expire_after="P30D")
COMBINE_VOLUME_GB = 30  # the groups' outputs (features, errors, summaries) and the reports: small
_SDK_PARAMETERS = {"String": ParameterString, "Integer": ParameterInteger, "Boolean": ParameterBoolean}


@dataclass(frozen=True)
class PipelineParameters:
    """The pipeline's parameters as SDK objects, for the step factories to refer to."""

    input_root: ParameterString
    output_root: ParameterString
    group_instance_type: ParameterString
    group_instance_count: ParameterInteger
    group_volume_size_gb: ParameterInteger
    combine_instance_type: ParameterString
    strict_mode: ParameterBoolean
    max_runtime_seconds: ParameterInteger
    input_version: ParameterString

    @classmethod
    def of(cls, config: PipelineConfig) -> PipelineParameters:
        sdk = {
            parameter.name: _SDK_PARAMETERS[parameter.type](
                name=parameter.name, default_value=parameter.default
            )
            for parameter in pipeline_parameters(config)
        }
        return cls(
            input_root=sdk["InputRoot"],
            output_root=sdk["OutputRoot"],
            group_instance_type=sdk["GroupInstanceType"],
            group_instance_count=sdk["GroupInstanceCount"],
            group_volume_size_gb=sdk["GroupVolumeSizeGB"],
            combine_instance_type=sdk["CombineInstanceType"],
            strict_mode=sdk["StrictMode"],
            max_runtime_seconds=sdk["MaxRuntimeSeconds"],
            input_version=sdk["InputVersion"],
        )

    def as_list(self) -> list[Parameter]:
        return list(vars(self).values())


@dataclass(frozen=True)
class StepContext:
    """What every step factory needs: the config, the parameters, a pipeline session, the image."""

    config: PipelineConfig
    parameters: PipelineParameters
    session: PipelineSession
    image_uri: str


# A step refused for an account quota (RESOURCE_LIMIT: instances of its type, or volume size in use) waits
# for other jobs to end: it is tried again every 10 minutes for up to a day, about the time other groups'
# steps take, rather than giving up after ~14 minutes as a doubling interval of 4 attempts would.
QUOTA_RETRY_INTERVAL_SECONDS = 600
QUOTA_RETRY_WINDOW_MINUTES = 24 * 60


def retry_policies() -> list[StepRetryPolicy | SageMakerJobStepRetryPolicy]:
    """Retry what is worth retrying: throttling and service faults, capacity and internal job errors, and
    quota refusals (for long enough that the steps holding the quota finish)."""
    return [
        StepRetryPolicy(
            exception_types=[StepExceptionTypeEnum.THROTTLING, StepExceptionTypeEnum.SERVICE_FAULT],
            interval_seconds=30,
            backoff_rate=2.0,
            max_attempts=5,
        ),
        SageMakerJobStepRetryPolicy(
            failure_reason_types=[
                SageMakerJobExceptionTypeEnum.CAPACITY_ERROR,
                SageMakerJobExceptionTypeEnum.INTERNAL_ERROR,
            ],
            interval_seconds=120,
            backoff_rate=2.0,
            max_attempts=4,
        ),
        SageMakerJobStepRetryPolicy(
            exception_types=[SageMakerJobExceptionTypeEnum.RESOURCE_LIMIT],
            interval_seconds=QUOTA_RETRY_INTERVAL_SECONDS,
            backoff_rate=1.0,
            expire_after_mins=QUOTA_RETRY_WINDOW_MINUTES,
        ),
    ]


def extract_step(context: StepContext, code: StepCode, step: DagStep) -> ProcessingStep:
    """``Extract<group>``: the whole group folder, FullyReplicated, so a record's files land together."""
    p = context.parameters
    assert step.group is not None, f"{step.name} is not an extract step"
    processor = _processor(
        context, code, p.group_instance_type, p.group_instance_count, p.group_volume_size_gb
    )
    records = ProcessingInput(
        input_name="records",
        s3_input=ProcessingS3Input(
            # a trailing "/": the prefix of group p0 must not also take p00's objects
            s3_uri=Join(on="/", values=[p.input_root, step.group, ""]),
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
                on="/",
                values=[p.output_root, ExecutionVariables.PIPELINE_EXECUTION_ID, "groups", step.group],
            ),
            local_path=OUTPUT_DIR,
            s3_upload_mode="EndOfJob",
        ),
    )
    input_version = Join(on="", values=[f"{INPUT_VERSION_OPTION}=", p.input_version])
    arguments = extract_arguments(step.group, input_version)
    run = processor.run(inputs=[_code_input(context, code), records], outputs=[output], arguments=arguments)
    return _processing_step(step, run)


def combine_step(
    context: StepContext, code: StepCode, step: DagStep, extracts: Sequence[tuple[DagStep, ProcessingStep]]
) -> ProcessingStep:
    """``Combine``: its arguments name each group step's output property, so a group that ran anew (and so
    wrote under a new execution id) changes the combine step's cache key, and a reused one does not. They
    are arguments, not ProcessingInputs: a job takes at most 10 inputs (the step fetches them itself)."""
    p = context.parameters
    processor = _processor(context, code, p.combine_instance_type, 1, COMBINE_VOLUME_GB)
    group_outputs = [
        (
            str(extract.group),
            sdk_step.properties.ProcessingOutputConfig.Outputs[GROUP_OUTPUT_NAME].S3Output.S3Uri,
        )
        for extract, sdk_step in extracts
    ]
    output = ProcessingOutput(
        output_name=COMBINED_OUTPUT_NAME,
        s3_output=ProcessingS3Output(
            s3_uri=Join(on="/", values=[p.output_root, ExecutionVariables.PIPELINE_EXECUTION_ID, "combined"]),
            local_path=OUTPUT_DIR,
            s3_upload_mode="EndOfJob",
        ),
    )
    arguments = combine_arguments(context.config, group_outputs, Join(on="", values=[p.strict_mode]))
    run = processor.run(inputs=[_code_input(context, code)], outputs=[output], arguments=arguments)
    return _processing_step(step, run)


def _processing_step(step: DagStep, step_args: Any) -> ProcessingStep:
    """``step_args``: what ``Processor.run`` returns under a pipeline session (the job's request)."""
    return ProcessingStep(
        name=step.name,
        display_name=step.display_name,
        description=step.description,
        step_args=step_args,
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
        # no key: the fields are left out (SSE-S3 and an AWS-managed volume key), not sent empty
        volume_kms_key=config.kms_key_id or None,
        output_kms_key=config.kms_key_id or None,
        max_runtime_in_seconds=p.max_runtime_seconds,
        base_job_name=f"{config.pipeline_name}-{code.step}",
        sagemaker_session=context.session,
        env={"PYTHONUNBUFFERED": "1"},
        tags=config.tag_list,
        network_config=network,
    )


def _code_input(context: StepContext, code: StepCode) -> ProcessingInput:
    return ProcessingInput(
        input_name="code",
        s3_input=ProcessingS3Input(
            s3_uri=code.s3_uri(context.config.code_prefix),
            local_path=CODE_DIR,
            s3_data_type="S3Prefix",
            s3_input_mode="File",
            s3_data_distribution_type="FullyReplicated",
        ),
    )
