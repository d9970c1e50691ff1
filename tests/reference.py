"""The reference every statistic is checked against, computed independently of the extract engine: what
``wfdb.rdrecord(smooth_frames=False)`` reads (every sample of every signal at its own rate, skew applied as
wfdb applies it) and numpy's NaN-aware reductions give, for the record and for each window; the quality
fractions from a plain run-length encoding of wfdb's digital samples."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import wfdb

from steps.extract.wfdb_spec import INVALID_SAMPLE_VALUE, SAMPLE_VALUE_RANGE

STAT_COLUMNS = ["mean", "std", "min", "max", "p05", "p50", "p95"]
QUALITY_COLUMNS = ["clip_fraction", "flat_fraction"]


def _statistics(physical: np.ndarray, digital: np.ndarray, fmt: str, fs: float) -> dict[str, Any]:
    """Record-style statistics and quality of one stretch of a signal (physical NaN where invalid)."""
    valid = ~np.isnan(physical)
    n_valid = int(np.count_nonzero(valid))
    if n_valid == 0:
        stats: dict[str, Any] = dict.fromkeys(STAT_COLUMNS + QUALITY_COLUMNS, math.nan)
        return {"n_valid": 0, "n_samples": len(physical), **stats}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stats = {
            "mean": float(np.nanmean(physical)),
            "std": float(np.nanstd(physical)),
            "min": float(np.nanmin(physical)),
            "max": float(np.nanmax(physical)),
            "p05": float(np.nanpercentile(physical, 5)),
            "p50": float(np.nanpercentile(physical, 50)),
            "p95": float(np.nanpercentile(physical, 95)),
        }
    low, high = SAMPLE_VALUE_RANGE[fmt]
    invalid = INVALID_SAMPLE_VALUE[fmt]
    lowest_valid = low if invalid is None else invalid + 1
    kept = digital[valid]
    clipped = int(np.count_nonzero((kept == lowest_valid) | (kept == high)))
    return {
        "n_valid": n_valid,
        "n_samples": len(physical),
        **stats,
        "clip_fraction": clipped / n_valid,
        "flat_fraction": flat_samples(digital, valid, max(2, round(fs))) / n_valid,
    }


def flat_samples(digital: np.ndarray, valid: np.ndarray, min_run: int) -> int:
    """Valid samples in runs of at least ``min_run`` equal digital values: a direct run-length encoding."""
    if len(digital) == 0:
        return 0
    starts = np.concatenate(([0], np.flatnonzero(np.diff(digital) != 0) + 1))
    lengths = np.diff(np.concatenate((starts, [len(digital)])))
    long = (lengths >= min_run) & valid[starts]
    return int(lengths[long].sum())


def reference_signals(header_path: Path) -> list[dict[str, Any]]:
    """Each signal as wfdb reads it: name, format, its own fs, physical and digital samples."""
    name = str(header_path.with_suffix(""))
    try:
        physical = wfdb.rdrecord(name, physical=True, smooth_frames=False)
    except ValueError:
        # wfdb 4.3 shifts a file's skewed signals only when their skews are 0 or all the same (else it fails
        # to broadcast); such a record is read unskewed, and each signal shifted as wfdb shifts one.
        return _skewed_by_hand(name)
    try:
        digital = wfdb.rdrecord(name, physical=False, smooth_frames=False).e_d_signal
    except ValueError:
        # wfdb 4.3 cannot return some formats' (e.g. 160's unsigned) digital samples unsmoothed: they are
        # the physical ones scaled back, exactly (each is (d - baseline) / gain, d an integer).
        digital = [
            _digital(
                np.asarray(p, dtype=np.float64), physical.adc_gain[i], physical.baseline[i], physical.fmt[i]
            )
            for i, p in enumerate(physical.e_p_signal)
        ]
    signals = []
    for index in range(physical.n_sig):
        signals.append(
            {
                "fmt": physical.fmt[index],
                "fs": float(physical.fs) * physical.samps_per_frame[index],
                "physical": np.asarray(physical.e_p_signal[index], dtype=np.float64),
                "digital": np.asarray(digital[index], dtype=np.int64),
            }
        )
    return signals


def _digital(physical: np.ndarray, gain: float, baseline: int, fmt: str) -> np.ndarray:
    invalid = INVALID_SAMPLE_VALUE[fmt]
    digital = np.round(np.nan_to_num(physical) * gain + baseline).astype(np.int64)
    digital[np.isnan(physical)] = invalid if invalid is not None else 0
    return digital


def _skewed_by_hand(name: str) -> list[dict[str, Any]]:
    """What wfdb gives a skewed signal whose file it can read: its samples from frame ``skew`` on, then
    ``skew x samples_per_frame`` samples decoded from the zero bytes wfdb reads past the file's end, the
    last ``skew`` of them set to the invalid code."""
    header = wfdb.rdheader(name)
    physical = wfdb.rdrecord(name, physical=True, smooth_frames=False, ignore_skew=True)
    try:
        digital = wfdb.rdrecord(name, physical=False, smooth_frames=False, ignore_skew=True).e_d_signal
    except ValueError:  # as in reference_signals
        digital = [
            _digital(np.asarray(p, dtype=np.float64), header.adc_gain[i], header.baseline[i], header.fmt[i])
            for i, p in enumerate(physical.e_p_signal)
        ]
    zero_decoded = {"80": -128, "160": -32768}
    signals = []
    for index in range(header.n_sig):
        fmt, k, skew = header.fmt[index], header.samps_per_frame[index], header.skew[index] or 0
        d = np.asarray(digital[index], dtype=np.int64)
        pad = np.full(skew * k, zero_decoded.get(fmt, 0), dtype=np.int64)
        invalid = INVALID_SAMPLE_VALUE[fmt]
        if skew:
            pad[-skew:] = invalid
        d = np.concatenate((d[skew * k :], pad))
        gain, baseline = header.adc_gain[index], header.baseline[index]
        p = (d - baseline) / gain
        p[d == invalid] = np.nan
        signals.append({"fmt": fmt, "fs": float(header.fs) * k, "physical": p, "digital": d})
        assert len(d) == len(physical.e_p_signal[index])
    return signals


def reference_statistics(header_path: Path) -> list[dict[str, Any]]:
    """Per signal: the record's statistics and quality fractions."""
    return [
        _statistics(s["physical"], s["digital"], s["fmt"], s["fs"]) for s in reference_signals(header_path)
    ]


