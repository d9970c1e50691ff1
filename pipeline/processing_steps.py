"""The SDK's declaration of the pipeline's steps (``dag``): the inventory step, a ProcessingStep per extract
step reading its group through the manifest the inventory names, then the combine step over them; and the
SDK objects of the pipeline's parameters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sagemaker.core.network import NetworkConfig
from sagemaker.core.processing import Processor
from sagemaker.core.shapes import ProcessingInput, ProcessingOutput, ProcessingS3Input, ProcessingS3Output
from sagemaker.core.workflow.execution_variables import ExecutionVariables
from sagemaker.core.workflow.functions import Join, JsonGet
from sagemaker.core.workflow.parameters import (
    Parameter,
    ParameterBoolean,
    ParameterFloat,
    ParameterInteger,
    ParameterString,
)
from sagemaker.core.workflow.pipeline_context import PipelineSession
from sagemaker.core.workflow.properties import PropertyFile
from sagemaker.mlops.workflow.retry import (
    SageMakerJobExceptionTypeEnum,
    SageMakerJobStepRetryPolicy,
    StepExceptionTypeEnum,
    StepRetryPolicy,
)
from sagemaker.mlops.workflow.steps import CacheConfig, ProcessingStep

from steps.contract.arguments import WINDOW_SECONDS_OPTION
from steps.extract.command import INPUT_VERSION_OPTION
from steps.inventory.command import MANIFEST_FIELD, PROPERTY_FILE, VOLUME_FIELD

from .config import PipelineConfig
from .dag import (
    CODE_DIR,
    COMBINED_OUTPUT_NAME,
    GROUP_OUTPUT_NAME,
    INVENTORY_INSTANCE_TYPE,
    INVENTORY_OUTPUT_NAME,
    INVENTORY_PROPERTY_FILE,
    INVENTORY_VOLUME_GB,
    MANIFEST_FILE,
    MANIFESTS_FOLDER,
    OUTPUT_DIR,
    RECORDS_DIR,
    DagStep,
    combine_arguments,
    combine_environment,
    extract_arguments,
    inventory_arguments,
    inventory_path,
)
from .parameters import WINDOW_SECONDS_PARAMETER, pipeline_parameters
from .step_code import StepCode

# A group step's cache key holds everything its outputs depend on: its code package's digest (in the code
# input's content-addressed key), the image, its arguments, and its group's manifest, named by the fingerprint
# of the group's keys, sizes and ETags. So an earlier run is reused whatever its age: an expiry could only
# re-extract unchanged data (6.7 TB for MIMIC-III). The service takes an ISO 8601 duration and documents years
# ("5y"); ten years stands for "never". The combine step's key holds the group outputs it combines.
CACHE = CacheConfig(enable_caching=True, expire_after="P10Y")
# The inventory step runs on every execution: it is what notices that data changed.
NO_CACHE = CacheConfig(enable_caching=False)
_SDK_PARAMETERS = {
    "String": ParameterString,
    "Integer": ParameterInteger,
    "Float": ParameterFloat,
    "Boolean": ParameterBoolean,
}


@dataclass(frozen=True)
class PipelineParameters:
    """The pipeline's parameters as SDK objects, for the step factories to refer to."""

    input_root: ParameterString
    output_root: ParameterString
    group_instance_type: ParameterString
    group_instance_count: ParameterInteger
    group_volume_size_gb: ParameterInteger
    volume_quota_gb: ParameterInteger
    combine_instance_type: ParameterString
    strict_mode: ParameterBoolean
    max_runtime_seconds: ParameterInteger
    input_version: ParameterString
    window_seconds: ParameterFloat

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
            volume_quota_gb=sdk["VolumeQuotaGB"],
            combine_instance_type=sdk["CombineInstanceType"],
            strict_mode=sdk["StrictMode"],
            max_runtime_seconds=sdk["MaxRuntimeSeconds"],
            input_version=sdk["InputVersion"],
            window_seconds=sdk[WINDOW_SECONDS_PARAMETER],
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


def inventory_step(context: StepContext, code: StepCode, step: DagStep) -> ProcessingStep:
    """``Inventory``: lists every group and names, in its property file, each group's manifest and volume."""
    p = context.parameters
    processor = _processor(context, code, INVENTORY_INSTANCE_TYPE, 1, INVENTORY_VOLUME_GB)
    output = ProcessingOutput(
        output_name=INVENTORY_OUTPUT_NAME,
        s3_output=ProcessingS3Output(
            s3_uri=Join(
                on="/", values=[p.output_root, ExecutionVariables.PIPELINE_EXECUTION_ID, "inventory"]
            ),
            local_path=OUTPUT_DIR,
            s3_upload_mode="EndOfJob",
        ),
    )
    arguments = inventory_arguments(
        context.config,
        p.input_root,
        Join(on="/", values=[p.output_root, MANIFESTS_FOLDER]),
        Join(on="", values=["--volume-size-gb=", p.group_volume_size_gb]),
        Join(on="", values=["--volume-quota-gb=", p.volume_quota_gb]),
        Join(on="", values=[f"{WINDOW_SECONDS_OPTION}=", p.window_seconds]),
    )
    run = processor.run(inputs=[_code_input(context, code)], outputs=[output], arguments=arguments)
    return _processing_step(step, run, NO_CACHE, [inventory_file()])


