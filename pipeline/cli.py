"""``waveform-pipeline``: the project's command line.

Every command's errors end in one clear line and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import sys

from steps.extract import extract_group as extract_step


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="waveform-pipeline",
        description="Turn MIMIC-III waveform record sets into per-signal features, on SageMaker or here.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    extract = commands.add_parser(
        "extract",
        help="summarise every record of one patient-group folder (the extract step, run here)",
        description=extract_step.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    extract_step.build_parser(extract)
    extract.set_defaults(handler=extract_step.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
