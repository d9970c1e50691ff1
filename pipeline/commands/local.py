"""``run-local``: the whole pipeline, here."""

from __future__ import annotations

import argparse

from ..config import PipelineConfig
from ..errors import LocalUsageError
from ..parameters import WINDOW_SECONDS_PARAMETER
from .settings import overrides as _overrides


def run_local(args: argparse.Namespace) -> int:
    from ..config import parse_groups
    from ..local.run import run_locally
    from ..local.summary import summary_lines
    from ..parameters import parameter_text

    groups = parse_groups(args.groups, "--groups") if args.groups is not None else None
    given = _overrides(PipelineConfig(), args.param)
    if args.window_seconds is not None:
        if WINDOW_SECONDS_PARAMETER in given:
            raise LocalUsageError(f"give --window-seconds or --param {WINDOW_SECONDS_PARAMETER}, not both")
        given[WINDOW_SECONDS_PARAMETER] = args.window_seconds
    overrides = {name: parameter_text(value) for name, value in given.items()}
    result = run_locally(
        args.input_dir,
        args.output_dir,
        groups,
        args.jobs,
        use_cache=not args.no_cache,
        progress=not args.no_progress,
        parameters=overrides,
    )
    print("\n".join(summary_lines(result, args.output_dir)))
    return 0
