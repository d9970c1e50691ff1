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
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .errors import CorruptSignalError

PERCENTILES = (5.0, 50.0, 95.0)
_RADIX_LOW_BITS = 16  # wider formats: high-bit histogram in pass one, low 16 bits in pass two


@dataclass(frozen=True)
class PhysicalStatistics:
    """The statistics columns of one feature row: a signal's physical values, or a numerics table's column."""

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

    def columns(self) -> dict[str, float]:
        """The row's statistics columns by name, in the feature schema's order."""
        return {
            "n_valid": self.n_valid,
            "mean": self.mean,
            "std": self.std,
            "min": self.min,
            "max": self.max,
            "p05": self.p05,
            "p50": self.p50,
            "p95": self.p95,
        }


class SortedCounts:
    """Distinct digital values with their counts: the sorted signal, compressed. Values ascend."""

    def __init__(self, values: np.ndarray, counts: np.ndarray) -> None:
        self.values = values.astype(np.int64, copy=False)
        self._cumulative = np.cumsum(counts, dtype=np.int64)
        self.n = int(self._cumulative[-1]) if len(self._cumulative) else 0

    def order_statistics(self, ranks: list[int]) -> list[int]:
        """The values of the given 0-based ranks in the sorted signal."""
        return self.values[np.searchsorted(self._cumulative, ranks, side="right")].tolist()


def percentile_plan(n: int, percent: float) -> tuple[int, int, float]:
    """The two ranks and the weight of ``np.nanpercentile(x, percent)`` over ``n`` sorted valid samples.

    Mirrors numpy's linear method (its virtual index ``(n - 1) q``, then ``_get_indexes`` and ``_lerp``) in
    the same floating-point operations.
    """
    q = percent / 100
    virtual = (n - 1) * q  # the linear method's virtual index (numpy's ``_QuantileMethods["linear"]``)
    previous = math.floor(virtual)
    if virtual >= n - 1:
        # numpy stores the clipped index as -1; gamma then weighs a zero difference
        return n - 1, n - 1, virtual + 1
    if virtual < 0:
        return 0, 0, virtual
    return previous, previous + 1, virtual - previous


def lerp(a: float, b: float, gamma: float) -> float:
    """numpy's ``_lerp``: exact at both ends."""
    diff = b - a
    return b - diff * (1 - gamma) if gamma >= 0.5 else a + diff * gamma


def physical_statistics(
    sorted_counts: SortedCounts, sum_digital: int, squared_deviations: float, gain: float, baseline: int
) -> PhysicalStatistics:
    """Physical statistics from exact digital ones. ``squared_deviations`` is Σ(d - mean_d)²."""
    n = sorted_counts.n
    if n == 0:
        return PhysicalStatistics.empty()
    plans = [percentile_plan(n, percent) for percent in PERCENTILES]
    ranks = [0, n - 1, *(rank for previous, following, _ in plans for rank in (previous, following))]
    if gain < 0:  # a negative gain reverses the order: physical rank k is digital rank n - 1 - k
        ranks = [n - 1 - rank for rank in ranks]
    # Python floats are IEEE doubles: the same operations as wfdb's float64 (d - baseline) / gain.
    physical = [(float(d) - baseline) / gain for d in sorted_counts.order_statistics(ranks)]
    p05, p50, p95 = (
        lerp(physical[2 + 2 * i], physical[3 + 2 * i], gamma) for i, (_, _, gamma) in enumerate(plans)
    )
    return PhysicalStatistics(
        n_valid=n,
        mean=(sum_digital / n - baseline) / gain,  # int / int: correctly rounded
        std=math.sqrt(squared_deviations / n) / abs(gain),
        min=physical[0],
        max=physical[1],
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
        ranks = {0, self.n - 1}
        for percent in PERCENTILES:
            previous, following, _ = percentile_plan(self.n, percent)
            ranks.update({previous, following})
        ranks.update({self.n - 1 - rank for rank in ranks})  # a negative gain reverses the physical order
        cumulative = np.cumsum(self.high)
        return {int(b) for b in np.searchsorted(cumulative, sorted(ranks), side="right")}

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
