"""The job configuration a local run gives each step, as SageMaker gives every Processing job its own.

SageMaker writes a job's CreateProcessingJob request into the job (``processingjobconfig.json``); the steps
read it to record which job, input and code made their outputs (``steps.contract.job_config``). A local step
gets a file of the same shape, named by an environment variable that only this runner sets (so no cache key
changes): its job name (the local execution id and the step's name), its inputs (the code package as the
definition names it, whose key holds the code's digest, and the local folders it reads), its output (the
local folder it goes to), the command and arguments it runs with and the definition's environment. The paths
inside the step are its staging folder's, as its arguments are. What has no local counterpart is left out:
there is no ARN, image, role or instance here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

JOB_CONFIG_FILE = "processingjobconfig.json"  # in the step's staging folder, beside input/ and output/


def local_job_config(
    request: Mapping[str, Any],
    job_name: str,
    module: str,
    arguments: list[str],
    staged: Callable[[str], str],
) -> dict[str, Any]:
    """The configuration of the step whose resolved request (the definition's step arguments) is
    ``request``, run as ``python -m module arguments...`` under ``job_name``; ``staged`` maps a container
    path to the step's staging folder."""

    def located(item: Mapping[str, Any], key: str) -> dict[str, Any]:
        location = dict(item[key])
        location["LocalPath"] = staged(location["LocalPath"])
        return {**item, key: location}

    return {
        "ProcessingJobName": job_name,
        "ProcessingInputs": [located(item, "S3Input") for item in request.get("ProcessingInputs", [])],
        "ProcessingOutputConfig": {
            "Outputs": [located(item, "S3Output") for item in request["ProcessingOutputConfig"]["Outputs"]]
        },
        "AppSpecification": {
            "ContainerEntrypoint": ["python", "-m", module],
            "ContainerArguments": arguments,
        },
        "Environment": dict(request.get("Environment") or {}),
    }


def write_job_config(folder: Path, config: Mapping[str, Any]) -> Path:
    path = folder / JOB_CONFIG_FILE
    path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return path
