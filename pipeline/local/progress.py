"""One progress bar a stage of the local run, shown in turn: the steps that run together, then the next."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from tqdm import tqdm

from ..dag import DagStep
from ..definition_eval import StepOutcome, dependencies, topological_order


class StageBars:
    """A bar a stage (the extract steps, then the combine step), counting steps done and cache hits."""

    def __init__(self, definition: Mapping[str, Any], steps: Mapping[str, DagStep], enabled: bool) -> None:
        self.enabled = enabled
        levels: dict[str, int] = {}
        for step in topological_order(definition):
            levels[step["Name"]] = 1 + max((levels[d] for d in dependencies(step)), default=-1)
        self.stages: list[list[str]] = [
            [name for name, level in levels.items() if level == wanted]
            for wanted in sorted(set(levels.values()))
        ]
        self.labels = [" + ".join(sorted({steps[name].code for name in names})) for names in self.stages]
        self.stage_of = {name: index for index, names in enumerate(self.stages) for name in names}
        self.current = -1
        self.bar: tqdm[Any] | None = None
        self.hits = 0
        self._open(0)

    def _open(self, index: int) -> None:
        if self.bar is not None:
            self.bar.close()
        self.bar = tqdm(
            total=len(self.stages[index]),
            desc=self.labels[index].ljust(max(map(len, self.labels))),
            unit="step",
            disable=not self.enabled,
            file=sys.stderr,
        )
        self.current, self.hits = index, 0

    def advance(self, outcome: StepOutcome) -> None:
        index = self.stage_of[outcome.name]
        if index != self.current:
            self._open(index)
        assert self.bar is not None
        if outcome.cache_hit:
            self.hits += 1
            self.bar.set_postfix_str(f"{self.hits} from cache")
        self.bar.update(1)
        if self.bar.n == self.bar.total and index + 1 < len(self.stages):
            self._open(index + 1)  # the next stage starts now: its bar shows while it runs

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
