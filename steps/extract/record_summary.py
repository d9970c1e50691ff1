"""Summarising one record (or one frame range of it): a feature row of exact statistics and quality per
signal, and its window rows, from one streaming pass over its signal files."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from steps.contract.outputs import GROUP_COLUMN

from .errors import CorruptSignalError
from .header import RecordHeader
from .signal_files import (
    SignalFile,
    checked_length,
    format_low,
    invalid_value,
    is_narrow,
    iter_blocks,
    signal_files_of,
    value_bits,
    zero_value,
)
from .signal_summary import SignalLayout, SignalResult, SignalSummariser, window_length
from .statistics import PhysicalStatistics
from .wfdb_spec import SAMPLE_VALUE_RANGE
from .window_parts import WindowBatch
from .window_statistics import Scale, WindowColumns


@dataclass(frozen=True)
class RecordStart:
    """When a record starts, as the outputs give it: a date and time if known, and the time of day (ISO
    text, to the millisecond) whenever the header gives a time."""

    date_time: dt.datetime | None
    time_of_day: str | None


@dataclass(frozen=True)
class RecordTask:
    """A record found by discovery, with everything a worker needs to summarise it."""

    group: str
    record_set: str
    record: str
    kind: str  # "waveform" | "numerics"
    header_path: Path
    relative_path: str  # of the header, from the group folder: what errors.jsonl reports
    header: RecordHeader
    start: RecordStart
    data_bytes: int  # sizes of its signal files, for balancing


# A record summarised, or one frame range of it: each stored signal's summariser, by signal index.
Summarisers = dict[int, SignalSummariser]


def record_length(task: RecordTask) -> tuple[int, list[SignalFile], int]:
    """Check every signal file against the header: the record's frames, its signal files, their bytes."""
    header = task.header
    files = signal_files_of(header, task.header_path.parent)
    checked = [checked_length(signal_file, header.sig_len) for signal_file in files]
    lengths = {frames for frames, _ in checked}
    if len(lengths) > 1:
        raise CorruptSignalError(f"signal files of {task.record} hold different lengths: {sorted(lengths)}")
    sig_len = lengths.pop() if lengths else (header.sig_len or 0)
    return sig_len, files, sum(size for _, size in checked)


def signal_layouts(task: RecordTask, sig_len: int, window_seconds: float) -> dict[int, SignalLayout]:
    """How each stored signal of the record is summarised."""
    layouts = {}
    for spec in task.header.signals:
        if not spec.stored_in_file:
            continue
        fmt = spec.fmt
        low = format_low(fmt)
        invalid = invalid_value(fmt)
        high = int(SAMPLE_VALUE_RANGE[fmt][1])
        fs = float(task.header.fs) * spec.samps_per_frame
        layouts[spec.index] = SignalLayout(
            index=spec.index,
            fs=fs,
            n_samples=sig_len * spec.samps_per_frame,
            samples_per_frame=spec.samps_per_frame,
            skew=spec.skew,
            narrow=is_narrow(fmt),
            bits=value_bits(fmt),
            low=low,
            zero_value=zero_value(fmt) - (low if is_narrow(fmt) else 0),
            scale=Scale(
                gain=spec.adc_gain,
                baseline=spec.baseline,
                invalid=invalid,
                clip_low=low if invalid is None else invalid + 1,
                clip_high=high,
            ),
            window_length=window_length(window_seconds, fs),
        )
    return layouts


def summarise_record(
    task: RecordTask, window_seconds: float = 0.0, windows: WindowBatch | None = None
) -> tuple[list[dict[str, Any]], int]:
    """Feature rows of a whole record and the signal bytes read; its window rows go to ``windows``."""
    sig_len, files, size = record_length(task)
    layouts = signal_layouts(task, sig_len, window_seconds)
    summarisers = {index: SignalSummariser(layout) for index, layout in layouts.items()}
    for signal_file in files:
        _read_range(signal_file, task.header_path, 0, sig_len, summarisers)
        for spec in signal_file.signals:
            summarisers[spec.index].finish(last=True)
        if not is_narrow(signal_file.fmt):
            _second_pass(signal_file, task.header_path, sig_len, summarisers)
    results = {index: summariser.result() for index, summariser in summarisers.items()}
    if windows is not None:
        window_rows(task, layouts, results, windows)
    return feature_rows(task, sig_len, results), size


def summarise_range(
    task: RecordTask, frame_start: int, frame_end: int, window_seconds: float
) -> tuple[Summarisers, int]:
    """The summarisers of one frame range of a splittable record, to be merged in order by the caller."""
    sig_len, files, _ = record_length(task)
    if frame_end > sig_len:
        raise CorruptSignalError(
            f"frame range {frame_start}-{frame_end} beyond the record's {sig_len} frames"
        )
    layouts = signal_layouts(task, sig_len, window_seconds)
    summarisers = {
        index: SignalSummariser(layout, frame_start * layout.samples_per_frame)
        for index, layout in layouts.items()
    }
    read = 0
    for signal_file in files:
        _read_range(signal_file, task.header_path, frame_start, frame_end, summarisers)
        for spec in signal_file.signals:
            summarisers[spec.index].finish(last=frame_end == sig_len)
        read += int((frame_end - frame_start) * signal_file.frame_bytes)
    return summarisers, read


