"""``run-local``: the pipeline's definition executed here, step by step, with the service's caching."""

from __future__ import annotations

import re
import secrets
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..dag import COMBINE_STEP, DagStep, dag_steps
from ..definition_eval import ExecutionFailed, StepOutcome, default_parameters, execute
from ..errors import LocalRunError
from ..step_code import PROJECT_ROOT, step_codes
from .cache import CACHE_FILE, load_cache, local_cache_key, save_cache
from .definition import local_definition
from .processes import StepProcesses
from .progress import StageBars


@dataclass
class LocalRun:
    """What a local run did: every step's outcome, in the definition's order."""

    execution_id: str
    outcomes: list[StepOutcome]
    steps: Mapping[str, DagStep]

    def output_of(self, step: str) -> Path:
        outcome = next(o for o in self.outcomes if o.name == step)
        return Path(outcome.properties["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"])

    @property
    def combined(self) -> Path:
        """The combine step's output folder: the dataset and the reports."""
        return self.output_of(COMBINE_STEP.name)

    @property
    def group_outputs(self) -> list[Path]:
        """The folders holding the groups' outputs (an earlier execution's for a group reused from cache)."""
        return sorted({self.output_of(o.name).parent for o in self.outcomes if self.steps[o.name].group})

    @property
    def reused(self) -> list[StepOutcome]:
        return [o for o in self.outcomes if o.cache_hit]


def input_groups(input_dir: Path, groups: Sequence[str] | None) -> list[str]:
    """The groups to run: those asked for (each must have a folder), else every group folder there."""
    if not input_dir.is_dir():
        raise LocalRunError(f"input folder {input_dir} does not exist")
    if groups:
        missing = [group for group in groups if not (input_dir / group).is_dir()]
        if missing:
            raise LocalRunError(f"no folder for group(s) {', '.join(missing)} in {input_dir}")
        return list(groups)
    found = sorted(
        p.name for p in input_dir.iterdir() if p.is_dir() and re.fullmatch(r"[A-Za-z0-9]+", p.name)
    )
    if not found:
        raise LocalRunError(f"input folder {input_dir} holds no group folders (such as 30 ... 39)")
    return found


def run_locally(
    input_dir: Path,
    output_dir: Path,
    groups: Sequence[str] | None = None,
    jobs: int | None = None,
    use_cache: bool = True,
    progress: bool = True,
    code_root: Path = PROJECT_ROOT,
    parameters: Mapping[str, Any] | None = None,
) -> LocalRun:
    """Run the pipeline on the group folders under ``input_dir``; everything it writes goes under
    ``output_dir``: ``<execution id>/groups/<group>/``, ``<execution id>/combined/``, logs and the caches."""
    from steps.extract.sharding import usable_cpus

    input_dir, output_dir = input_dir.resolve(), output_dir.resolve()
    chosen = input_groups(input_dir, groups)
    output_dir.mkdir(parents=True, exist_ok=True)
    codes = step_codes(code_root)

    def announce_build() -> None:
        if progress:
            print("building the pipeline definition with the SageMaker SDK (kept for the next runs) ...",
                  file=sys.stderr, flush=True)  # fmt: skip

    definition = local_definition(chosen, code_root, codes, kept_in=output_dir, building=announce_build)
    steps = {step.name: step for step in dag_steps(chosen)}
    local_roots = {"InputRoot": str(input_dir), "OutputRoot": str(output_dir)}
    values = default_parameters(definition, {**(parameters or {}), **local_roots})
    execution_id = f"local-{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(2)}"
    cache_path = output_dir / CACHE_FILE
    cache = load_cache(cache_path) if use_cache else {}
    processes = StepProcesses(
        definition, steps, codes, code_root, output_dir / execution_id, jobs or usable_cpus()
    )
    bars = StageBars(definition, steps, enabled=progress)

    def remember(outcome: StepOutcome) -> None:
        bars.advance(outcome)
        if not outcome.cache_hit:  # persisted at once, so an interrupted run resumes from here
            save_cache(cache_path, cache)

    try:
        outcomes = execute(
            definition,
            execution_id,
            values,
            cache,
            processes.run_batch,
            key_of=local_cache_key,
            on_outcome=remember,
        )
    except ExecutionFailed as failure:
        raise LocalRunError(processes.failure_summary(failure.failed)) from failure
    finally:
        bars.close()
    return LocalRun(execution_id, outcomes, steps)
