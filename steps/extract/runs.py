"""Flat stretches: runs of equal consecutive digital samples, found in one streaming pass.

A sample is *flat* when it lies in a run of at least ``min_run`` (``max(2, round(fs))``: a second or more)
consecutive equal digital samples whose value is valid. A record's runs continue across the blocks it is read
in (and across the frame ranges a long record is cut into): :class:`RunState` summarises a stretch of samples
by its first and last runs and the flat samples strictly inside, and two stretches combine exactly. A window's
runs are cut at its edges (:func:`flat_per_window`).

Why not a plain run-length encoding: on a waveform nearly every sample starts a new run, so listing every
run costs 8 bytes a sample. A run of at least ``min_run`` samples fully covers an aligned block of
``min_run // 2`` comparisons with no change in it; blocks with a change are ruled out with one ``any`` over
the comparisons, and runs are listed only around the few blocks left (``long_runs``).
``tests/steps/test_runs.py`` checks both against a direct run-length encoding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Listing the runs around each candidate block costs a few numpy calls; past this many separate places, one
# run-length encoding of the whole stretch is cheaper.
_MAX_CANDIDATE_REGIONS = 16


@dataclass(frozen=True)
class Runs:
    """The maximal runs of at least ``min_run`` equal samples in a stretch (start, end exclusive, value), and
    the lengths of its first and last runs whatever their length."""

    starts: np.ndarray
    ends: np.ndarray
    values: np.ndarray
    first_length: int
    last_length: int


# Below this many samples one run-length encoding is cheaper than ruling blocks out first.
_SHORT = 4096
_EMPTY = np.zeros(0, dtype=np.int64)


def long_runs(samples: np.ndarray, min_run: int) -> Runs:
    """The runs of ``samples`` (1-D, any integer dtype) of at least ``min_run`` equal values."""
    n = len(samples)
    if n == 0:
        return Runs(_EMPTY, _EMPTY, _EMPTY, 0, 0)
    half = min_run // 2  # a run of >= min_run samples spans an aligned block of half + 1 equal samples
    if n <= _SHORT or half < 2:
        starts, ends, first, last = _encode(samples, 0, min_run)
        return Runs(starts, ends, samples[starts].astype(np.int64), first, last)
    first_length = _run_length(samples)
    if first_length == n:
        return _one_run(samples, n, min_run)
    last_length = _run_length(samples[::-1])
    starts, ends = _runs_at_least(samples, min_run, half)
    return Runs(starts, ends, samples[starts].astype(np.int64), first_length, last_length)


def _one_run(samples: np.ndarray, n: int, min_run: int) -> Runs:
    if n >= min_run:
        return Runs(np.array([0]), np.array([n]), samples[:1].astype(np.int64), n, n)
    return Runs(_EMPTY, _EMPTY, _EMPTY, n, n)


def _run_length(samples: np.ndarray) -> int:
    """How many samples from the first equal it, looking at a short prefix first: a waveform changes within
    a few samples."""
    for size in (64, len(samples)):
        head = samples[:size]
        changed = np.flatnonzero(head != samples[0])
        if len(changed):
            return int(changed[0])
    return len(samples)


def _runs_at_least(samples: np.ndarray, min_run: int, half: int) -> tuple[np.ndarray, np.ndarray]:
    """Starts and ends of the runs of at least ``min_run`` samples.

    Block ``j`` is samples ``[j half, (j + 1) half]``; a run of ``min_run`` (>= 2 half) equal samples covers a
    whole block, whose ends are then equal. Blocks whose ends differ are ruled out from every ``half``-th
    sample alone; the few left are checked whole, and runs are encoded around the quiet ones."""
    blocks = (len(samples) - 1) // half
    coarse = samples[: blocks * half + 1 : half]
    candidates = np.flatnonzero(coarse[1:] == coarse[:-1])
    if len(candidates) * half > len(samples) // 4:  # a flat signal: encoding it whole is as cheap
        starts, ends, _, _ = _encode(samples, 0, min_run)
        return starts, ends
    if len(candidates) == 0:
        return _EMPTY, _EMPTY
    inside = samples[candidates[:, None] * half + np.arange(half + 1)]
    quiet = candidates[(inside == inside[:, :1]).all(axis=1)]
    if len(quiet) == 0:
        return _EMPTY, _EMPTY
    # Consecutive quiet blocks form one place; its runs end within the block on either side of it.
    breaks = np.flatnonzero(np.diff(quiet) > 1)
    firsts = np.concatenate(([quiet[0]], quiet[breaks + 1]))
    lasts = np.concatenate((quiet[breaks], [quiet[-1]]))
    if len(firsts) > _MAX_CANDIDATE_REGIONS:
        starts, ends, _, _ = _encode(samples, 0, min_run)
        return starts, ends
    found = []
    for lo, hi in zip(
        np.maximum((firsts - 1) * half, 0).tolist(),
        np.minimum((lasts + 2) * half + 1, len(samples)).tolist(),
        strict=True,
    ):
        starts, ends, _, _ = _encode(samples[lo:hi], lo, min_run)
        # A run cut by the place's edge (not the stretch's) is shorter than min_run: never kept.
        found.append((starts, ends))
    starts = np.concatenate([f[0] for f in found])
    ends = np.concatenate([f[1] for f in found])
    starts, unique = np.unique(starts, return_index=True)  # neighbouring places may overlap by a block
    return starts, ends[unique]


def _encode(samples: np.ndarray, offset: int, min_run: int) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Runs of ``samples`` (which start at ``offset``) of at least ``min_run``, and the lengths of the first
    and last runs: a plain run-length encoding."""
    n = len(samples)
    where = np.flatnonzero(samples[1:] != samples[:-1]) + 1  # where a new run starts
    starts = np.concatenate(([0], where))
    ends = np.concatenate((where, [n]))
    long = (ends - starts) >= min_run
    first = int(where[0]) if len(where) else n
    last = n - int(where[-1]) if len(where) else n
    return (starts[long] + offset).astype(np.int64), (ends[long] + offset).astype(np.int64), first, last


