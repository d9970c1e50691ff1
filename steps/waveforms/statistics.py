"""Exact per-signal statistics from digital samples, block by block, in bounded memory.

Digital WFDB samples are integers, so their statistics can be built exactly and merged across blocks and
workers. Formats of at most 16 bits are summarised from a histogram of digital values (one pass; the
histogram *is* the sorted signal, so percentiles are exact order statistics). Wider formats use two passes:
exact integer sums and a histogram of the high bits, then the squared deviations and a histogram of the
low bits inside the few high-bit bins that hold the wanted order statistics (a radix select).

Statistics are reported in physical units, ``(d - baseline) / gain`` as ``wfdb.rdrecord(physical=True)``
computes them, over valid samples only, with numpy's conventions: ``std`` with ddof=0 and percentiles by
numpy's default (linear) method, reproduced here operation by operation so the results agree with
``np.nanpercentile`` to rounding.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import CorruptSignalError

PERCENTILES = (5.0, 50.0, 95.0)
NARROW_BITS = 16  # formats up to this many bits are summarised from one full histogram
_RADIX_LOW_BITS = 16  # wider formats: high-bit histogram in pass one, low 16 bits in pass two


@dataclass(frozen=True)
class PhysicalStatistics:
    """The statistics columns of one feature row."""

    n_valid: int
    mean: float
    std: float
    min: float
    max: float
    p05: float
    p50: float
    p95: float

    @classmethod
    def empty(cls) -> PhysicalStatistics:
        nan = math.nan
        return cls(0, nan, nan, nan, nan, nan, nan, nan)


class SortedCounts:
    """Distinct digital values with their counts: the sorted signal, compressed. Values ascend."""

    def __init__(self, values: np.ndarray, counts: np.ndarray) -> None:
        self.values = values.astype(np.int64, copy=False)
        self.counts = counts.astype(np.int64, copy=False)
        self._cumulative = np.cumsum(self.counts)
        self.n = int(self._cumulative[-1]) if len(self._cumulative) else 0

    def order_statistic(self, k: int) -> int:
        """The k-th smallest value (0-based)."""
        return int(self.values[np.searchsorted(self._cumulative, k, side="right")])


def numpy_linear_percentile(n: int, percent: float, physical_at_rank: Callable[[int], Any]) -> float:
    """``np.nanpercentile(x, percent)`` for the sorted valid samples, given the physical value at a rank.

    Mirrors numpy's ``_compute_virtual_index``, ``_get_indexes`` and ``_lerp`` for the linear method
    (alpha = beta = 1), in the same floating-point operations.
    """
    q = percent / 100
    virtual = n * q + (1 + q * (1 - 1 - 1)) - 1
    previous = math.floor(virtual)
    following = previous + 1
    if virtual >= n - 1:
        previous = following = n - 1
        gamma_base = -1  # numpy stores the clipped index as -1; gamma then multiplies a zero difference
    elif virtual < 0:
        previous = following = 0
        gamma_base = 0
    else:
        gamma_base = previous
    gamma = virtual - gamma_base
    a = physical_at_rank(previous)
    b = physical_at_rank(following)
    diff = b - a
    if gamma >= 0.5:
        return float(b - diff * (1 - gamma))
    return float(a + diff * gamma)


def physical_statistics(
    sorted_counts: SortedCounts, sum_digital: int, squared_deviations: float, gain: float, baseline: int
) -> PhysicalStatistics:
    """Physical statistics from exact digital ones. ``squared_deviations`` is Σ(d - mean_d)²."""
    n = sorted_counts.n
    if n == 0:
        return PhysicalStatistics.empty()
    mean_digital = sum_digital / n  # int / int: correctly rounded
    base = np.float64(baseline)
    g = np.float64(gain)

    def physical_at_rank(rank: int) -> np.float64:
        # The same float64 operations as wfdb's digital-to-physical conversion.
        return (np.float64(sorted_counts.order_statistic(rank)) - base) / g

    low = physical_at_rank(0)
    high = physical_at_rank(n - 1)
    if gain < 0:
        low, high = high, low
        rank_of = lambda rank: physical_at_rank(n - 1 - rank)  # noqa: E731 — descending physical order
    else:
        rank_of = physical_at_rank
    p05, p50, p95 = (numpy_linear_percentile(n, p, rank_of) for p in PERCENTILES)
    return PhysicalStatistics(
        n_valid=n,
        mean=float((np.float64(mean_digital) - base) / g),
        std=float(math.sqrt(squared_deviations / n) / abs(gain)),
        min=float(low),
        max=float(high),
        p05=p05,
        p50=p50,
        p95=p95,
    )


class NarrowHistogram:
    """Counts of every digital value of a format of at most 16 bits, indexed by ``d - low``.

    Bin 0 holds the format's lowest value, which WFDB reserves as the invalid-sample code; it is counted
    (so the file is accounted for) but excluded from every statistic.
    """

    def __init__(self, bits: int, low: int, invalid_is_low: bool = True) -> None:
        self.bits = bits
        self.low = low
        self.invalid_is_low = invalid_is_low
        self.counts = np.zeros(1 << bits, dtype=np.int64)

    def add_bins(self, bins: np.ndarray) -> None:
        """Count a 1-D array of bin indices (``d - low``, non-negative integers)."""
        counted = np.bincount(bins, minlength=len(self.counts))
        self.add_counts(counted)

    def add_counts(self, counted: np.ndarray) -> None:
        if len(counted) != len(self.counts):
            raise CorruptSignalError(
                f"sample value outside the {self.bits}-bit range of the format (bin {len(counted) - 1})"
            )
        self.counts += counted

    def merge(self, other: NarrowHistogram) -> None:
        self.counts += other.counts

    def statistics(self, gain: float, baseline: int) -> PhysicalStatistics:
        counts = self.counts.copy()
        if self.invalid_is_low:
            counts[0] = 0
        occupied = np.flatnonzero(counts)
        if len(occupied) == 0:
            return PhysicalStatistics.empty()
        values = occupied.astype(np.int64) + self.low
        weights = counts[occupied]
        sorted_counts = SortedCounts(values, weights)
        total = int(np.dot(weights, values))  # |w·v| < 2^63 for any file under 2^47 samples
        mean_digital = total / sorted_counts.n
        deviations = values - mean_digital
        squared = float(np.dot(weights.astype(np.float64), deviations * deviations))
        return physical_statistics(sorted_counts, total, squared, gain, baseline)


class WideSignalSummary:
    """Exact statistics of a signal wider than 16 bits, in two passes over its digital blocks.

    Pass one: count, exact integer sum, and a histogram of the high bits. Pass two (given pass one's mean
    and the ranks the percentiles need): the squared deviations from the mean, and a histogram of the low
    bits inside each high-bit bin that holds a wanted rank.
    """

    def __init__(self, bits: int, low: int, invalid: int | None) -> None:
        self.low = low
        self.invalid = invalid
        self.shift = max(bits - _RADIX_LOW_BITS, 0)
        self.high = np.zeros(1 << (bits - self.shift), dtype=np.int64)
        self.n = 0
        self.total = 0
        self.squared = 0.0
        self.low_histograms: dict[int, np.ndarray] = {}

    def _valid_offsets(self, digital: np.ndarray) -> np.ndarray:
        d = digital.astype(np.int64, copy=False)
        if self.invalid is not None:
            d = d[d != self.invalid]
        return d - self.low

    def first_pass(self, digital: np.ndarray) -> None:
        offsets = self._valid_offsets(digital)
        if offsets.size == 0:
            return
        if offsets.min() < 0 or (offsets.max() >> self.shift) >= len(self.high):
            raise CorruptSignalError("sample value outside the range of the format")
        self.n += int(offsets.size)
        self.total += int(offsets.sum()) + self.low * int(offsets.size)  # int64 sum of a block is exact
        self.high += np.bincount(offsets >> self.shift, minlength=len(self.high))

    def wanted_high_bins(self) -> set[int]:
        if self.n == 0:
            return set()
        cumulative = np.cumsum(self.high)
        ranks = set()
        for percent in PERCENTILES:
            q = percent / 100
            virtual = self.n * q + (1 + q * (1 - 1 - 1)) - 1
            base = min(max(math.floor(virtual), 0), self.n - 1)
            ranks.update({base, min(base + 1, self.n - 1)})
        ranks.update({0, self.n - 1})
        ranks.update({self.n - 1 - rank for rank in ranks})  # a negative gain reverses the physical order
        return {int(np.searchsorted(cumulative, rank, side="right")) for rank in ranks}

    def second_pass(self, digital: np.ndarray, mean_digital: float, wanted: Iterable[int]) -> None:
        offsets = self._valid_offsets(digital)
        if offsets.size == 0:
            return
        deviations = (offsets + self.low) - mean_digital
        self.squared += float(np.dot(deviations, deviations))
        high = offsets >> self.shift
        mask_low = (1 << self.shift) - 1
        for bin_index in wanted:
            inside = offsets[high == bin_index] & mask_low
            histogram = self.low_histograms.setdefault(bin_index, np.zeros(1 << self.shift, dtype=np.int64))
            histogram += np.bincount(inside, minlength=len(histogram))

    @property
    def mean_digital(self) -> float:
        return self.total / self.n if self.n else math.nan

    def statistics(self, gain: float, baseline: int) -> PhysicalStatistics:
        if self.n == 0:
            return PhysicalStatistics.empty()
        # Only the bins holding wanted ranks were refined; the others stand as one entry each, which is
        # enough to keep the cumulative counts (and so every wanted rank) exact.
        values: list[int] = []
        counts: list[int] = []
        for bin_index in np.flatnonzero(self.high):
            refined = self.low_histograms.get(int(bin_index))
            if refined is None:
                values.append((int(bin_index) << self.shift) + self.low)
                counts.append(int(self.high[bin_index]))
                continue
            for low_bits in np.flatnonzero(refined):
                values.append((int(bin_index) << self.shift) + int(low_bits) + self.low)
                counts.append(int(refined[low_bits]))
        sorted_counts = SortedCounts(np.array(values, dtype=np.int64), np.array(counts, dtype=np.int64))
        return physical_statistics(sorted_counts, self.total, self.squared, gain, baseline)
