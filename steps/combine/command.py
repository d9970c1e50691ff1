"""Combine step: every group's extract outputs into one Parquet dataset, signal statistics, a quality report.

Runs as the Processing job's command (``python3 -m steps.combine.command``, given each group step's output
location in its environment, :func:`group_output_environment`; outputs in /opt/ml/processing/output), as
``waveform-pipeline combine``, and from the tests; all three parse their arguments with :func:`build_parser`
and call :func:`run`. The pipeline builds the job's arguments with :func:`arguments`, so both ends of the
command line are here. Empty strings count as "not given", so pipeline parameters can leave an option blank
(but ``--groups ""`` names no group, and is refused).
The combining code (pandas, pyarrow, matplotlib) is imported only once there is work to do.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from steps.contract.arguments import add_strict_option
from steps.contract.s3 import aws_region

from .destination import (
    FROM_JOB_OUTPUT,
    WINDOWS_S3_URI_OPTION,
    WINDOWS_TABLE_SUFFIX,
    dataset_destination,
    windows_destination,
)
from .errors import CombineError, one_line
from .output_names import DATASET_FOLDER, REPORT_FILES, WINDOWS_FOLDER

if TYPE_CHECKING:
    from .combining import CombineResult

DEFAULT_INPUT = Path("/opt/ml/processing/input/groups")
DEFAULT_OUTPUT = Path("/opt/ml/processing/output")

# In a pipeline the group steps' output locations reach this step in its environment, one variable a group,
# WAVEFORM_GROUP_OUTPUT_<n> = "<group>=<location>" (the location, a property the service resolves at run time,
# kept whole), and FROM_ENVIRONMENT_OPTION says so on the command line. Not as arguments: CreateProcessingJob
# takes at most 100 container arguments, the step's other options take up to 17 of them, and a pipeline may
# have 100 groups; it takes at most 100 environment entries too, each value of at most 256 characters.
GROUP_OUTPUT_VARIABLE = "WAVEFORM_GROUP_OUTPUT_"
GROUP_OUTPUT_SEPARATOR = "="
FROM_ENVIRONMENT_OPTION = "--group-outputs-from-environment"

# What --help says, as plain text (the module's docstring is for the code's readers).
DESCRIPTION = """\
Combine every group's extract outputs, after checking them all, into one Parquet dataset partitioned by group
(a local folder, or S3 with KMS and optionally the Glue catalog), a windows dataset beside it when the groups
have windows (windows.parquet), signal_stats.csv, quality.json and report.html. A group whose outputs fail a
check stops the step before anything is written.