@dataclass(frozen=True)
class RunState:
    """A stretch of samples as far as its flat samples go: its length, its first and last runs (value,
    length; the same run when the stretch never changes), and the flat samples of the runs strictly between
    them. Stretches combine in order (:meth:`then`), so a record's count does not depend on how it was cut."""

    length: int
    first_value: int
    first_length: int
    last_value: int
    last_length: int
    inside: int  # flat samples of the runs that touch neither end

    @property
    def single(self) -> bool:
        return self.first_length == self.length

    def then(self, following: RunState, min_run: int, invalid: int | None) -> RunState:
        """This stretch followed by ``following``."""
        if self.length == 0:
            return following
        if following.length == 0:
            return self

        def flat(value: int, length: int) -> int:
            return _flat(value, length, min_run, invalid)

        joined = self.last_value == following.first_value
        if joined and self.single and following.single:
            total = self.length + following.length
            return RunState(total, self.first_value, total, self.last_value, total, 0)
        if joined and self.single:
            first = self.length + following.first_length
            return RunState(
                self.length + following.length,
                self.first_value,
                first,
                following.last_value,
                following.last_length,
                following.inside,
            )
        if joined and following.single:
            last = self.last_length + following.length
            return RunState(
                self.length + following.length,
                self.first_value,
                self.first_length,
                following.last_value,
                last,
                self.inside,
            )
        inside = self.inside + following.inside
        if joined:
            inside += flat(self.last_value, self.last_length + following.first_length)
        else:
            if not self.single:
                inside += flat(self.last_value, self.last_length)
            if not following.single:
                inside += flat(following.first_value, following.first_length)
        return RunState(
            self.length + following.length,
            self.first_value,
            self.first_length,
            following.last_value,
            following.last_length,
            inside,
        )

    def flat(self, min_run: int, invalid: int | None) -> int:
        """The stretch's flat samples, its ends being the record's."""
        if self.length == 0:
            return 0
        if self.single:
            return _flat(self.first_value, self.length, min_run, invalid)
        return (
            self.inside
            + _flat(self.first_value, self.first_length, min_run, invalid)
            + _flat(self.last_value, self.last_length, min_run, invalid)
        )


EMPTY_RUNS = RunState(0, 0, 0, 0, 0, 0)


def _flat(value: int, length: int, min_run: int, invalid: int | None) -> int:
    """The flat samples of one run: all of them if it is long enough and its value valid."""
    return length if length >= min_run and value != invalid else 0


def run_state(samples: np.ndarray, runs: Runs, min_run: int, invalid: int | None) -> RunState:
    """The :class:`RunState` of a stretch whose long runs are ``runs``."""
    n = len(samples)
    if n == 0:
        return EMPTY_RUNS
    valid = runs.values != invalid if invalid is not None else np.ones(len(runs.values), dtype=bool)
    touching = (runs.starts == 0) | (runs.ends == n)
    inside = int((runs.ends - runs.starts)[valid & ~touching].sum())
    return RunState(n, int(samples[0]), runs.first_length, int(samples[-1]), runs.last_length, inside)


def flat_per_window(
    runs: Runs, window_length: int, windows: int, invalid: int | None, min_run: int
) -> np.ndarray:
    """Flat samples of each of ``windows`` consecutive windows of ``window_length`` samples (the last may be
    shorter) that the stretch of ``runs`` holds from its start, each run cut at the windows' edges."""
    flat = np.zeros(windows, dtype=np.int64)
    keep = runs.values != invalid if invalid is not None else np.ones(len(runs.values), dtype=bool)
    starts, ends = runs.starts[keep], runs.ends[keep]
    if len(starts) == 0:
        return flat
    first = starts // window_length
    last = (ends - 1) // window_length
    alone = first == last
    np.add.at(flat, first[alone], ends[alone] - starts[alone])  # a run of >= min_run inside one window
    split = ~alone
    if split.any():
        head = (first[split] + 1) * window_length - starts[split]
        tail = ends[split] - last[split] * window_length
        np.add.at(flat, first[split], np.where(head >= min_run, head, 0))
        np.add.at(flat, last[split], np.where(tail >= min_run, tail, 0))
        if window_length >= min_run:  # the windows a run covers whole: full windows, never the last one
            covered = np.zeros(windows + 1, dtype=np.int64)
            np.add.at(covered, first[split] + 1, 1)
            np.add.at(covered, last[split], -1)
            flat += np.cumsum(covered)[:windows] * window_length
    return flat
