"""Statistics of many windows at once: the columns of windows.parquet, vectorised over the windows of a block.

The same statistics as a record's (``statistics``: physical units, valid samples only, ddof 0, numpy's linear
percentiles reproduced operation by operation), from either of two exact sources:

- ``from_histograms``: a histogram of each window's digital values (narrow formats; one ``bincount`` a
  window, and the record's histogram is their sum);
- ``from_samples``: the windows' digital samples themselves, sorted along each window (wide formats).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .statistics import PERCENTILES

# Histogram cells (windows x distinct values) built at once; more windows are taken a few at a time.
MAX_HISTOGRAM_CELLS = 1 << 22


@dataclass(frozen=True)
class WindowColumns:
    """One array per column, one entry per window (NaN where a window has no valid sample)."""

    n_valid: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    min: np.ndarray
    max: np.ndarray
    p05: np.ndarray
    p50: np.ndarray
    p95: np.ndarray
    clip_fraction: np.ndarray

    @staticmethod
    def concatenate(parts: list[WindowColumns]) -> WindowColumns:
        return WindowColumns(*(np.concatenate([getattr(part, name) for part in parts]) for name in _FIELDS))


_FIELDS = ("n_valid", "mean", "std", "min", "max", "p05", "p50", "p95", "clip_fraction")


@dataclass(frozen=True)
class Scale:
    """How a signal's digital values become physical ones, ``(d - baseline) / gain``, and which digital values
    are invalid (None: the format has no invalid code) or at the format's valid extremes."""

    gain: float
    baseline: int
    invalid: int | None
    clip_low: int
    clip_high: int


def window_histograms(windows: np.ndarray, first: int, span: int) -> np.ndarray:
    """``counts[w, v - first]``: how many samples of window ``w`` (a row of ``windows``) equal ``v``."""
    counts = np.empty((len(windows), span), dtype=np.int64)
    for row, window in enumerate(windows):
        counts[row] = np.bincount(window if first == 0 else window - first, minlength=span)
    return counts


def from_histograms(counts: np.ndarray, first: int, scale: Scale) -> WindowColumns:
    """Statistics of windows given as histograms: ``counts[w, i]`` samples of window ``w`` equal ``first + i``
    (digital)."""
    values = np.arange(first, first + counts.shape[1], dtype=np.int64)
    clip = np.zeros(len(counts), dtype=np.int64)
    for extreme in {scale.clip_low, scale.clip_high}:
        if first <= extreme < first + counts.shape[1]:
            clip += counts[:, extreme - first]
    if scale.invalid is not None and first <= scale.invalid < first + counts.shape[1]:
        counts = counts.copy()
        counts[:, scale.invalid - first] = 0
    n = counts.sum(axis=1)
    safe = np.maximum(n, 1)
    total = counts @ values  # exact: |count x value| sums stay far below 2^63 for a window's samples
    mean_digital = total / safe
    deviations = values[None, :] - mean_digital[:, None]
    squared = (counts * (deviations * deviations)).sum(axis=1)
    cumulative = np.cumsum(counts, axis=1)
    stride = int(n.max()) + 1  # rows of cumulative counts, made one ascending sequence
    offsets = np.arange(len(counts), dtype=np.int64) * stride
    flat = (cumulative + offsets[:, None]).ravel()
    row_starts = np.arange(len(counts), dtype=np.int64) * counts.shape[1]

    def order_statistics(ranks: np.ndarray) -> np.ndarray:
        at = np.searchsorted(flat, ranks + offsets[:, None], side="right") - row_starts[:, None]
        return values[np.minimum(at, counts.shape[1] - 1)]

    return _columns(n, mean_digital, squared, order_statistics, clip, scale)


def from_samples(windows: np.ndarray, scale: Scale) -> WindowColumns:
    """Statistics of windows given as rows of digital samples (int64)."""
    valid = windows != scale.invalid if scale.invalid is not None else np.ones(windows.shape, dtype=bool)
    n = valid.sum(axis=1)
    safe = np.maximum(n, 1)
    total = np.where(valid, windows, 0).sum(axis=1)
    mean_digital = total / safe
    deviations = np.where(valid, windows - mean_digital[:, None], 0.0)
    squared = (deviations * deviations).sum(axis=1)
    clip = ((windows == scale.clip_low) | (windows == scale.clip_high)).sum(axis=1)
    ordered = np.sort(windows, axis=1)  # the invalid code is the format's lowest value: invalid samples first
    skipped = (windows.shape[1] - n)[:, None]

    def order_statistics(ranks: np.ndarray) -> np.ndarray:
        at = np.minimum(ranks + skipped, windows.shape[1] - 1)
        return np.take_along_axis(ordered, at, axis=1)

    return _columns(n, mean_digital, squared, order_statistics, clip, scale)


def _columns(
    n: np.ndarray,
    mean_digital: np.ndarray,
    squared: np.ndarray,
    order_statistics: object,
    clip: np.ndarray,
    scale: Scale,
) -> WindowColumns:
    assert callable(order_statistics)
    safe = np.maximum(n, 1)
    first, second, gamma = _percentile_plan(safe, np.array(PERCENTILES))  # (windows, 3) each
    pairs = np.stack((first, second), axis=2).reshape(len(n), -1)  # p05's two ranks, p50's, p95's
    ranks = np.concatenate((np.zeros((len(n), 1), np.int64), (safe - 1)[:, None], pairs), axis=1)
    if scale.gain < 0:  # a negative gain reverses the order: physical rank k is digital rank n - 1 - k
        ranks = (safe - 1)[:, None] - ranks
    # The same operations as wfdb's float64 (d - baseline) / gain, element by element.
    physical = (order_statistics(ranks).astype(np.float64) - scale.baseline) / scale.gain
    percentiles = _lerp(physical[:, 2::2], physical[:, 3::2], gamma)
    empty = n == 0
    columns = WindowColumns(
        n_valid=n.astype(np.int64),
        mean=(mean_digital - scale.baseline) / scale.gain,
        std=np.sqrt(squared / safe) / abs(scale.gain),
        min=physical[:, 0],
        max=physical[:, 1],
        p05=percentiles[:, 0],
        p50=percentiles[:, 1],
        p95=percentiles[:, 2],
        clip_fraction=clip / safe,
    )
    if empty.any():
        for name in _FIELDS[1:]:
            getattr(columns, name)[empty] = np.nan
    return columns


def _percentile_plan(n: np.ndarray, percents: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``statistics.percentile_plan`` for many sample counts (rows) and percentages (columns) at once, in the
    same float operations."""
    q = percents / 100
    counts = n[:, None]
    virtual = (counts - 1) * q
    previous = np.floor(virtual).astype(np.int64)
    top = virtual >= counts - 1
    bottom = virtual < 0
    first = np.where(top, counts - 1, np.where(bottom, 0, previous))
    second = np.where(top, counts - 1, np.where(bottom, 0, previous + 1))
    gamma = np.where(top, virtual + 1, np.where(bottom, virtual, virtual - previous))
    return first, second, gamma


def _lerp(a: np.ndarray, b: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    """numpy's ``_lerp``, as ``statistics.lerp``."""
    diff = b - a
    return np.where(gamma >= 0.5, b - diff * (1 - gamma), a + diff * gamma)
