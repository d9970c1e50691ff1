"""One signal of a record, summarised as its samples stream past: the record's statistics and quality, and
its windows, in one pass (two for the wide formats' record statistics).

A signal's samples are every sample it has at its own rate: ``samples_per_frame`` of them a frame, so
``fs`` = the frame rate x samples per frame. Skew is applied as ``wfdb.rdrecord(smooth_frames=False)``
applies it: a signal of skew ``s`` starts ``s`` frames into its file, and its last ``s`` frames are what wfdb
reads past the file's end: ``s x samples_per_frame - s`` samples decoded from zero bytes, then ``s`` invalid
samples.

Values arrive as the reader stores them (``signal_files``): histogram bins ``d - low`` for the narrow formats,
digital samples for the wide ones; ``offset`` turns one into the other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .errors import CorruptSignalError, UnsupportedFormatError
from .runs import EMPTY_RUNS, RunState, flat_per_window, long_runs, run_state
from .statistics import NarrowHistogram, PhysicalStatistics, WideSignalSummary
from .window_statistics import (
    MAX_HISTOGRAM_CELLS,
    Scale,
    WindowColumns,
    from_histograms,
    from_samples,
    window_histograms,
)


@dataclass(frozen=True)
class SignalLayout:
    """What summarising one signal needs to know about it."""

    index: int
    fs: float  # its own rate: the record's frame rate x samples_per_frame
    n_samples: int  # frames x samples_per_frame
    samples_per_frame: int
    skew: int
    narrow: bool  # values are histogram bins d - low, else digital samples
    bits: int  # that the digital values span
    low: int  # the format's lowest digital value
    zero_value: int  # the value wfdb decodes from zero bytes read past the file's end
    scale: Scale  # in digital values
    window_length: int  # samples per window, 0: no windows

    @property
    def offset(self) -> int:
        """digital = value + offset."""
        return self.low if self.narrow else 0

    def clipped(self, counts: np.ndarray) -> int:
        """Samples at the format's valid extremes, in a histogram of bins (narrow formats)."""
        return sum(
            int(counts[extreme - self.offset])
            for extreme in {self.scale.clip_low, self.scale.clip_high}
            if 0 <= extreme - self.offset < len(counts)
        )

    @property
    def min_run(self) -> int:
        """Equal samples in a row that make a flat run: a second's worth, at least 2."""
        return max(2, round(self.fs))

    @property
    def invalid_value(self) -> int | None:
        invalid = self.scale.invalid
        return None if invalid is None else invalid - self.offset

    @property
    def skipped(self) -> int:
        """Samples at the start of the file's stream that belong to the skew, not to the signal."""
        return self.skew * self.samples_per_frame

    def padding(self) -> np.ndarray:
        """The samples after the file's last frame: what wfdb's skew leaves there."""
        skew = min(self.skew, self.n_samples)
        zeros = max(0, min(skew * self.samples_per_frame, self.n_samples) - skew)
        invalid = self.invalid_value if self.invalid_value is not None else self.zero_value
        return np.concatenate(
            (np.full(zeros, self.zero_value, dtype=np.int64), np.full(skew, invalid, dtype=np.int64))
        )


def window_length(window_seconds: float, fs: float) -> int:
    """Samples per window: ``max(1, round(W x fs))``; 0 when windows are off."""
    return 0 if window_seconds <= 0 else max(1, round(window_seconds * fs))


@dataclass
class SignalWindows:
    """A signal's windows so far: their first index and their columns."""

    first_index: int
    columns: list[WindowColumns] = field(default_factory=list)
    flat: list[np.ndarray] = field(default_factory=list)
    lengths: list[np.ndarray] = field(default_factory=list)


@dataclass(frozen=True)
class SignalResult:
    statistics: PhysicalStatistics
    clip_fraction: float
    flat_fraction: float
    windows: SignalWindows | None
    whole_window: int = 0  # > 0: the signal is one window of this many samples, whose rows are the record's


# Windows longer than this many samples are not held: a narrow format's are summarised as they stream past
# (a histogram and runs a window); a wide format's, which need two passes, are refused.
LONG_WINDOW = 1 << 20


class _OpenWindow:
    """A long window still filling: its histogram, runs and samples so far."""

    def __init__(self, layout: SignalLayout) -> None:
        self.histogram = NarrowHistogram(layout.bits, layout.offset, layout.scale.invalid is not None)
        self.runs: RunState = EMPTY_RUNS
        self.length = 0


