"""Per group: how many hours its records last, how many are dated, and when the dated ones were recorded.

A record is its rows' (record set, record): its kind, its ``start_time`` (null: undated) and its duration (the
longest of its signals'). Hours are summed per kind (a numerics record runs beside the waveform records of its
record set, so the two are never added). When they were recorded is kept per group and kind as hours per
calendar day, without keeping the records: the hours of each day a record only partly covers, and for the days
it covers whole a +1 where they start and a -1 where they end (so a record of months costs two entries, not
one per day). That adds up over the groups and is bounded by the days that hold a record's start or end.
:func:`coverage_table` then sums it into columns of days, months, years or longer periods, the shortest that
keep the whole span within :data:`MAX_COLUMNS`. Dates are computed on numpy's calendar (``datetime64``), which
holds MIMIC's shifted years (2100-2900) and beyond, unlike pandas' nanosecond timestamps (up to 2262).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MAX_DURATION_MS = 10**15  # ~31,700 years: a longer record is a broken header, counted up to this
MAX_COLUMNS = 100
_INT64_MAX = np.iinfo(np.int64).max


@dataclass
class DayCoverage:
    """Hours per calendar day (days since 1970-01-01) of one group's records of one kind."""

    partial_days: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    partial_ms: np.ndarray = field(default_factory=lambda: np.zeros(0))  # milliseconds recorded that day
    whole_days: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    whole_changes: np.ndarray = field(
        default_factory=lambda: np.zeros(0)
    )  # records covering whole days from then

    def column_hours(self, edges: np.ndarray) -> np.ndarray:
        """Hours in each column between consecutive ``edges`` (days since 1970, ascending, covering every day
        recorded)."""
        columns = np.searchsorted(edges, self.partial_days, side="right") - 1
        hours = np.bincount(columns, weights=self.partial_ms, minlength=len(edges) - 1) / HOUR_MS
        if len(self.whole_days):
            # days covered whole, integrated from the first change: linear between changes, so exact at edges
            days = self.whole_days.astype(float)
            covering = np.cumsum(self.whole_changes)
            integral = np.concatenate([[0.0], np.cumsum(covering[:-1] * np.diff(days))])
            hours += np.diff(np.interp(edges.astype(float), days, integral)) * 24
        return hours


@dataclass
class GroupRecording:
    """One group's records: hours per kind, dated and undated counts, and the dated ones' days."""

    hours: dict[str, float]
    records_dated: int
    records_undated: int
    undated_hours: float
    coverage: dict[str, DayCoverage]  # by kind


def group_recording(table: pa.Table) -> GroupRecording:
    """The recording time of one group's dataset rows."""
    start = table.column("start_time")
    rows = pa.table(
        {
            "record_set": table.column("record_set"),
            "record": table.column("record"),
            "kind": table.column("kind"),
            "dated": pc.is_valid(start),
            "start_ms": pc.fill_null(pc.cast(start, pa.int64()), 0),
            "duration_s": table.column("duration_s"),
        }
    ).to_pandas()
    records = rows.groupby(["record_set", "record"], sort=False).agg(
        kind=("kind", "first"), dated=("dated", "first"), start_ms=("start_ms", "first"),
        duration_s=("duration_s", "max"),
    )  # fmt: skip
    seconds = records["duration_s"].to_numpy(dtype=float)
    duration_ms = np.clip(np.nan_to_num(seconds * 1000, nan=0.0, posinf=MAX_DURATION_MS), 0, MAX_DURATION_MS)
    records = records.assign(duration_ms=np.rint(duration_ms).astype(np.int64))
    dated = records["dated"].to_numpy(dtype=bool)
    return GroupRecording(
        hours={str(k): float(ms) / HOUR_MS for k, ms in records.groupby("kind")["duration_ms"].sum().items()},
        records_dated=int(dated.sum()),
        records_undated=int((~dated).sum()),
        undated_hours=float(records["duration_ms"].to_numpy()[~dated].sum()) / HOUR_MS,
        coverage={
            str(kind): day_coverage(of_kind["start_ms"].to_numpy(np.int64), of_kind["duration_ms"].to_numpy())
            for kind, of_kind in records[dated].groupby("kind")
        },
    )


