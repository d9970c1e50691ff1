"""``run-local``: the whole pipeline, here."""

from __future__ import annotations

import argparse

from ..config import PipelineConfig
from .settings import overrides as _overrides


def run_local(args: argparse.Namespace) -> int:
    from ..config import parse_groups
    from ..local.run import run_locally
    from ..parameters import parameter_text

    groups = parse_groups(args.groups, "--groups") if args.groups is not None else None
    overrides = {
        name: parameter_text(value) for name, value in _overrides(PipelineConfig(), args.param).items()
    }
    result = run_locally(
        args.input_dir,
        args.output_dir,
        groups,
        args.jobs,
        use_cache=not args.no_cache,
        progress=not args.no_progress,
        parameters=overrides,
    )
    ran = len(result.outcomes) - len(result.reused)
    print(f"execution {result.execution_id}: {ran} step(s) ran, {len(result.reused)} reused from the cache")
    if result.reused:
        sources = sorted({outcome.source_execution for outcome in result.reused})
        print(f"reused: {', '.join(o.name for o in result.reused)} (from {', '.join(sources)})")
    print(f"dataset: {result.combined / 'dataset'}")
    print(f"report:  {result.combined / 'report.html'}")
    print(f"groups:  {', '.join(str(folder) for folder in result.group_outputs)}")
    return 0