def reference_windows(header_path: Path, window_seconds: float) -> list[dict[str, Any]]:
    """Per signal and window: window k holds samples [k L, (k + 1) L), L = max(1, round(W fs)); runs are
    cut at the window's edges (each window is encoded on its own)."""
    rows = []
    for index, signal in enumerate(reference_signals(header_path)):
        length = max(1, round(window_seconds * signal["fs"]))
        n = len(signal["physical"])
        for window, start in enumerate(range(0, n, length)):
            stop = min(start + length, n)
            stats = _statistics(
                signal["physical"][start:stop], signal["digital"][start:stop], signal["fmt"], signal["fs"]
            )
            rows.append(
                {
                    "signal_index": index,
                    "window_index": window,
                    "window_start_s": window * length / signal["fs"],
                    **stats,
                }
            )
    return rows


def assert_statistics_match(
    ours: Mapping[str, Any], reference: Mapping[str, Any], where: str, quality: bool = True
) -> None:
    """Equal to 1e-9 relative; values near zero are compared against the signal's own scale instead,
    since numpy's float64 sums themselves carry an absolute error of about 1e-16 of that scale. The
    quality fractions are ratios of counts: equal to rounding."""
    assert ours["n_valid"] == reference["n_valid"], where
    assert ours["n_samples"] == reference["n_samples"], where
    scale = max(abs(reference["min"]), abs(reference["max"])) if reference["n_valid"] else 0.0
    for column in STAT_COLUMNS + (QUALITY_COLUMNS if quality else []):
        a, b = ours[column], reference[column]
        if math.isnan(b):
            assert math.isnan(a), f"{where} {column}: {a} but the reference is NaN"
            continue
        tolerance = 1e-12 * scale if column in STAT_COLUMNS else 0.0
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=tolerance), f"{where} {column}: {a!r} != {b!r}"
