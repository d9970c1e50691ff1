"""Pipeline parameters: what Studio's "Start execution" form shows, each with a default and a description.

The pipeline definition format has no field for a parameter's description (nor does the SDK's
``Parameter``), so the descriptions travel in the pipeline's description, which Studio shows on the
pipeline's page, in ``waveform-pipeline start --help``, and in the README.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from sagemaker.core.workflow.parameters import (
    Parameter,
    ParameterBoolean,
    ParameterInteger,
    ParameterString,
)

from .config import PipelineConfig


@dataclass(frozen=True)
class PipelineParameters:
    input_root: ParameterString
    output_root: ParameterString
    group_instance_type: ParameterString
    group_instance_count: ParameterInteger
    group_volume_size_gb: ParameterInteger
    combine_instance_type: ParameterString
    kms_key_id: ParameterString
    strict_mode: ParameterBoolean
    max_runtime_seconds: ParameterInteger
    input_version: ParameterString

    def as_list(self) -> list[Parameter]:
        return [getattr(self, f.name) for f in fields(self)]


DESCRIPTIONS = {
    "InputRoot": "S3 URI of the folder holding the patient-group folders (30 ... 39, or p00 ... p09).",
    "OutputRoot": "S3 URI under which each execution writes <execution id>/groups/<group>/ and combined/.",
    "GroupInstanceType": "Instance type of each group's extract step; every vCPU of it is used.",
    "GroupInstanceCount": "Instances per group step; each takes its share of the group's record sets.",
    "GroupVolumeSizeGB": "EBS volume of each group instance in GB: the whole group folder is copied to it.",
    "CombineInstanceType": "Instance type of the combine step.",
    "KmsKeyId": "KMS key id or ARN for outputs, volumes and the dataset; empty for SSE-S3.",
    "StrictMode": "Fail a group step if any record in it cannot be summarised (after writing all outputs).",
    "MaxRuntimeSeconds": "Time limit of each processing job, in seconds.",
    "InputVersion": "Change it when data under the input root changed: it re-runs the extract steps.",
}


def pipeline_parameters(config: PipelineConfig) -> PipelineParameters:
    def string(name: str, default: str) -> ParameterString:
        return ParameterString(name=name, default_value=default)

    def integer(name: str, default: int) -> ParameterInteger:
        return ParameterInteger(name=name, default_value=default)

    return PipelineParameters(
        input_root=string("InputRoot", config.input_root),
        output_root=string("OutputRoot", config.output_root),
        group_instance_type=string("GroupInstanceType", "ml.m5.4xlarge"),
        group_instance_count=integer("GroupInstanceCount", 1),
        group_volume_size_gb=integer("GroupVolumeSizeGB", 500),
        combine_instance_type=string("CombineInstanceType", "ml.m5.xlarge"),
        kms_key_id=string("KmsKeyId", ""),
        strict_mode=ParameterBoolean(name="StrictMode", default_value=False),
        max_runtime_seconds=integer("MaxRuntimeSeconds", 24 * 3600),
        input_version=string("InputVersion", "1"),
    )


def described_parameters(parameters: PipelineParameters) -> str:
    """One line a parameter: name, type, default and description; for the pipeline's description."""
    lines = []
    for parameter in parameters.as_list():
        kind = parameter.parameter_type.python_type.__name__
        lines.append(
            f"{parameter.name} ({kind}, default {parameter.default_value!r}): {DESCRIPTIONS[parameter.name]}"
        )
    return "\n".join(lines)
