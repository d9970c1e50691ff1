"""A Processing job's own configuration, and what the steps record of it: how a report is traced to its run.

SageMaker writes the job's CreateProcessingJob request into every job as
``/opt/ml/config/processingjobconfig.json``: its name and ARN, its inputs (the code package among them, whose
key holds the code's digest: ``steps.contract.code_package``) and outputs with their S3 URIs, its resources,
environment and container arguments. A step finds that file the same way wherever it runs: at the path the
environment variable :data:`JOB_CONFIG_VARIABLE` names, which only the local runner sets (giving each step a
file of the same shape, for the local execution), else at SageMaker's path. The variable is no part of the
pipeline's definition, so it changes no cache key; nothing that varies per execution is passed to a step any
other way. Outside a job, or when the file cannot be read, the facts are not recorded: a step never fails for
want of them.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .code_package import code_digest
from .failure import printable

JOB_CONFIG_VARIABLE = "WAVEFORM_PROCESSING_JOB_CONFIG"
PROCESSING_JOB_CONFIG = Path("/opt/ml/config/processingjobconfig.json")
# A CreateProcessingJob request is at most a few tens of kB (10 inputs, 100 arguments of 256 characters, 100
# environment entries); a larger file is not one SageMaker wrote.
MAX_JOB_CONFIG_BYTES = 1 << 20
# What a job's facts hold (job_facts), and of which type; every key always present, None, {} or [] when not
# recorded. inputs and outputs: {name: URI}; arguments: the container's, as text.
JOB_FACTS: dict[str, type] = {
    "name": str, "arn": str, "inputs": dict, "outputs": dict, "arguments": list, "code_digest": str,
    "instance_type": str, "instance_count": int, "image": str,
}  # fmt: skip


def job_config_path() -> Path:
    """Where this step's job configuration is: the local runner's file, else SageMaker's."""
    return Path(os.environ.get(JOB_CONFIG_VARIABLE) or PROCESSING_JOB_CONFIG)


@dataclass(frozen=True)
class JobConfig:
    """The job configuration read from ``path``: the request, or empty and ``problem`` saying why."""

    path: Path
    request: dict[str, Any]
    problem: str = ""


def read_job_config(path: Path | None = None) -> JobConfig:
    """The job configuration at ``path`` (default: :func:`job_config_path`); never raises."""
    path = path or job_config_path()
    try:
        with open(path, "rb") as stream:
            content = stream.read(MAX_JOB_CONFIG_BYTES + 1)
        if len(content) > MAX_JOB_CONFIG_BYTES:
            return JobConfig(path, {}, f"{path} is more than {MAX_JOB_CONFIG_BYTES:,} bytes long")
        request = json.loads(content.decode("utf-8"))
    except FileNotFoundError:
        return JobConfig(path, {}, f"not run as a Processing job ({path} does not exist)")
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        return JobConfig(path, {}, f"{path} cannot be read: {exc}")
    if not isinstance(request, dict):
        return JobConfig(path, {}, f"{path} does not hold a JSON object")
    return JobConfig(path, request)


def job_facts(request: dict[str, Any]) -> dict[str, Any]:
    """What a report shows of a job (:data:`JOB_FACTS`): its name and ARN, its inputs' and outputs' URIs by
    name, its container arguments, its code's digest, its instances and image; text made printable. A field of
    another type than SageMaker writes is left out, as if not recorded."""
    inputs = _named_uris(request.get("ProcessingInputs"), "InputName", "S3Input")
    output_config = _mapping(request.get("ProcessingOutputConfig"))
    outputs = _named_uris(output_config.get("Outputs"), "OutputName", "S3Output")
    application = _mapping(request.get("AppSpecification"))
    arguments = application.get("ContainerArguments")
    cluster = _mapping(_mapping(request.get("ProcessingResources")).get("ClusterConfig"))
    count = cluster.get("InstanceCount")
    digests = [digest for digest in map(code_digest, inputs.values()) if digest]
    return {
        "name": _text(request.get("ProcessingJobName")),
        "arn": _text(request.get("ProcessingJobArn")),
        "inputs": inputs,
        "outputs": outputs,
        "arguments": [printable(a) for a in arguments if isinstance(a, str)]
        if isinstance(arguments, list)
        else [],
        "code_digest": digests[0] if digests else None,
        "instance_type": _text(cluster.get("InstanceType")),
        "instance_count": count if isinstance(count, int) and not isinstance(count, bool) else None,
        "image": _text(application.get("ImageUri")),
    }


def _named_uris(items: Any, name_key: str, location_key: str) -> dict[str, str]:
    """``{name: S3 URI}`` of a request's ProcessingInputs or Outputs."""
    named: dict[str, str] = {}
    for item in items if isinstance(items, list) else []:
        item = _mapping(item)
        name, uri = item.get(name_key), _mapping(item.get(location_key)).get("S3Uri")
        if isinstance(name, str) and isinstance(uri, str):
            named[printable(name)] = printable(uri)
    return named


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return printable(value) if isinstance(value, str) and value else None
