"""How a step's command line reads a pipeline Boolean parameter, which the service renders as ``true`` or
``false``."""

from __future__ import annotations

import argparse


def boolean(text: str) -> bool:
    """An argument type: ``true``/``false`` (as the pipeline passes a Boolean), also 1/0, yes/no."""
    lowered = text.strip().lower()
    if lowered in {"true", "1", "yes"}:
        return True
    if lowered in {"false", "0", "no", ""}:
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, not {text!r}")


def add_strict_option(parser: argparse.ArgumentParser, fails_when: str) -> None:
    """``--strict [true|false]``: exit non-zero, after writing everything, when ``fails_when``."""
    parser.add_argument(
        "--strict",
        nargs="?",
        const=True,
        default=False,
        type=boolean,
        metavar="true|false",
        help=f"exit non-zero if {fails_when} (after writing everything); a bare --strict means true",
    )
