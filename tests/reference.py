"""The reference every statistic is checked against: what ``wfdb.rdrecord(physical=True)`` and numpy's
NaN-aware reductions give for a record."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import wfdb

STAT_COLUMNS = ["mean", "std", "min", "max", "p05", "p50", "p95"]


def reference_statistics(header_path: Path) -> list[dict[str, float]]:
    """Per signal: what wfdb.rdrecord(physical=True) and numpy's NaN-aware reductions give."""
    record = wfdb.rdrecord(str(header_path.with_suffix("")), physical=True)
    signals = np.asarray(record.p_signal, dtype=np.float64).reshape(record.sig_len, record.n_sig)
    rows = []
    for column in range(record.n_sig):
        x = signals[:, column]
        n_valid = int(np.count_nonzero(~np.isnan(x)))
        if n_valid == 0:
            stats = dict.fromkeys(STAT_COLUMNS, math.nan)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                stats = {
                    "mean": float(np.nanmean(x)),
                    "std": float(np.nanstd(x)),
                    "min": float(np.nanmin(x)),
                    "max": float(np.nanmax(x)),
                    "p05": float(np.nanpercentile(x, 5)),
                    "p50": float(np.nanpercentile(x, 50)),
                    "p95": float(np.nanpercentile(x, 95)),
                }
        rows.append({"n_valid": n_valid, "n_samples": record.sig_len, **stats})
    return rows


def assert_statistics_match(ours: Mapping[str, Any], reference: Mapping[str, Any], where: str) -> None:
    """Equal to 1e-9 relative; values near zero are compared against the signal's own scale instead,
    since numpy's float64 sums themselves carry an absolute error of about 1e-16 of that scale."""
    assert ours["n_valid"] == reference["n_valid"], where
    assert ours["n_samples"] == reference["n_samples"], where
    scale = max(abs(reference["min"]), abs(reference["max"])) if reference["n_valid"] else 0.0
    for column in STAT_COLUMNS:
        a, b = ours[column], reference[column]
        if math.isnan(b):
            assert math.isnan(a), f"{where} {column}: {a} but the reference is NaN"
            continue
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12 * scale), f"{where} {column}: {a!r} != {b!r}"
