"""Per standard signal (and record kind): how the records' means are spread, in the units most records give.

The combine step reads one group at a time, and a MIMIC-III signal has millions of records, so its means
are not all kept: each (signal_std, kind, units) keeps a uniform sample of at most :data:`SAMPLE_SIZE` of
them (a bottom-k sample: every mean is given a random priority, and the k lowest priorities are kept, which
is the same whether the groups come one at a time or together), plus its exact count, smallest and largest.
Up to SAMPLE_SIZE means the percentiles are exact; beyond, they are those of the sample, within about a
percent of rank. (A logarithmic sketch would not do: its buckets are relative to the values, so an SpO2 of
96.6 ... 97.5 % falls in one or two.) The priorities come from a generator seeded once, so the same inputs
give the same report. A signal's means are kept apart by units (mV and uV means are not one distribution):
its spread is that of its commonest units, and the others are named with their counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

SAMPLE_SIZE = 20_000
QUANTILES = {"p05": 0.05, "p25": 0.25, "p50": 0.5, "p75": 0.75, "p95": 0.95}
_COLUMNS = ["signal_std", "kind", "units", "mean"]

Key = tuple[str, str, str]  # signal_std, kind, units


@dataclass
class MeanSample:
    """One (signal_std, kind, units)'s means: how many, the extremes, and a uniform sample of them."""

    count: int = 0
    low: float = math.inf
    high: float = -math.inf
    values: np.ndarray = field(default_factory=lambda: np.zeros(0))
    priorities: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def add(self, values: np.ndarray, priorities: np.ndarray) -> None:
        self.count += len(values)
        self.low, self.high = min(self.low, float(values.min())), max(self.high, float(values.max()))
        self.values = np.concatenate([self.values, values])
        self.priorities = np.concatenate([self.priorities, priorities])
        if len(self.values) > SAMPLE_SIZE:
            kept = np.argpartition(self.priorities, SAMPLE_SIZE)[:SAMPLE_SIZE]
            self.values, self.priorities = self.values[kept], self.priorities[kept]


class MeanDistributions:
    """The records' means of every (signal_std, kind, units), group by group."""

    def __init__(self) -> None:
        self.samples: dict[Key, MeanSample] = {}
        self._random = np.random.default_rng(0)

    def add(self, table: pa.Table) -> None:
        """One group's dataset rows (those with a finite mean)."""
        frame = table.select(_COLUMNS).to_pandas()
        frame = frame[np.isfinite(frame["mean"].to_numpy(dtype=float))]
        frame = frame.assign(priority=self._random.random(len(frame)))
        for (signal, kind, units), rows in frame.groupby(_COLUMNS[:3], sort=True, dropna=False):
            key = (str(signal), str(kind), units if isinstance(units, str) else "")
            sample = self.samples.setdefault(key, MeanSample())
            sample.add(rows["mean"].to_numpy(dtype=float), rows["priority"].to_numpy())

    def summary(self) -> list[dict[str, Any]]:
        """Per (signal_std, kind), sorted by them: the commonest units, how many means in them, their
        smallest, percentiles and largest; the other units with their counts of means."""
        by_signal: dict[tuple[str, str], dict[str, int]] = {}
        for (signal, kind, units), sample in self.samples.items():
            by_signal.setdefault((signal, kind), {})[units] = sample.count
        rows = []
        for (signal, kind), counts in sorted(by_signal.items()):
            ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
            units = ranked[0][0]
            sample = self.samples[(signal, kind, units)]
            percentiles = np.quantile(sample.values, list(QUANTILES.values()))
            rows.append(
                {
                    "signal_std": signal,
                    "kind": kind,
                    "units": units,
                    "means": sample.count,
                    "sampled": len(sample.values) < sample.count,
                    "min": sample.low,
                    **{name: float(value) for name, value in zip(QUANTILES, percentiles, strict=True)},
                    "max": sample.high,
                    "other_units": dict(ranked[1:]),
                }
            )
        return rows
