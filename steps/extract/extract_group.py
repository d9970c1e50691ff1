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
        "--strict", action="store_true", help="exit non-zero if any record failed (after writing all outputs)"
    )
    return parser


def run(args: argparse.Namespace) -> int:
    group = args.group or args.input_dir.resolve().name
    try:
        summary = extract_group(args.input_dir, args.output_dir, group, workers=args.workers)
    except InputFolderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"group {group}: {summary.records_summarised} of {summary.records_discovered} records summarised, "
        f"{summary.records_failed} failed, {summary.rows} rows, {summary.bytes_read / 1e6:.1f} MB "
        f"in {summary.seconds:.2f} s on {summary.workers} workers -> {args.output_dir}"
    )
    if args.strict and summary.errors_reported:
        first = summary.failures[0]
        print(
            f"error: strict mode: {summary.errors_reported} problem(s) in group {group}, first {first.path}: "
            f"{first.message} (all listed in {args.output_dir / ERRORS_FILE})",
            file=sys.stderr,
        )
        return 1
    return 0


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
