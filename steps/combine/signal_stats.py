"""Per standard signal (and record kind): how much of it there is, how much is valid, its typical level.

Computed group by group as totals that add up across groups (a record belongs to one group), then finished:
records, record sets, groups, hours (sum of ``duration_s`` / 3600), valid fraction (sum ``n_valid`` / sum
``n_samples``) and the mean of the per-record means (over records with any valid sample).
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

KEYS = ["signal_std", "kind"]
STATS_COLUMNS = [*KEYS, "records", "record_sets", "groups", "hours", "valid_fraction", "mean_of_means"]
_TOTALS = ["records", "record_sets", "groups", "seconds", "n_valid", "n_samples", "sum_of_means", "n_means"]
_NEEDED = [*KEYS, "record_set", "record", "duration_s", "n_valid", "n_samples", "mean"]


def group_signal_totals(table: pa.Table) -> pd.DataFrame:
    """One group's dataset rows reduced to sums per (signal_std, kind)."""
    rows = table.select(_NEEDED).to_pandas()
    if rows.empty:
        return pd.DataFrame(columns=[*KEYS, *_TOTALS])
    by_signal = rows.groupby(KEYS, sort=False, dropna=False)
    totals = by_signal.agg(
        seconds=("duration_s", "sum"),
        n_valid=("n_valid", "sum"),
        n_samples=("n_samples", "sum"),
        sum_of_means=("mean", "sum"),
        n_means=("mean", "count"),
    )
    totals["records"] = (
        rows.drop_duplicates([*KEYS, "record_set", "record"]).groupby(KEYS, dropna=False).size()
    )
    totals["record_sets"] = rows.drop_duplicates([*KEYS, "record_set"]).groupby(KEYS, dropna=False).size()
    totals["groups"] = 1
    return totals.reset_index()[[*KEYS, *_TOTALS]]


def signal_stats(group_totals: list[pd.DataFrame]) -> pd.DataFrame:
    """The statistics table from every group's totals, one row per (signal_std, kind), sorted by them."""
    filled = [totals for totals in group_totals if not totals.empty]
    if not filled:
        return pd.DataFrame(columns=STATS_COLUMNS)
    totals = pd.concat(filled, ignore_index=True).groupby(KEYS, sort=True, dropna=False)[_TOTALS].sum()
    stats = totals.reset_index()
    stats["hours"] = stats["seconds"] / 3600
    stats["valid_fraction"] = stats["n_valid"] / stats["n_samples"].where(stats["n_samples"] > 0)
    stats["mean_of_means"] = stats["sum_of_means"] / stats["n_means"].where(stats["n_means"] > 0)
    return stats[STATS_COLUMNS]
