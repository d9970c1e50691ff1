"""Job configurations as SageMaker writes them into a Processing job (the CreateProcessingJob request, as
``/opt/ml/config/processingjobconfig.json``), for the steps to find where ``steps.contract.job_config``
looks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ACCOUNT = "123456789012"
REGION = "eu-west-1"
CODE_PREFIX = "s3://bucket/waveform-pipeline/code"
IMAGE = f"141502667606.dkr.ecr.{REGION}.amazonaws.com/sagemaker-scikit-learn:1.4-2-cpu-py3"


def processing_job_config(
    name: str,
    step: str,
    digest: str,
    inputs: dict[str, str],
    output: tuple[str, str],
    arguments: list[str],
    instance_type: str = "ml.m5.xlarge",
) -> dict[str, Any]:
    """The configuration of job ``name`` running ``step``'s code package of ``digest``: ``inputs`` (name ->
    S3 URI) fetched besides the code, ``output`` (name, S3 URI) uploaded from /opt/ml/processing/output."""
    code = f"{CODE_PREFIX}/{step}/{digest}/code.tar.gz"
    return {
        "ProcessingJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:processing-job/{name.lower()}",
        "ProcessingJobName": name,
        "ProcessingInputs": [
            _input(input_name, uri, f"/opt/ml/processing/input/{input_name}")
            for input_name, uri in {"code": code, **inputs}.items()
        ],
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": output[0],
                    "S3Output": {
                        "S3Uri": output[1],
                        "LocalPath": "/opt/ml/processing/output",
                        "S3UploadMode": "EndOfJob",
                    },
                    "AppManaged": False,
                }
            ]
        },
        "ProcessingResources": {
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": instance_type, "VolumeSizeInGB": 30}
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
        "AppSpecification": {
            "ImageUri": IMAGE,
            "ContainerEntrypoint": ["/bin/bash", "-c", f"exec python3 -m steps.{step}.command", step],
            "ContainerArguments": arguments,
        },
        "Environment": {"PYTHONUNBUFFERED": "1"},
        "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/waveform-pipeline",
    }


def _input(name: str, uri: str, local_path: str) -> dict[str, Any]:
    return {
        "InputName": name,
        "AppManaged": False,
        "S3Input": {
            "S3Uri": uri,
            "LocalPath": local_path,
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
            "S3CompressionType": "None",
        },
    }


def write_job_config(path: Path, config: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2))
    return path
