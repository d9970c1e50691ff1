"""Combine step: every group's extract outputs into one Parquet dataset, signal statistics, a quality report.

Runs as the Processing job's script (defaults: /opt/ml/processing/input/groups, one folder per group ->
/opt/ml/processing/output), as ``waveform-pipeline combine``, and from the tests; all three call :func:`main`
or :func:`run`. Empty strings count as "not given", so pipeline parameters can leave an option blank.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a plain script: make the ``steps`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from steps.combine.combining import CombineResult, combine_groups
from steps.combine.dataset import S3Dataset
from steps.combine.errors import CombineError
from steps.combine.job_config import FROM_JOB_OUTPUT, PROCESSING_JOB_CONFIG, job_output_s3_uri
from steps.waveforms.errors import InputFolderError

DEFAULT_INPUT = Path("/opt/ml/processing/input/groups")
DEFAULT_OUTPUT = Path("/opt/ml/processing/output")
DATASET_FOLDER = "dataset"


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(prog="combine_groups", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--input-dir", type=Path, default=DEFAULT_INPUT, help="one folder per group (default: %(default)s)"
    )
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=DEFAULT_OUTPUT,
        help="signal_stats.csv, quality.json, report.html go here (default: %(default)s)",
    )
    parser.add_argument(
        "--groups",
        nargs="+",
        metavar="NAME",
        help="combine these groups only, each of which must have outputs (default: every folder there)",
    )
    parser.add_argument(
        "--dataset-dir", default="", help=f"local dataset folder (default: <output-dir>/{DATASET_FOLDER})"
    )
    parser.add_argument(
        "--dataset-s3-uri",
        default="",
        help=f"write the dataset to S3 here instead: s3://bucket/prefix/, or {FROM_JOB_OUTPUT} for "
        f"<the job's S3 output URI>/{DATASET_FOLDER}/ inside a Processing job",
    )
    parser.add_argument("--kms-key-id", default="", help="KMS key for the S3 objects (default: SSE-S3)")
    parser.add_argument("--glue-database", default="", help="Glue database to register the dataset in")
    parser.add_argument("--glue-table", default="", help="Glue table name (with --glue-database)")
    return parser


def run(args: argparse.Namespace) -> int:
    try:
        destination = dataset_destination(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        result = combine_groups(args.input_dir, args.output_dir, destination, args.groups)
    except InputFolderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except CombineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(describe(result, args.output_dir))
    return 0


def dataset_destination(
    args: argparse.Namespace, job_config: Path = PROCESSING_JOB_CONFIG
) -> Path | S3Dataset:
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
        uri = f"{job_output_s3_uri(args.output_dir, job_config).rstrip('/')}/{DATASET_FOLDER}/"
    if not uri.startswith("s3://") or len(uri.rstrip("/")) <= len("s3://"):
        raise ValueError(f"--dataset-s3-uri must be s3://bucket/prefix or {FROM_JOB_OUTPUT}, not {uri!r}")
    if bool(args.glue_database) != bool(args.glue_table):
        raise ValueError("give both --glue-database and --glue-table, or neither")
    return S3Dataset(uri, args.kms_key_id, args.glue_database, args.glue_table)


def describe(result: CombineResult, output_dir: Path) -> str:
    """The one line a successful run prints."""
    totals = result.quality["totals"]
    return (
        f"combined {totals['groups']} groups: {totals['rows']} rows from {totals['records_summarised']} of "
        f"{totals['records_discovered']} records ({totals['records_failed']} failed, "
        f"{totals['errors_reported']} errors reported), {result.signals} signals, "
        f"{len(result.quality['unknown_signal_names'])} unknown signal names; dataset -> {result.dataset}; "
        f"reports -> {output_dir}"
    )


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