def day_coverage(start_ms: np.ndarray, duration_ms: np.ndarray) -> DayCoverage:
    """Records starting at ``start_ms`` (milliseconds since 1970) and lasting ``duration_ms``, per day."""
    end_ms = start_ms + np.minimum(duration_ms, _INT64_MAX - np.maximum(start_ms, 0))  # never past int64
    first, last = start_ms // DAY_MS, end_ms // DAY_MS
    within = first == last
    crossing = ~within
    partial_days = np.concatenate([first[within], first[crossing], last[crossing]])
    partial_ms = np.concatenate(
        [
            end_ms[within] - start_ms[within],
            (first[crossing] + 1) * DAY_MS - start_ms[crossing],
            end_ms[crossing] - last[crossing] * DAY_MS,
        ]
    ).astype(float)
    whole = crossing & (last > first + 1)
    whole_days = np.concatenate([first[whole] + 1, last[whole]])
    whole_changes = np.concatenate([np.ones(whole.sum()), -np.ones(whole.sum())])
    return DayCoverage(*_summed(partial_days, partial_ms), *_summed(whole_days, whole_changes))


def _summed(days: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The values summed per day, days ascending."""
    unique, where = np.unique(days, return_inverse=True)
    return unique.astype(np.int64), np.bincount(where.ravel(), weights=values, minlength=len(unique))


def coverage_table(recordings: dict[str, GroupRecording]) -> dict[str, Any]:
    """Hours per group, kind and period (``columns``: the periods' labels), for ``quality.json`` and the
    report: ``{"period": ..., "columns": [...], "hours": {kind: {group: [hours per column]}}}``, every group
    under every kind that has dated records (a group without any has zeros)."""
    coverages = [
        (g, k, c) for g, r in recordings.items() for k, c in r.coverage.items() if len(c.partial_days)
    ]
    if not coverages:
        return {"period": None, "columns": [], "hours": {}}
    first = min(int(c.partial_days[0]) for _, _, c in coverages)
    last = max(int(c.partial_days[-1]) for _, _, c in coverages)
    period, edges, labels = periods(first, last)
    kinds = sorted({kind for _, kind, _ in coverages}, key=lambda kind: (kind != "waveform", kind))
    none = DayCoverage()
    hours = {
        kind: {
            group: [round(h, 6) for h in recording.coverage.get(kind, none).column_hours(edges).tolist()]
            for group, recording in sorted(recordings.items())
        }
        for kind in kinds
    }
    return {"period": period, "columns": labels, "hours": hours}


def periods(first: int, last: int) -> tuple[str, np.ndarray, list[str]]:
    """The shortest period (day, month, year, then 10, 100 ... years) of which at most MAX_COLUMNS cover the
    days ``first`` ... ``last``: its name, the columns' edges (days since 1970) and their labels."""
    if last - first + 1 <= MAX_COLUMNS:
        days = np.arange(first, last + 2, dtype=np.int64)
        return "day", days, [str(day) for day in days[:-1].astype("datetime64[D]")]
    span = np.array([first, last], dtype="datetime64[D]")
    first_month, last_month = span.astype("datetime64[M]")
    if (last_month - first_month).astype(np.int64) + 1 <= MAX_COLUMNS:
        months = np.arange(first_month, last_month + 2)
        return "month", months.astype("datetime64[D]").astype(np.int64), [str(m) for m in months[:-1]]
    years = span.astype("datetime64[Y]").astype(np.int64) + 1970
    size = 1
    while (years[1] // size - years[0] // size) + 1 > MAX_COLUMNS:
        size *= 10
    starts = np.arange(years[0] // size * size, (years[1] // size + 1) * size + 1, size)
    edges = (starts - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
    name = "year" if size == 1 else f"{size} years"
    return name, edges, [_period_label(int(start), size) for start in starts[:-1]]


def _period_label(start: int, size: int) -> str:
    if size == 1:
        return str(start)
    if size == 10:
        return f"{start}s"
    return f"{start}-{start + size - 1}"