def inventory_file() -> PropertyFile:
    return PropertyFile(name=INVENTORY_PROPERTY_FILE, output_name=INVENTORY_OUTPUT_NAME, path=PROPERTY_FILE)


def extract_step(
    context: StepContext, code: StepCode, step: DagStep, inventory: ProcessingStep
) -> ProcessingStep:
    """``Extract<group>``: the group's objects as the inventory listed them (its manifest), FullyReplicated,
    so a record's files land together, on a volume the inventory sized for them."""
    p = context.parameters
    assert step.group is not None, f"{step.name} is not an extract step"

    def listed(field: str) -> JsonGet:
        return inventory_value(inventory, step.group or "", field)

    processor = _processor(context, code, p.group_instance_type, p.group_instance_count, listed(VOLUME_FIELD))
    records = ProcessingInput(
        input_name="records",
        s3_input=ProcessingS3Input(
            # names the group's fingerprint: this step's cache key changes exactly when the group's data does
            s3_uri=listed(MANIFEST_FIELD),
            local_path=RECORDS_DIR,
            s3_data_type=MANIFEST_FILE,
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
    window_seconds = Join(on="", values=[f"{WINDOW_SECONDS_OPTION}=", p.window_seconds])
    arguments = extract_arguments(step.group, input_version, window_seconds)
    run = processor.run(inputs=[_code_input(context, code), records], outputs=[output], arguments=arguments)
    return _processing_step(step, run)


def inventory_value(inventory: ProcessingStep, group: str | None, field: str) -> JsonGet:
    """A group's ``field`` (with no group, the combine step's) in the inventory step's property file."""
    path = inventory_path(group, field)
    return JsonGet(step_name=inventory.name, property_file=inventory_file(), json_path=path)


def combine_step(
    context: StepContext,
    code: StepCode,
    step: DagStep,
    extracts: Sequence[tuple[DagStep, ProcessingStep]],
    inventory: ProcessingStep,
) -> ProcessingStep:
    """``Combine``: its environment names each group step's output property, so a group that ran anew (and
    so wrote under a new execution id) changes the combine step's cache key, and a reused one does not. Not
    ProcessingInputs: a job takes at most 10 inputs (the step fetches them itself); nor arguments: a job takes
    at most 100, and a pipeline may have 100 groups (pipeline.config.MAX_GROUPS). It fetches every group's
    outputs before checking them, windows included, on a volume the inventory sized for them
    (``steps/inventory/volumes.py``)."""
    p = context.parameters
    group_outputs = [
        (
            str(extract.group),
            sdk_step.properties.ProcessingOutputConfig.Outputs[GROUP_OUTPUT_NAME].S3Output.S3Uri,
        )
        for extract, sdk_step in extracts
    ]
    # issue 12 (MIMIC-IV's 100 groups): the locations go in the environment, one variable a group (dag.py)
    environment = combine_environment(group_outputs, lambda on, values: Join(on=on, values=values))
    volume = inventory_value(inventory, None, VOLUME_FIELD)
    processor = _processor(context, code, p.combine_instance_type, 1, volume, environment)
    output = ProcessingOutput(
        output_name=COMBINED_OUTPUT_NAME,
        s3_output=ProcessingS3Output(
            s3_uri=Join(on="/", values=[p.output_root, ExecutionVariables.PIPELINE_EXECUTION_ID, "combined"]),
            local_path=OUTPUT_DIR,
            s3_upload_mode="EndOfJob",
        ),
    )
    arguments = combine_arguments(context.config, Join(on="", values=[p.strict_mode]))
    run = processor.run(inputs=[_code_input(context, code)], outputs=[output], arguments=arguments)
    return _processing_step(step, run)


def _processing_step(
    step: DagStep,
    step_args: Any,
    cache: CacheConfig = CACHE,
    property_files: list[PropertyFile] | None = None,
) -> ProcessingStep:
    """``step_args``: what ``Processor.run`` returns under a pipeline session (the job's request)."""
    return ProcessingStep(
        name=step.name,
        display_name=step.display_name,
        description=step.description,
        step_args=step_args,
        cache_config=cache,
        retry_policies=retry_policies(),
        property_files=property_files,
    )


def _processor(
    context: StepContext,
    code: StepCode,
    instance_type: ParameterString | str,
    instance_count: ParameterInteger | int,
    volume_size: ParameterInteger | JsonGet | int,
    environment: dict[str, Any] | None = None,
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
        env=environment or None,  # unbuffered output: python3 -u (StepCode.entrypoint)
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
