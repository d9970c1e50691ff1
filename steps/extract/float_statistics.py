"""Exact statistics of a stream of float64 values, in bounded memory whatever its length.

For values that are not a WFDB signal's digital integers (a MIMIC-IV numerics CSV's measurements): count,
mean, ``std`` (ddof 0), min, max, and numpy's linear percentiles, reproduced as ``statistics`` reproduces them
for signals. The percentiles are exact order statistics found by a radix select over the values' bits: each
float maps to a 64-bit key that sorts as the floats do; a pass counts the distinct keys while they are few
(at most :data:`MAX_DISTINCT`), else only their top digit (:data:`DIGIT_BITS` bits); each further pass over
the stream counts the next digit inside the buckets that hold a wanted rank, until every wanted key is known.
Measurements take few distinct values, so one pass usually settles it; any stream takes at most six more.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from .statistics import (  # numpy's linear method, and the row of statistics, as for signals
    PERCENTILES,
    PhysicalStatistics,
    lerp,
    percentile_plan,
)

DIGIT_BITS = 12
MAX_DISTINCT = 1 << DIGIT_BITS  # keys a count keeps before it counts a coarser digit: 64 KiB of memory
KEY_BITS = 64
_SIGN = np.uint64(1 << 63)


def order_keys(values: np.ndarray) -> np.ndarray:
    """float64 values (finite; -0.0 taken as 0.0) as uint64 keys in the same order."""
    bits = (np.asarray(values, dtype=np.float64) + 0.0).view(np.uint64)  # + 0.0 turns -0.0 into 0.0
    return np.where(bits & _SIGN, ~bits, bits | _SIGN)


def key_value(key: int) -> float:
    """The float64 whose key is ``key``."""
    bits = np.uint64(key)
    raw = bits & ~_SIGN if bits & _SIGN else ~bits
    return float(np.array([raw], dtype=np.uint64).view(np.float64)[0])


class KeyCounts:
    """How many keys fall in each bucket ``key >> shift``, among the keys whose ``key >> prefix_shift`` is
    ``prefix`` (all keys when ``prefix_shift`` is 64). Exact keys (``shift`` 0) while at most
    :data:`MAX_DISTINCT` are seen, then the digit below the prefix: never more than that many entries."""

    def __init__(self, prefix_shift: int = KEY_BITS, prefix: int = 0) -> None:
        self.prefix_shift = prefix_shift
        self.prefix = prefix
        self.shift = 0
        self.keys = np.empty(0, dtype=np.uint64)  # ascending buckets
        self.counts = np.empty(0, dtype=np.int64)

    def add(self, keys: np.ndarray) -> None:
        if self.prefix_shift < KEY_BITS:
            keys = keys[(keys >> np.uint64(self.prefix_shift)) == np.uint64(self.prefix)]
        if keys.size == 0:
            return
        buckets, counts = np.unique(keys >> np.uint64(self.shift), return_counts=True)
        if self.keys.size:
            merged, where = np.unique(np.concatenate([self.keys, buckets]), return_inverse=True)
            both = np.concatenate([self.counts, counts])
            counts = np.bincount(where, weights=both, minlength=len(merged)).astype(np.int64)
            buckets = merged
        self.keys, self.counts = buckets, counts
        if len(self.keys) > MAX_DISTINCT:  # only at shift 0: one digit has at most MAX_DISTINCT values
            coarser = max(self.prefix_shift - DIGIT_BITS, 0)
            merged, where = np.unique(self.keys >> np.uint64(coarser - self.shift), return_inverse=True)
            self.counts = np.bincount(where, weights=self.counts, minlength=len(merged)).astype(np.int64)
            self.keys, self.shift = merged, coarser


@dataclass
class OrderStatistics:
    """The keys of the wanted ranks (0-based, in ascending order of the values), found pass by pass: after a
    pass that fed every count of :attr:`counts`, :meth:`settle` keeps the ranks whose keys are known and
    refines the buckets of the others."""

    found: dict[int, float] = field(default_factory=dict)  # rank -> value
    pending: list[tuple[KeyCounts, dict[int, int]]] = field(default_factory=list)  # rank -> rank inside

    @classmethod
    def of(cls, counts: KeyCounts, ranks: Iterable[int]) -> OrderStatistics:
        selection = cls()
        selection._locate(counts, {rank: rank for rank in ranks})
        return selection

    @property
    def counts(self) -> list[KeyCounts]:
        return [counts for counts, _ in self.pending]

    def settle(self) -> None:
        pending, self.pending = self.pending, []
        for counts, ranks in pending:
            self._locate(counts, ranks)

    def _locate(self, counts: KeyCounts, ranks: dict[int, int]) -> None:
        cumulative = np.cumsum(counts.counts)
        refine: dict[int, dict[int, int]] = {}
        for rank, inside in ranks.items():
            index = int(np.searchsorted(cumulative, inside, side="right"))
            before = int(cumulative[index - 1]) if index else 0
            bucket = int(counts.keys[index])
            if counts.shift == 0:
                self.found[rank] = key_value(bucket)
            else:
                refine.setdefault(bucket, {})[rank] = inside - before
        for bucket, inner in refine.items():
            self.pending.append((KeyCounts(counts.shift, bucket), inner))


class StreamedFloats:
    """One stream of float64 values (finite), fed batch by batch: pass one with :meth:`add`; then, while
    :meth:`counts_to_refine` names any, another pass feeding each of them the stream's :func:`order_keys`,
    and :meth:`settle`; then :meth:`statistics`."""

    def __init__(self) -> None:
        self.n = 0
        self.total = 0.0  # correctly rounded sum of each batch, added up
        self.mean = 0.0
        self.squared_deviations = 0.0  # about the running mean, merged batch by batch (Chan et al.)
        self.low = math.inf
        self.high = -math.inf
        self.counts = KeyCounts()
        self.selection: OrderStatistics | None = None

    def add(self, values: np.ndarray) -> None:
        if values.size == 0:
            return
        n = int(values.size)
        batch_sum = _sum(values.tolist())
        batch_mean = batch_sum / n
        deviations = values - batch_mean
        batch_squared = float(np.dot(deviations, deviations))
        merged = self.n + n
        delta = batch_mean - self.mean
        self.squared_deviations += batch_squared + delta * delta * self.n * n / merged
        self.mean += delta * n / merged
        self.total = _sum([self.total, batch_sum])
        self.n = merged
        self.low = min(self.low, float(values.min()))
        self.high = max(self.high, float(values.max()))
        self.counts.add(order_keys(values))

    def counts_to_refine(self) -> list[KeyCounts]:
        if self.selection is None:
            self.selection = OrderStatistics.of(self.counts, self._ranks())
        return self.selection.counts

    def settle(self) -> None:
        if self.selection is not None:
            self.selection.settle()

    def _ranks(self) -> set[int]:
        if self.n == 0:
            return set()
        plans = [percentile_plan(self.n, percent) for percent in PERCENTILES]
        return {rank for previous, following, _ in plans for rank in (previous, following)}

    def statistics(self) -> PhysicalStatistics:
        """The statistics columns over the values present."""
        if self.n == 0:
            return PhysicalStatistics.empty()
        assert self.selection is not None and not self.selection.pending, "order statistics not settled"
        found = self.selection.found
        p05, p50, p95 = (
            lerp(found[previous], found[following], gamma)
            for previous, following, gamma in (percentile_plan(self.n, percent) for percent in PERCENTILES)
        )
        return PhysicalStatistics(
            n_valid=self.n,
            mean=self.total / self.n,
            std=math.sqrt(self.squared_deviations / self.n),
            min=self.low,
            max=self.high,
            p05=p05,
            p50=p50,
            p95=p95,
        )


def _sum(values: list[float]) -> float:
    """The correctly rounded sum; ±inf or NaN, as numpy gives, when it overflows the doubles."""
    try:
        return math.fsum(values)
    except (OverflowError, ValueError):  # past the largest double; or inf + -inf
        return float(np.sum(np.array(values, dtype=np.float64)))