The same command runs in the pipeline's SageMaker Processing job, as python3 -m steps.combine.command, given
each group step's output location in its environment (--group-outputs-from-environment: variables
WAVEFORM_GROUP_OUTPUT_<n> = <group>=<location>) and writing /opt/ml/processing/output."""


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(
        prog="steps.combine.command",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--input-dir",
        type=Path,
        default=DEFAULT_INPUT,
        help="one folder per group; with --group-output, where the S3 ones are fetched to "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--group-output",
        nargs=2,
        action="append",
        metavar=("NAME", "LOCATION"),
        help="a group and the folder or s3:// prefix holding its extract outputs (repeatable; instead of "
        "the folders of --input-dir)",
    )
    parser.add_argument(
        FROM_ENVIRONMENT_OPTION,
        action="store_true",
        help=f"take the groups and their output locations from the environment too: every variable "
        f"{GROUP_OUTPUT_VARIABLE}<n> = NAME{GROUP_OUTPUT_SEPARATOR}LOCATION, as --group-output NAME LOCATION "
        "(how the pipeline passes them)",
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
        help="combine these groups only (--groups 30 31, or --groups 30,31), each of which must have outputs "
        "(default: every folder there)",
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
    parser.add_argument(
        "--windows-dir",
        default="",
        help=f"local windows dataset folder (default: <output-dir>/{WINDOWS_FOLDER})",
    )
    parser.add_argument(
        WINDOWS_S3_URI_OPTION,
        default="",
        help=f"with --dataset-s3-uri, where the windows dataset goes: s3://bucket/prefix/, or "
        f"{FROM_JOB_OUTPUT} for <the job's S3 output URI>/{WINDOWS_FOLDER}/ (the default with "
        f"--dataset-s3-uri {FROM_JOB_OUTPUT}; with a URI of its own, needed when there are windows)",
    )
    parser.add_argument("--kms-key-id", default="", help="KMS key for the S3 objects (default: SSE-S3)")
    parser.add_argument("--glue-database", default="", help="Glue database to register the datasets in")
    parser.add_argument("--glue-table", default="", help="Glue table name (with --glue-database)")
    parser.add_argument(
        "--glue-windows-table",
        default="",
        help=f"Glue table name of the windows dataset (default: the --glue-table name + "
        f"{WINDOWS_TABLE_SUFFIX})",
    )
    parser.add_argument(
        "--region",
        default="",
        help="AWS region of the S3 and Glue calls (default: AWS_REGION, else AWS_DEFAULT_REGION)",
    )
    add_strict_option(parser, "any group reports a failed record")
    return parser


def arguments(
    input_dir: Any,
    output_dir: Any,
    strict: Any,
    region: str = "",
    kms_key_id: str = "",
    glue_database: str = "",
    glue_table: str = "",
) -> list[Any]:
    """The command line :func:`build_parser` parses, from values or the pipeline's expressions for them
    (``strict``), with the group outputs in the environment (:func:`group_output_environment`; they are
    fetched into ``input_dir``). An option whose value is empty is left out: CreateProcessingJob refuses
    empty container arguments."""
    given: list[Any] = ["--input-dir", input_dir, "--output-dir", output_dir, "--strict", strict]
    given.append(FROM_ENVIRONMENT_OPTION)
    optional = {
        "--region": region,
        "--kms-key-id": kms_key_id,
        "--glue-database": glue_database,
        "--glue-table": glue_table,
    }
    for option, value in optional.items():
        if value:
            given += [option, value]
    return given


def group_output_environment(
    group_outputs: Sequence[tuple[str, Any]], join: Callable[[str, list[Any]], Any]
) -> dict[str, Any]:
    """The environment that gives the step ``group_outputs`` (each group's name and location, a value or an
    expression): one variable a group, its value ``join(GROUP_OUTPUT_SEPARATOR, [name, location])`` (the
    pipeline joins with Std:Join, which keeps a property reference whole)."""
    width = len(str(len(group_outputs)))
    return {
        f"{GROUP_OUTPUT_VARIABLE}{index:0{width}d}": join(GROUP_OUTPUT_SEPARATOR, [name, location])
        for index, (name, location) in enumerate(group_outputs, start=1)
    }


def group_outputs_from_environment(environ: Mapping[str, str]) -> list[list[str]]:
    """The ``[name, location]`` pairs :func:`group_output_environment` gave, in its order."""
    found = []
    for variable, value in environ.items():
        if not variable.startswith(GROUP_OUTPUT_VARIABLE):
            continue
        number = variable.removeprefix(GROUP_OUTPUT_VARIABLE)
        name, separator, location = value.partition(GROUP_OUTPUT_SEPARATOR)
        if not number.isdigit() or not separator or not name or not location:
            raise ValueError(
                f"environment variable {variable}: {value[:80]!r} is not {GROUP_OUTPUT_VARIABLE}<number> = "
                f"NAME{GROUP_OUTPUT_SEPARATOR}LOCATION"
            )
        found.append((int(number), [name, location]))
    if not found:
        raise ValueError(f"{FROM_ENVIRONMENT_OPTION}: no {GROUP_OUTPUT_VARIABLE}<n> variable is set")
    return [pair for _, pair in sorted(found)]


def run(args: argparse.Namespace) -> int:
    try:
        if args.group_outputs_from_environment:
            args.group_output = [*(args.group_output or []), *group_outputs_from_environment(os.environ)]
        destination = dataset_destination(args)
        windows = windows_destination(args)
    except ValueError as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return 2
    from steps.contract.job_config import read_job_config

    from .combining import combine_groups
    from .dataset_folder import check_local_folders
    from .group_outputs import group_folders
    from .group_sources import group_folders_of
    from .run_metadata import run_metadata

    try:
        groups = requested_groups(args.groups)
        if args.group_output and groups is not None:
            raise ValueError("give --group-output or --groups, not both")
        inputs = [("--input-dir", args.input_dir)]
        inputs += [
            (f"--group-output {name}", Path(place))
            for name, place in args.group_output or []
            if not place.startswith("s3://")
        ]
        local = []
        if isinstance(destination, Path):
            local.append(("--dataset-dir" if args.dataset_dir else "the dataset folder", destination))
        if isinstance(windows, Path):
            local.append(("--windows-dir" if args.windows_dir else "the windows dataset folder", windows))
        check_local_folders(inputs, args.output_dir, REPORT_FILES, local)  # before anything is read
        if args.group_output:
            folders = group_folders_of(args.group_output, args.input_dir, aws_region(args.region))
        else:
            folders = group_folders(args.input_dir, groups)
        run = run_metadata(read_job_config())
        result = combine_groups(
            folders, args.output_dir, destination, run, dict(args.group_output or []), windows
        )
    except ValueError as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return 2
    except CombineError as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return exc.exit_code
    print(describe(result, args.output_dir))
    failed = failed_records(result)
    if args.strict and failed:
        print(f"error: strict mode: {one_line(failed)}; the dataset and reports are written", file=sys.stderr)
        return 1
    return 0


def requested_groups(values: Sequence[str] | None) -> list[str] | None:
    """The groups ``--groups`` names, each value a name or a comma-separated list; None if not given."""
    from .group_outputs import group_name_problem

    if values is None:
        return None
    groups = [name.strip() for value in values for name in value.split(",")]
    for value in values:
        if not all(name.strip() for name in value.split(",")):
            raise ValueError(
                f"--groups {value!r} names an empty group: give names, as in --groups 30 31 or --groups 30,31"
            )
    for name in groups:
        problem = group_name_problem(name)
        if problem:
            raise ValueError(f"--groups: {problem}")
    return groups


def failed_records(result: CombineResult) -> str:
    """What strict mode fails on, in words: the groups with failed records and how many; empty if none."""
    failed = {
        group["group"]: group["errors_reported"]
        for group in result.quality["groups"]
        if group["errors_reported"]
    }
    if not failed:
        return ""
    listed = ", ".join(f"{group} ({count})" for group, count in failed.items())
    return f"{sum(failed.values())} problem(s) reported by group(s) {listed}"


def describe(result: CombineResult, output_dir: Path) -> str:
    """The one line a successful run prints."""
    totals = result.quality["totals"]
    length = result.quality["windows"]["window_seconds"]
    windows = f"; {totals['windows']} windows of {length:g} s -> {result.windows}" if length else ""
    return (
        f"combined {totals['groups']} groups: {totals['rows']} rows from {totals['records_summarised']} of "
        f"{totals['records_discovered']} records ({totals['records_failed']} failed, "
        f"{totals['errors_reported']} errors reported), {result.signals} signals, "
        f"{len(result.quality['unknown_signal_names'])} unknown signal names; dataset -> {result.dataset}"
        f"{windows}; reports -> {output_dir}"
    )


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
