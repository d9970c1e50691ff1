"""The Processing job's own configuration, as SageMaker writes it into the container before the script starts.

The pipeline passes ``--dataset-s3-uri from-job-output`` rather than a URI holding the execution id, which
would change the combine step's cache key on every run: the script finds the S3 URI its output folder is
uploaded to in ``/opt/ml/config/processingjobconfig.json`` (the CreateProcessingJob request) and puts the
dataset beside the reports, under ``<that URI>/dataset/``.
"""

from __future__ import annotations

import json
from pathlib import Path

PROCESSING_JOB_CONFIG = Path("/opt/ml/config/processingjobconfig.json")
FROM_JOB_OUTPUT = "from-job-output"


def job_output_s3_uri(local_path: Path, config: Path = PROCESSING_JOB_CONFIG) -> str:
    """The S3 URI the job uploads ``local_path`` to; ValueError outside a job or if no output is there."""
    try:
        job = json.loads(config.read_text(encoding="utf-8"))
        outputs = job["ProcessingOutputConfig"]["Outputs"]
    except FileNotFoundError as exc:
        raise ValueError(f"{FROM_JOB_OUTPUT}: not in a Processing job ({config} does not exist)") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"{FROM_JOB_OUTPUT}: {config} holds no output configuration ({exc})") from exc
    for output in outputs:
        s3_output = output.get("S3Output") or {}
        if Path(s3_output.get("LocalPath", "")) == local_path and s3_output.get("S3Uri"):
            return str(s3_output["S3Uri"])
    raise ValueError(f"{FROM_JOB_OUTPUT}: the job uploads no output from {local_path} (see {config})")
