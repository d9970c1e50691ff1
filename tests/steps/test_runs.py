"""Flat runs found by ruling blocks out first (``steps.extract.runs``) equal a direct run-length encoding,
and stretches combine in order into the record's count whatever the cuts."""

from __future__ import annotations

import numpy as np
import pytest

from steps.extract.runs import EMPTY_RUNS, flat_per_window, long_runs, run_state


def encoded(samples: np.ndarray, min_run: int) -> tuple[list[int], list[int]]:
    starts, ends = [], []
    start = 0
    for index in range(1, len(samples) + 1):
        if index == len(samples) or samples[index] != samples[start]:
            if index - start >= min_run:
                starts.append(start)
                ends.append(index)
            start = index
    return starts, ends


def signal(seed: int, n: int, runs: int, values: int = 4) -> np.ndarray:
    rng = np.random.default_rng(seed)
    samples = rng.integers(0, values, n)  # few values: many short runs by chance; many: almost none
    for _ in range(runs):
        start = int(rng.integers(0, n))
        samples[start : start + int(rng.integers(1, 400))] = int(rng.integers(0, 4))
    return samples


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("min_run", [2, 3, 7, 125, 250])
def test_long_runs_equal_a_direct_encoding(seed: int, min_run: int) -> None:
    for n in (1, 5, 300, 5000, 20_000, 50_001):
        for values in (4, 256):
            samples = signal(seed, n, runs=seed * 3, values=values)
            runs = long_runs(samples, min_run)
            assert (runs.starts.tolist(), runs.ends.tolist()) == encoded(samples, min_run)
            starts, _ = encoded(samples, 1)
            assert runs.first_length == (starts[1] if len(starts) > 1 else n)
            assert runs.last_length == n - starts[-1]


@pytest.mark.parametrize("seed", range(8))
def test_a_stretch_cut_anywhere_gives_the_same_flat_count(seed: int) -> None:
    rng = np.random.default_rng(seed)
    samples = signal(seed, 6000, runs=20)
    invalid = 0
    min_run = 125
    whole = run_state(samples, long_runs(samples, min_run), min_run, invalid).flat(min_run, invalid)
    valid = samples != invalid
    starts, ends = encoded(samples, min_run)
    assert whole == sum(e - s for s, e in zip(starts, ends, strict=True) if valid[s])
    cuts = sorted(set(rng.integers(1, len(samples), 6).tolist()))
    state = EMPTY_RUNS
    for lo, hi in zip([0, *cuts], [*cuts, len(samples)], strict=True):
        piece = samples[lo:hi]
        state = state.then(run_state(piece, long_runs(piece, min_run), min_run, invalid), min_run, invalid)
    assert state.flat(min_run, invalid) == whole


def test_flat_per_window_cuts_runs_at_the_edges() -> None:
    samples = np.arange(1000) % 7  # never equal neighbours
    samples[90:260] = 5  # windows of 100: parts of 10, 100 and 60
    runs = long_runs(samples, 50)
    assert flat_per_window(runs, 100, 10, None, 50).tolist() == [0, 100, 60, 0, 0, 0, 0, 0, 0, 0]
    assert flat_per_window(runs, 100, 10, 5, 50).tolist() == [0] * 10  # the invalid value is never flat
