"""Where the combined dataset goes: a local folder, or S3 with server-side encryption and a Glue table.

Inside a pipeline execution the combine step is given ``--dataset-s3-uri from-job-output`` rather than a URI
holding the execution id, which would change its cache key on every run: it finds the S3 URI its output folder
is uploaded to in the job's own configuration (``/opt/ml/config/processingjobconfig.json``, the
CreateProcessingJob request, written by SageMaker before the script starts; found as
``steps.contract.job_config`` finds it) and puts the dataset beside the reports, under
``<that URI>/dataset/``.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

from steps.contract.job_config import job_config_path
from steps.contract.s3 import aws_region, sse_arguments

from .output_names import DATASET_FOLDER, dataset_beside

FROM_JOB_OUTPUT = "from-job-output"


@dataclass(frozen=True)
class S3Dataset:
    """Where and how the dataset goes on S3; empty strings mean "not given"."""

    uri: str
    kms_key_id: str = ""
    glue_database: str = ""
    glue_table: str = ""
    region: str = ""  # of the S3 and Glue calls; empty: boto3's own default

    def s3_additional_kwargs(self) -> dict[str, str]:
        return sse_arguments(self.kms_key_id)

    @property
    def catalogued(self) -> bool:
        return bool(self.glue_database and self.glue_table)


def dataset_destination(args: argparse.Namespace, job_config: Path | None = None) -> Path | S3Dataset:
    """The local folder or the S3 destination the options ask for; ValueError if they contradict."""
    s3_only = {
        "--kms-key-id": args.kms_key_id,
        "--glue-database": args.glue_database,
        "--glue-table": args.glue_table,
    }
    if not args.dataset_s3_uri:
        given = [option for option, value in s3_only.items() if value]
        if given:
            raise ValueError(f"{', '.join(given)} only apply with --dataset-s3-uri")
        return Path(args.dataset_dir) if args.dataset_dir else args.output_dir / DATASET_FOLDER
    if args.dataset_dir:
        raise ValueError("give --dataset-dir or --dataset-s3-uri, not both")
    uri = args.dataset_s3_uri
    if uri == FROM_JOB_OUTPUT:
        uri = dataset_beside(job_output_s3_uri(args.output_dir, job_config))
    if not uri.startswith("s3://") or len(uri.rstrip("/")) <= len("s3://"):
        raise ValueError(f"--dataset-s3-uri must be s3://bucket/prefix or {FROM_JOB_OUTPUT}, not {uri!r}")
    if bool(args.glue_database) != bool(args.glue_table):
        raise ValueError("give both --glue-database and --glue-table, or neither")
    return S3Dataset(uri, args.kms_key_id, args.glue_database, args.glue_table, aws_region(args.region))


def job_output_s3_uri(local_path: Path, config: Path | None = None) -> str:
    """The S3 URI the job uploads ``local_path`` to (``config``: the job's configuration, default where
    ``job_config_path`` finds it); ValueError outside a job or if no output is there."""
    config = config or job_config_path()
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
