"""Extract step: summarise every WFDB record of one patient group into per-signal features.

Runs as the Processing job's command (``python3 -m steps.extract.command``; defaults:
/opt/ml/processing/input -> /opt/ml/processing/output), as ``waveform-pipeline extract``, and from the tests;
all three parse their arguments with :func:`build_parser` and call :func:`run`. The pipeline builds the job's
arguments with :func:`arguments`, so both ends of the command line are here. The extract engine is imported
only once there is work: ``--help`` and argument errors answer at once.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from steps.contract.arguments import (
    DEFAULT_WINDOW_SECONDS,
    WINDOW_SECONDS_OPTION,
    add_strict_option,
    window_seconds,
)

DEFAULT_INPUT = Path("/opt/ml/processing/input")
DEFAULT_OUTPUT = Path("/opt/ml/processing/output")

INPUT_VERSION_OPTION = "--input-version"

# What --help says, as plain text (the module's docstring is for the code's readers).
DESCRIPTION = """\
Summarise every WFDB record of one patient-group folder (record sets at any depth) into per-signal features:
features.parquet, errors.jsonl (one line per record that could not be summarised) and summary.json, written
into the output folder as one set.

The same command runs in the pipeline's SageMaker Processing job, as python3 -m steps.extract.command, reading
/opt/ml/processing/input and writing /opt/ml/processing/output."""


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(
        prog="steps.extract.command",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--input-dir", type=Path, default=DEFAULT_INPUT, help="the group folder (default: %(default)s)"
    )
    parser.add_argument(
        "--output-dir", type=Path, default=DEFAULT_OUTPUT, help="where outputs go (default: %(default)s)"
    )
    parser.add_argument("--group", help="group name written in every row (default: the input folder's name)")
    parser.add_argument("--workers", type=positive_int, help="worker processes (default: every usable CPU)")
    add_strict_option(parser, "any record failed")
    parser.add_argument(
        INPUT_VERSION_OPTION,
        default="",
        help="a label of the input data's version, recorded in summary.json (the pipeline passes it so that "
        "changing it re-runs the step)",
    )
    parser.add_argument(
        WINDOW_SECONDS_OPTION,
        type=window_seconds,
        default=DEFAULT_WINDOW_SECONDS,
        metavar="SECONDS",
        help="length of the windows of windows.parquet, in seconds (default: %(default)g); 0: no windows",
    )
    parser.add_argument(
        "--host",
        type=_host_share,
        metavar="INDEX/COUNT",
        help="take only this host's share of the record sets, e.g. 0/2 (default: from the Processing job's "
        "resource config when it runs on several instances, else all)",
    )
    return parser


def arguments(
    input_dir: Any, output_dir: Any, group: Any, input_version_argument: Any, window_seconds_argument: Any
) -> list[Any]:
    """The command line :func:`build_parser` parses, from values or the pipeline's expressions for them.

    ``input_version_argument`` is ``--input-version=VALUE`` as one argument (the pipeline joins it from its
    parameter): an empty version must not become an empty argument, which CreateProcessingJob refuses.
    ``window_seconds_argument`` is ``--window-seconds=VALUE``, joined the same way.
    Strictness is not an argument here: the combine step decides it, so changing it re-runs no group.
    """
    return [
        "--input-dir", input_dir,
        "--output-dir", output_dir,
        "--group", group,
        input_version_argument,
        window_seconds_argument,
    ]  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from steps.contract.failure import printable
    from steps.contract.job_config import job_facts, read_job_config
    from steps.contract.outputs import ERRORS_FILE

    from .errors import InputFolderError, OutputWriteError
    from .extraction import extract_group
    from .sharding import HostShare, processing_host_share
    from .worker_pool import stop_workers

    group = printable(args.group or args.input_dir.resolve().name)
    job = read_job_config()  # recorded in summary.json: which job, input and code made the outputs
    try:
        share = HostShare(*args.host) if args.host else processing_host_share()
        output_dir = args.output_dir / share.name if share.count > 1 else args.output_dir
        summary = extract_group(
            args.input_dir,
            output_dir,
            group,
            workers=args.workers,
            host=share,
            input_version=args.input_version,
            window_seconds=args.window_seconds,
            job=job_facts(job.request) if job.request else {},
        )
    except (InputFolderError, OutputWriteError) as exc:
        print(f"error: {printable(str(exc))}", file=sys.stderr)
        return exc.exit_code
    finally:
        stop_workers()
    print(
        f"group {group}: {summary.records_summarised} of {summary.records_discovered} records summarised, "
        f"{summary.records_failed} failed, {summary.rows} rows, {summary.bytes_read / 1e6:.1f} MB "
        f"in {summary.seconds:.2f} s on {summary.workers} workers -> {printable(str(output_dir))}"
    )
    if args.strict and summary.errors_reported:
        first = summary.failures[0]
        print(
            f"error: strict mode: {summary.errors_reported} problem(s) in group {group}, first {first.path}: "
            f"{first.message} (all listed in {output_dir / ERRORS_FILE})",
            file=sys.stderr,
        )
        return 1
    return 0


def _host_share(text: str) -> tuple[int, int]:
    index, _, count = text.partition("/")
    try:
        share = int(index), int(count)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected INDEX/COUNT such as 0/2, not {text!r}: {exc}") from exc
    if not 0 <= share[0] < share[1]:
        raise argparse.ArgumentTypeError(f"host index {share[0]} is not within 0 ... {share[1] - 1}")
    return share


def positive_int(text: str) -> int:
    """An argument type: a whole number of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
