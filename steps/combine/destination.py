"""Where the combined datasets go: a local folder each, or S3 with server-side encryption and Glue tables.

Inside a pipeline execution the combine step is given ``--dataset-s3-uri from-job-output`` rather than a URI
holding the execution id, which would change its cache key on every run: it finds the S3 URI its output folder
is uploaded to in the job's own configuration (``/opt/ml/config/processingjobconfig.json``, the
CreateProcessingJob request, written by SageMaker before the script starts; found as
``steps.contract.job_config`` finds it) and puts the dataset beside the reports, under
``<that URI>/dataset/``, and the windows dataset under ``<that URI>/windows/``. With a dataset URI of its own,
the windows need one of their own too (``--windows-s3-uri``), when there are windows. The windows' Glue table
is the records' name plus ``_windows``, unless named (``--glue-windows-table``).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

from steps.contract.job_config import job_config_path
from steps.contract.s3 import aws_region, sse_arguments

from .output_names import DATASET_FOLDER, WINDOWS_FOLDER, dataset_beside

FROM_JOB_OUTPUT = "from-job-output"
WINDOWS_S3_URI_OPTION = "--windows-s3-uri"  # the pipeline reads it in a definition to say where windows went
WINDOWS_TABLE_SUFFIX = "_windows"
# Glue's limit of a table's name (CreateTable's TableInput.Name: 1 to 255 characters)
MAX_GLUE_NAME = 255


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
        _refuse_without_s3(s3_only)
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


def _refuse_without_s3(s3_only: dict[str, str]) -> None:
    """ValueError naming the S3-only options given a value when the dataset does not go to S3."""
    given = [option for option, value in s3_only.items() if value]
    if given:
        raise ValueError(f"{', '.join(given)} only apply with --dataset-s3-uri")


def windows_table_name(records_table: str) -> str:
    """The windows dataset's Glue table when it is not named: the records table's name and ``_windows``."""
    return f"{records_table}{WINDOWS_TABLE_SUFFIX}"


def windows_destination(args: argparse.Namespace, job_config: Path | None = None) -> Path | S3Dataset:
    """Where the windows dataset goes, beside the records dataset: a local folder, or S3 when the dataset goes
    there (an S3Dataset whose ``uri`` is empty when no place was given: refused once windows are found);
    ValueError if the options contradict."""
    if not args.dataset_s3_uri:
        _refuse_without_s3(
            {"--windows-s3-uri": args.windows_s3_uri, "--glue-windows-table": args.glue_windows_table}
        )
        return Path(args.windows_dir) if args.windows_dir else args.output_dir / WINDOWS_FOLDER
    if args.windows_dir:
        raise ValueError("give --windows-dir or --dataset-s3-uri, not both (with it, --windows-s3-uri)")
    uri = args.windows_s3_uri
    if uri == FROM_JOB_OUTPUT or (not uri and args.dataset_s3_uri == FROM_JOB_OUTPUT):
        uri = dataset_beside(job_output_s3_uri(args.output_dir, job_config), WINDOWS_FOLDER)
    if uri and (not uri.startswith("s3://") or len(uri.rstrip("/")) <= len("s3://")):
        raise ValueError(f"--windows-s3-uri must be s3://bucket/prefix or {FROM_JOB_OUTPUT}, not {uri!r}")
    if args.glue_windows_table and not args.glue_table:
        raise ValueError("--glue-windows-table goes with --glue-database and --glue-table")
    table = args.glue_windows_table or (windows_table_name(args.glue_table) if args.glue_table else "")
    if len(table) > MAX_GLUE_NAME:
        option = (
            "--glue-windows-table" if args.glue_windows_table else f"--glue-table + {WINDOWS_TABLE_SUFFIX!r}"
        )
        raise ValueError(
            f"the windows' Glue table name ({option}) is {len(table)} characters long; Glue takes at most "
            f"{MAX_GLUE_NAME}"
        )
    return S3Dataset(uri, args.kms_key_id, args.glue_database, table, aws_region(args.region))


def overlapping_uris(first: str, second: str) -> bool:
    """Whether one S3 prefix is the other or lies inside it (a reader of one would read the other)."""
    one, other = first.rstrip("/") + "/", second.rstrip("/") + "/"
    return one.startswith(other) or other.startswith(one)


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
