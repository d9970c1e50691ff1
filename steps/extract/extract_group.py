"""Extract step: summarise every WFDB record of one patient group into per-signal features.

Runs as the Processing job's script (defaults: /opt/ml/processing/input -> /opt/ml/processing/output), as
``waveform-pipeline extract``, and from the tests; all three call :func:`main`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a plain script: make the ``steps`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from steps.waveforms.errors import InputFolderError
from steps.waveforms.extraction import extract_group
from steps.waveforms.outputs import ERRORS_FILE
from steps.waveforms.sharding import HostShare, processing_host_share

DEFAULT_INPUT = Path("/opt/ml/processing/input")
DEFAULT_OUTPUT = Path("/opt/ml/processing/output")


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(prog="extract_group", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--input-dir", type=Path, default=DEFAULT_INPUT, help="the group folder (default: %(default)s)"
    )
    parser.add_argument(
        "--output-dir", type=Path, default=DEFAULT_OUTPUT, help="where outputs go (default: %(default)s)"
    )
    parser.add_argument("--group", help="group name written in every row (default: the input folder's name)")
    parser.add_argument("--workers", type=_positive_int, help="worker processes (default: every usable CPU)")
    parser.add_argument(
        "--strict",
        nargs="?",
        const=True,
        default=False,
        type=_boolean,
        metavar="true|false",
        help="exit non-zero if any record failed (after writing all outputs); a bare --strict means true",
    )
    parser.add_argument(
        "--input-version",
        default="",
        help="a label of the input data's version, recorded in summary.json (the pipeline passes it so that "
        "changing it re-runs the step)",
    )
    parser.add_argument(
        "--host",
        type=_host_share,
        metavar="INDEX/COUNT",
        help="take only this host's share of the record sets, e.g. 0/2 (default: from the Processing job's "
        "resource config when it runs on several instances, else all)",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    group = args.group or args.input_dir.resolve().name
    try:
        share = args.host or processing_host_share()
        output_dir = args.output_dir / share.name if share.count > 1 else args.output_dir
        summary = extract_group(
            args.input_dir,
            output_dir,
            group,
            workers=args.workers,
            host=share,
            input_version=args.input_version,
        )
    except InputFolderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"group {group}: {summary.records_summarised} of {summary.records_discovered} records summarised, "
        f"{summary.records_failed} failed, {summary.rows} rows, {summary.bytes_read / 1e6:.1f} MB "
        f"in {summary.seconds:.2f} s on {summary.workers} workers -> {output_dir}"
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


def _boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"true", "1", "yes"}:
        return True
    if lowered in {"false", "0", "no", ""}:
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, not {text!r}")


def _host_share(text: str) -> HostShare:
    index, _, count = text.partition("/")
    try:
        return HostShare(int(index), int(count))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected INDEX/COUNT such as 0/2, not {text!r}: {exc}") from exc


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
