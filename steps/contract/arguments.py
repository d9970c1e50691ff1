"""How a step's command line reads a pipeline Boolean parameter, which the service renders as ``true`` or
``false``; and the window length, which the extract step cuts windows by and the inventory step sizes the
group steps' volumes for."""

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


WINDOW_SECONDS_OPTION = "--window-seconds"
DEFAULT_WINDOW_SECONDS = 60.0  # windows.parquet's window length; 0 writes no windows
# Longer windows are a record, not a window: a day bounds the samples a window holds in memory.
MAX_WINDOW_SECONDS = 86_400.0


def window_seconds(text: str) -> float:
    """An argument type: a window length in seconds, 0 (no windows) up to a day."""
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, not {text!r}") from exc
    if not 0 <= value <= MAX_WINDOW_SECONDS:  # NaN fails this too
        raise argparse.ArgumentTypeError(
            f"must be from 0 (no windows) to {MAX_WINDOW_SECONDS:g} seconds, not {text!r}"
        )
    return value