class SignalSummariser:
    """Takes a signal's values in order (``feed``), in blocks of any size; ``result`` once all are in.

    ``first_sample`` is where its values start in the signal (a frame range of a long record starts on a
    window's edge); summarisers of consecutive ranges ``merge`` into the record's.
    """

    def __init__(self, layout: SignalLayout, first_sample: int = 0) -> None:
        self.layout = layout
        self.first_sample = first_sample
        self.to_skip = layout.skipped if first_sample == 0 else 0
        self.seen = 0
        self.runs: RunState = EMPTY_RUNS
        self.clip = 0
        self.histogram: NarrowHistogram | None = None
        self.wide: WideSignalSummary | None = None
        if layout.narrow:
            self.histogram = NarrowHistogram(layout.bits, layout.offset, layout.scale.invalid is not None)
        else:
            self.wide = WideSignalSummary(layout.bits, layout.low, layout.scale.invalid)
        length = layout.window_length
        self.windows = SignalWindows(first_sample // length) if length else None
        self.pending = np.zeros(0, dtype=np.int64)  # values of a window not yet complete
        self.open: _OpenWindow | None = None  # a long window, summarised as it fills
        if length > LONG_WINDOW:
            if not layout.narrow:
                raise UnsupportedFormatError(
                    f"signal {layout.index}: windows of {length:,} samples of a {layout.bits}-bit format are "
                    f"more than {LONG_WINDOW:,}, which a wide format's exact percentiles cannot stream: "
                    "choose a shorter window length"
                )
            self.open = _OpenWindow(layout)

    def feed(self, values: np.ndarray) -> None:
        if self.to_skip:
            skipped = min(self.to_skip, len(values))
            values = values[skipped:]
            self.to_skip -= skipped
        if len(values) == 0:
            return
        self.seen += len(values)
        length = self.layout.window_length
        if not length:
            self._take(values, windows=0)
            return
        if self.open is not None:
            self._take_long(values)
            return
        if len(self.pending):
            values = np.concatenate((self.pending, values))
        complete = len(values) // length
        if complete:
            self._take(values[: complete * length], windows=complete)
        self.pending = values[complete * length :].copy()

    def finish(self, last: bool) -> None:
        """No more values from the file: ``last`` when this summariser ends the signal (then wfdb's skew
        padding follows, and a partial last window is closed)."""
        if not last:
            if len(self.pending) or (self.open is not None and self.open.length):
                raise CorruptSignalError("internal error: a frame range ends inside a window")
            return
        if self.layout.skew:
            self.to_skip = 0
            self.feed(self.layout.padding())
        if self.open is not None and self.open.length:
            assert self.windows is not None
            if self.windows.columns or self.first_sample:  # else the one window is the record: see result
                self._close_window()
        if len(self.pending):
            whole = self.windows is not None and not self.windows.columns and self.first_sample == 0
            self._take(self.pending, windows=0 if whole else 1, partial=True)
            self.pending = self.pending[:0]

    def _take(self, values: np.ndarray, windows: int, partial: bool = False) -> None:
        """Values that continue the signal; ``windows`` > 0: they are that many whole windows (or one partial
        last window)."""
        layout = self.layout
        runs = long_runs(values, layout.min_run)
        self.runs = self.runs.then(
            run_state(values, runs, layout.min_run, layout.invalid_value),
            layout.min_run,
            layout.invalid_value,
        )
        length = len(values) if partial else layout.window_length
        rows = values.reshape(windows, length) if windows else None
        if self.histogram is not None:
            if rows is None:
                self.histogram.add_bins(values)
            else:
                self._narrow_windows(rows)
        else:
            assert self.wide is not None
            self.wide.first_pass(values)
            self.clip += int(
                np.count_nonzero((values == layout.scale.clip_low) | (values == layout.scale.clip_high))
            )
            if rows is not None:
                self._add_windows(from_samples(rows.astype(np.int64, copy=False), layout.scale), rows)
        if rows is not None:
            assert self.windows is not None
            self.windows.flat.append(
                flat_per_window(runs, length, windows, layout.invalid_value, layout.min_run)
            )

    def _take_long(self, values: np.ndarray) -> None:
        """Values of long windows: each piece up to a window's edge counted into the record and the window."""
        layout = self.layout
        assert self.histogram is not None
        min_run, invalid = layout.min_run, layout.invalid_value
        position = 0
        while position < len(values):
            open_window = self.open
            assert open_window is not None
            piece = values[position : position + layout.window_length - open_window.length]
            state = run_state(piece, long_runs(piece, min_run), min_run, invalid)
            self.runs = self.runs.then(state, min_run, invalid)
            counts = np.bincount(piece, minlength=len(self.histogram.counts))
            self.histogram.add_counts(counts)
            open_window.histogram.add_counts(counts)
            open_window.runs = open_window.runs.then(state, min_run, invalid)
            open_window.length += len(piece)
            position += len(piece)
            if open_window.length == layout.window_length:
                self._close_window()

    def _close_window(self) -> None:
        """The long window's row, from its histogram and runs; the next one opens."""
        layout = self.layout
        open_window = self.open
        assert open_window is not None and self.windows is not None
        statistics = open_window.histogram.statistics(layout.scale.gain, layout.scale.baseline)
        clip = layout.clipped(open_window.histogram.counts)
        valid = max(statistics.n_valid, 1)
        self.windows.columns.append(
            WindowColumns(
                np.array([statistics.n_valid]),
                *(np.array([value], dtype=np.float64) for value in (
                    statistics.mean, statistics.std, statistics.min, statistics.max,
                    statistics.p05, statistics.p50, statistics.p95,
                    clip / valid if statistics.n_valid else np.nan,
                )),
            )
        )  # fmt: skip
        self.windows.flat.append(np.array([open_window.runs.flat(layout.min_run, layout.invalid_value)]))
        self.windows.lengths.append(np.array([open_window.length], dtype=np.int64))
        self.open = _OpenWindow(layout)

    def _narrow_windows(self, rows: np.ndarray) -> None:
        assert self.histogram is not None
        low, high = int(rows.min()), int(rows.max())
        span = high - low + 1
        step = max(1, MAX_HISTOGRAM_CELLS // span)
        total = np.zeros(span, dtype=np.int64)
        for start in range(0, len(rows), step):
            counts = window_histograms(rows[start : start + step], low, span)
            total += counts.sum(axis=0)
            columns = from_histograms(counts, low + self.layout.offset, self.layout.scale)
            self._add_windows(columns, rows[start : start + step])
        full = np.zeros(len(self.histogram.counts), dtype=np.int64)
        if low < 0 or high >= len(full):
            raise CorruptSignalError(
                f"sample value outside the {self.layout.bits}-bit range of the format (bin {high})"
            )
        full[low : high + 1] = total
        self.histogram.add_counts(full)

    def _add_windows(self, columns: WindowColumns, rows: np.ndarray) -> None:
        assert self.windows is not None
        self.windows.columns.append(columns)
        self.windows.lengths.append(np.full(len(rows), rows.shape[1], dtype=np.int64))

    def merge(self, following: SignalSummariser) -> None:
        """Append the summariser of the frame range that follows this one."""
        layout = self.layout
        self.runs = self.runs.then(following.runs, layout.min_run, layout.invalid_value)
        self.seen += following.seen
        self.clip += following.clip
        if self.histogram is not None and following.histogram is not None:
            self.histogram.merge(following.histogram)
        if self.windows is not None and following.windows is not None:
            self.windows.columns += following.windows.columns
            self.windows.flat += following.windows.flat
            self.windows.lengths += following.windows.lengths

    def second_pass(self, values: np.ndarray, wanted: set[int]) -> None:
        """Wide formats: the record's second pass (``WideSignalSummary``), skew applied as in the first."""
        assert self.wide is not None
        if self.to_skip:
            skipped = min(self.to_skip, len(values))
            values = values[skipped:]
            self.to_skip -= skipped
        if self.wide.n:
            self.wide.second_pass(values, self.wide.mean_digital, wanted)

    def restart(self) -> None:
        """Before the second pass: the skew's first samples are skipped again."""
        self.to_skip = self.layout.skipped if self.first_sample == 0 else 0

    def finish_second_pass(self, wanted: set[int]) -> None:
        if self.layout.skew:
            self.to_skip = 0
            self.second_pass(self.layout.padding(), wanted)

    def result(self) -> SignalResult:
        layout = self.layout
        if self.histogram is not None:
            statistics = self.histogram.statistics(layout.scale.gain, layout.scale.baseline)
            clip = layout.clipped(self.histogram.counts)
        else:
            assert self.wide is not None
            statistics = self.wide.statistics(layout.scale.gain, layout.scale.baseline)
            clip = self.clip
        flat = self.runs.flat(layout.min_run, layout.invalid_value)
        valid = statistics.n_valid
        clip_fraction = clip / valid if valid else math.nan
        flat_fraction = flat / valid if valid else math.nan
        windows = self.windows
        # One window holding the whole signal: its statistics are the record's.
        whole = windows is not None and not windows.columns and self.seen > 0
        return SignalResult(statistics, clip_fraction, flat_fraction, windows, self.seen if whole else 0)

    def wanted_high_bins(self) -> set[int]:
        assert self.wide is not None
        return self.wide.wanted_high_bins()
