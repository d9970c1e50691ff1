"""Summarising one record (or one frame range of it): feature rows of exact statistics, one per signal."""

from __future__ import annotations

import datetime as dt
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
)
from .statistics import NarrowHistogram, PhysicalStatistics, WideSignalSummary


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

    @property
    def splittable(self) -> bool:
        """Narrow formats only: their histograms merge exactly across frame ranges."""
        stored = [s for s in self.header.signals if s.stored_in_file]
        return bool(stored) and self.header.sig_len is not None and all(is_narrow(s.fmt) for s in stored)


Histograms = dict[int, NarrowHistogram]

# Below this many frames, summing the 65,536-bin joint histogram's margins costs more than it saves.
JOINT_HISTOGRAM_MIN_FRAMES = 1 << 16


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


def summarise_record(task: RecordTask) -> tuple[list[dict[str, Any]], int]:
    """Feature rows of a whole record, and the signal bytes read."""
    sig_len, files, size = record_length(task)
    statistics: dict[int, PhysicalStatistics] = {}
    for signal_file in files:
        if is_narrow(signal_file.fmt):
            histograms = histograms_of_range(signal_file, task.header_path, 0, sig_len)
            for spec in signal_file.signals:
                statistics[spec.index] = histograms[spec.index].statistics(spec.adc_gain, spec.baseline)
        else:
            statistics.update(_wide_statistics(signal_file, task.header_path, sig_len))
    return feature_rows(task, sig_len, statistics), size


def summarise_range(task: RecordTask, frame_start: int, frame_end: int) -> tuple[Histograms, int]:
    """Histograms of one frame range of a splittable record; merged by the caller across ranges."""
    sig_len, files, _ = record_length(task)
    if frame_end > sig_len:
        raise CorruptSignalError(
            f"frame range {frame_start}-{frame_end} beyond the record's {sig_len} frames"
        )
    histograms: Histograms = {}
    read = 0
    for signal_file in files:
        histograms.update(histograms_of_range(signal_file, task.header_path, frame_start, frame_end))
        read += int((frame_end - frame_start) * signal_file.frame_bytes)
    return histograms, read


def rows_from_histograms(task: RecordTask, sig_len: int, histograms: Histograms) -> list[dict[str, Any]]:
    by_index = {spec.index: spec for spec in task.header.signals}
    statistics = {
        index: histogram.statistics(by_index[index].adc_gain, by_index[index].baseline)
        for index, histogram in histograms.items()
    }
    return feature_rows(task, sig_len, statistics)


def histograms_of_range(
    signal_file: SignalFile, header_path: Path, frame_start: int, frame_end: int
) -> Histograms:
    fmt = signal_file.fmt
    bits = value_bits(fmt)
    histograms = {spec.index: NarrowHistogram(bits, format_low(fmt)) for spec in signal_file.signals}
    ordered = [histograms[spec.index] for spec in signal_file.signals]
    for block in iter_blocks(signal_file, header_path, frame_start, frame_end):
        if block.dtype == np.uint8 and block.shape[1] == 2 and len(block) >= JOINT_HISTOGRAM_MIN_FRAMES:
            # Two 8-bit signals: one histogram of byte pairs (as uint16) is the joint histogram; its margins
            # are the two signals' histograms. One bincount instead of two strided ones.
            joint = np.bincount(block.view("<u2").ravel(), minlength=1 << 16).reshape(256, 256)
            ordered[0].add_counts(joint.sum(axis=0))
            ordered[1].add_counts(joint.sum(axis=1))
        else:
            for column, histogram in enumerate(ordered):
                histogram.add_bins(block[:, column])
    return histograms


def _wide_statistics(
    signal_file: SignalFile, header_path: Path, sig_len: int
) -> dict[int, PhysicalStatistics]:
    fmt = signal_file.fmt
    summaries = [
        WideSignalSummary(value_bits(fmt), format_low(fmt), invalid_value(fmt)) for _ in signal_file.signals
    ]
    for block in iter_blocks(signal_file, header_path, 0, sig_len):
        for column, summary in enumerate(summaries):
            summary.first_pass(block[:, column])
    wanted = [summary.wanted_high_bins() for summary in summaries]
    if any(wanted):
        for block in iter_blocks(signal_file, header_path, 0, sig_len):
            for column, summary in enumerate(summaries):
                if summary.n:
                    summary.second_pass(block[:, column], summary.mean_digital, wanted[column])
    return {
        spec.index: summary.statistics(spec.adc_gain, spec.baseline)
        for spec, summary in zip(signal_file.signals, summaries, strict=True)
    }


def feature_rows(
    task: RecordTask, sig_len: int, statistics: dict[int, PhysicalStatistics]
) -> list[dict[str, Any]]:
    header = task.header
    rows = []
    for spec in header.signals:
        stats = statistics.get(spec.index, PhysicalStatistics.empty())  # a "~" signal has no samples
        rows.append(
            {
                GROUP_COLUMN: task.group,
                "record_set": task.record_set,
                "record": task.record,
                "kind": task.kind,
                "signal_index": spec.index,
                "signal": spec.name,
                "units": spec.units,
                "fs": float(header.fs),
                "n_samples": sig_len,
                "duration_s": sig_len / float(header.fs),
                "n_valid": stats.n_valid,
                "mean": stats.mean,
                "std": stats.std,
                "min": stats.min,
                "max": stats.max,
                "p05": stats.p05,
                "p50": stats.p50,
                "p95": stats.p95,
                "clip_fraction": float("nan"),  # interim, until the engine computes them (issue 12)
                "flat_fraction": float("nan"),
                "start_time": task.start.date_time,
                "start_time_of_day": task.start.time_of_day,
            }
        )
    return rows