def merged_rows(
    task: RecordTask,
    sig_len: int,
    ranges: list[Summarisers],
    window_seconds: float,
    windows: WindowBatch | None,
) -> list[dict[str, Any]]:
    """The rows of a record summarised in frame ranges, from their summarisers in order; its window rows go
    to ``windows``."""
    first = ranges[0]
    for following in ranges[1:]:
        for index, summariser in following.items():
            first[index].merge(summariser)
    layouts = signal_layouts(task, sig_len, window_seconds)
    results = {index: summariser.result() for index, summariser in first.items()}
    if windows is not None:
        window_rows(task, layouts, results, windows)
    return feature_rows(task, sig_len, results)


def split_step(task: RecordTask, window_seconds: float) -> int | None:
    """Frames a split of the record must fall on a multiple of (so that no window is cut), or None when the
    record cannot be split: a wide format (two passes), skew (a signal's samples are not the file's frames),
    or windows of no common frame boundary short enough to be useful."""
    stored = [s for s in task.header.signals if s.stored_in_file]
    if not stored or task.header.sig_len is None:
        return None
    if not all(is_narrow(s.fmt) for s in stored) or any(s.skew for s in stored):
        return None
    step = 1
    for spec in stored:
        length = window_length(window_seconds, float(task.header.fs) * spec.samps_per_frame)
        if length:
            frames = length // math.gcd(length, spec.samps_per_frame)
            step = step * frames // math.gcd(step, frames)
            if step > task.header.sig_len:
                return None
    return step


def _read_range(
    signal_file: SignalFile, header_path: Path, frame_start: int, frame_end: int, summarisers: Summarisers
) -> None:
    chosen = [summarisers[spec.index] for spec in signal_file.signals]
    for block in iter_blocks(signal_file, header_path, frame_start, frame_end):
        for summariser, samples in zip(chosen, block, strict=True):
            summariser.feed(samples)


def _second_pass(signal_file: SignalFile, header_path: Path, sig_len: int, summarisers: Summarisers) -> None:
    """Wide formats: the second pass of their record statistics (``statistics.WideSignalSummary``)."""
    chosen = [summarisers[spec.index] for spec in signal_file.signals]
    wanted = [summariser.wanted_high_bins() for summariser in chosen]
    if not any(wanted):
        return
    for summariser in chosen:
        summariser.restart()
    for block in iter_blocks(signal_file, header_path, 0, sig_len):
        for summariser, samples, bins in zip(chosen, block, wanted, strict=True):
            summariser.second_pass(samples, bins)
    for summariser, bins in zip(chosen, wanted, strict=True):
        summariser.finish_second_pass(bins)


def feature_rows(task: RecordTask, sig_len: int, results: dict[int, SignalResult]) -> list[dict[str, Any]]:
    header = task.header
    rows = []
    for spec in header.signals:
        result = results.get(spec.index)  # a "~" signal has no samples
        stats = result.statistics if result else PhysicalStatistics.empty()
        fs = float(header.fs) * spec.samps_per_frame
        n_samples = sig_len * spec.samps_per_frame
        rows.append(
            {
                GROUP_COLUMN: task.group,
                "record_set": task.record_set,
                "record": task.record,
                "kind": task.kind,
                "signal_index": spec.index,
                "signal": spec.name,
                "units": spec.units,
                "fs": fs,
                "n_samples": n_samples,
                "duration_s": sig_len / float(header.fs),
                **stats.columns(),
                "clip_fraction": result.clip_fraction if result else math.nan,
                "flat_fraction": result.flat_fraction if result else math.nan,
                "start_time": task.start.date_time,
                "start_time_of_day": task.start.time_of_day,
            }
        )
    return rows


def window_rows(
    task: RecordTask, layouts: dict[int, SignalLayout], results: dict[int, SignalResult], batch: WindowBatch
) -> None:
    """Add the record's window rows, signal by signal, to ``batch``."""
    names = {spec.index: spec.name for spec in task.header.signals}
    for index, result in results.items():
        name = names[index]
        if result.whole_window:
            stats = result.statistics
            keys = (task.group, task.record_set, task.record, task.kind, index, name)
            batch.add_row(
                (*keys, 0, 0.0, result.whole_window, stats.n_valid, stats.mean, stats.std, stats.min,
                 stats.max, stats.p05, stats.p50, stats.p95, result.clip_fraction, result.flat_fraction)
            )  # fmt: skip
            continue
        windows = result.windows
        if windows is None or not windows.columns:
            continue
        columns = WindowColumns.concatenate(windows.columns)
        count = len(columns.n_valid)
        layout = layouts[index]
        window_index = np.arange(windows.first_index, windows.first_index + count, dtype=np.int64)
        flat = np.concatenate(windows.flat)
        n_valid = columns.n_valid
        batch.add_columns(
            count,
            (task.group, task.record_set, task.record, task.kind, index, name),
            {
                "window_index": window_index,
                "window_start_s": window_index * layout.window_length / layout.fs,
                "n_samples": np.concatenate(windows.lengths),
                "n_valid": n_valid,
                "mean": columns.mean,
                "std": columns.std,
                "min": columns.min,
                "max": columns.max,
                "p05": columns.p05,
                "p50": columns.p50,
                "p95": columns.p95,
                "clip_fraction": columns.clip_fraction,
                "flat_fraction": np.where(n_valid > 0, flat / np.maximum(n_valid, 1), np.nan),
            },
        )
