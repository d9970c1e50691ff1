"""Per standard signal (and record kind): how much of it is clipped or flat, from the records and the windows.

The extract step measures two fractions of a signal's valid samples, per record and per window
(``steps.contract.outputs.QUALITY_COLUMNS``): ``clip_fraction``, the share at the lowest or highest value its
storage format can hold, and ``flat_fraction``, the share in runs of a second or more of one value. Here,
per signal, group by group (totals that add up across groups), for each fraction:

- the records it was measured on (a record without valid samples has none: NaN);
- the share of all the signal's valid samples it covers (the records' fractions weighted by their valid
  samples), its mean over records and its median (exact up to ``mean_distribution.SAMPLE_SIZE`` records, and
  beyond that of a uniform sample of as many, as for the record means);
- the share of records that are *mostly* clipped or flat: more than :data:`MOSTLY` of their valid samples.

And, when windows were cut, per signal the windows, and the shares of those measured that are mostly clipped,
mostly flat and either: the windows a model would drop. The windows are counted a batch at a time, as they
stream by. A value that cannot be computed (nothing measured) is None.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from steps.contract.outputs import QUALITY_COLUMNS

from .mean_distribution import SAMPLE_SIZE, MeanSample

MOSTLY = 0.5  # a record or window is mostly clipped (flat) when more than this share of its valid samples is
KEYS = ["signal_std", "kind"]
Key = tuple[str, str]
# per signal, of its windows: all, those with each fraction (and with either), and those mostly so; each share
# is of the windows with the fraction it is of
WINDOW_COUNTS = (
    "windows", "clip_measured", "flat_measured", "either_measured", "mostly_clipped", "mostly_flat",
    "mostly_either",
)  # fmt: skip
WINDOW_SHARES = {
    "mostly_clipped": "clip_measured",
    "mostly_flat": "flat_measured",
    "mostly_either": "either_measured",
}


@dataclass
class FractionTotals:
    """One fraction (clip or flat) of one signal's records, as totals that add up across groups."""

    measured: int = 0  # records with the fraction (not NaN)
    weighted: float = 0.0  # sum of fraction x valid samples
    valid_samples: int = 0  # of the records measured
    total: float = 0.0  # sum of the fractions
    mostly: int = 0  # records whose fraction is above MOSTLY
    sample: MeanSample = field(default_factory=MeanSample)

    def summary(self, prefix: str) -> dict[str, Any]:
        measured = self.measured
        median = float(np.quantile(self.sample.values, 0.5)) if len(self.sample.values) else None
        return {
            f"{prefix}_records": measured,
            f"{prefix}_of_samples": self.weighted / self.valid_samples if self.valid_samples else None,
            f"{prefix}_record_mean": self.total / measured if measured else None,
            f"{prefix}_record_median": median,
            f"{prefix}_records_mostly": self.mostly / measured if measured else None,
        }


@dataclass
class RecordQuality:
    records: int = 0
    fractions: dict[str, FractionTotals] = field(
        default_factory=lambda: {column: FractionTotals() for column in QUALITY_COLUMNS}
    )


class SignalQuality:
    """The clip and flat fractions of every (signal_std, kind), from its records and its windows."""

    def __init__(self) -> None:
        self.records: dict[Key, RecordQuality] = {}
        self.windows: dict[Key, Counter[str]] = {}
        self._random = np.random.default_rng(0)

    def add_records(self, table: pa.Table) -> None:
        """One group's dataset rows."""
        frame = table.select([*KEYS, "n_valid", *QUALITY_COLUMNS]).to_pandas()
        for (signal, kind), rows in frame.groupby(KEYS, sort=True, dropna=False):
            quality = self.records.setdefault((str(signal), str(kind)), RecordQuality())
            quality.records += len(rows)
            valid = rows["n_valid"].to_numpy(dtype=np.int64)
            for column in QUALITY_COLUMNS:
                values = rows[column].to_numpy(dtype=float)
                finite = np.isfinite(values)
                if not finite.any():
                    continue
                measured, weights = values[finite], valid[finite]
                totals = quality.fractions[column]
                totals.measured += len(measured)
                totals.weighted += float(np.dot(measured, weights))
                totals.valid_samples += int(weights.sum())
                totals.total += float(measured.sum())
                totals.mostly += int((measured > MOSTLY).sum())
                totals.sample.add(measured, self._random.random(len(measured)))

    def add_windows(self, batch: pa.RecordBatch) -> None:
        """A batch of windows, with their standard names."""
        clip, flat = (batch.column(column) for column in QUALITY_COLUMNS)
        clipped, flat_mostly = _above(clip), _above(flat)
        counts = pa.table(
            {
                "signal_std": batch.column("signal_std"),
                "kind": batch.column("kind"),
                "clip_measured": _as_count(_finite(clip)),
                "flat_measured": _as_count(_finite(flat)),
                "either_measured": _as_count(pc.or_(_finite(clip), _finite(flat))),
                "mostly_clipped": _as_count(clipped),
                "mostly_flat": _as_count(flat_mostly),
                "mostly_either": _as_count(pc.or_(clipped, flat_mostly)),
            }
        )
        summed = counts.group_by(KEYS).aggregate(
            [("kind", "count"), *((name, "sum") for name in WINDOW_COUNTS[1:])]
        )
        for row in summed.to_pylist():
            totals = self.windows.setdefault((row["signal_std"], row["kind"]), Counter())
            totals["windows"] += row["kind_count"]
            for name in WINDOW_COUNTS[1:]:
                totals[name] += row[f"{name}_sum"]

    def summary(self) -> dict[str, Any]:
        """Per (signal_std, kind), sorted by them: the records' fractions, and the windows' shares (None
        without windows)."""
        signals = []
        for key in sorted(self.records.keys() | self.windows.keys()):
            quality = self.records.get(key, RecordQuality())
            row: dict[str, Any] = {"signal_std": key[0], "kind": key[1], "records": quality.records}
            row.update(quality.fractions["clip_fraction"].summary("clip"))
            row.update(quality.fractions["flat_fraction"].summary("flat"))
            windows = self.windows.get(key, Counter())
            row["windows"] = windows["windows"]
            for name, measured in WINDOW_SHARES.items():
                row[f"windows_{name}"] = windows[name] / windows[measured] if windows[measured] else None
            signals.append(row)
        return {"mostly": MOSTLY, "median_sample_size": SAMPLE_SIZE, "signals": signals}


def _finite(values: pa.Array) -> pa.Array:
    return pc.fill_null(pc.is_finite(values), False)


def _above(values: pa.Array) -> pa.Array:
    """Whether each fraction is above MOSTLY (NaN and null are not)."""
    return pc.fill_null(pc.greater(values, MOSTLY), False)


def _as_count(flags: pa.Array) -> pa.Array:
    return pc.cast(flags, pa.int64())
