"""Extracting one patient group: discover its records, summarise them over every usable CPU, write outputs."""

from __future__ import annotations

import logging
import resource
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from joblib import Parallel, delayed

from .discovery import RecordFailure, discover_group
from .errors import InputFolderError, RecordError
from .outputs import ERRORS_FILE, FEATURES_FILE, SUMMARY_FILE, write_errors, write_features, write_summary
from .record_summary import Histograms, RecordTask, rows_from_histograms, summarise_range, summarise_record
from .sharding import WorkItem, plan_chunks, usable_cpus

log = logging.getLogger("waveforms.extract")


@dataclass
class PartialRecord:
    """One frame range of a split record: its histograms, to be merged with the other ranges."""

    task: RecordTask
    part: int
    parts: int
    histograms: Histograms


@dataclass
class ChunkResult:
    rows: list[dict[str, Any]] = field(default_factory=list)
    failures: list[RecordFailure] = field(default_factory=list)
    partials: list[PartialRecord] = field(default_factory=list)
    records_summarised: int = 0
    bytes_read: int = 0
    peak_rss_mb: float = 0.0


def summarise_chunk(items: list[WorkItem]) -> ChunkResult:
    """Run in a worker: summarise each item; a record that fails is reported and the chunk goes on."""
    result = ChunkResult()
    for item in items:
        task = item.task
        try:
            if item.frame_end is None:
                rows, read = summarise_record(task)
                result.rows.extend(rows)
                result.records_summarised += 1
            else:
                histograms, read = summarise_range(task, item.frame_start, item.frame_end)
                result.partials.append(PartialRecord(task, item.part, item.parts, histograms))
            result.bytes_read += read
        except RecordError as exc:
            result.failures.append(RecordFailure.of(task.group, task.relative_path, task.record, exc))
        except Exception as exc:  # one record's surprise never takes the group down: it is reported instead
            failure = RecordFailure(
                task.group,
                task.relative_path,
                task.record,
                "unexpected_error",
                f"{type(exc).__name__}: {exc}",
            )
            result.failures.append(failure)
    result.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


@dataclass
class GroupSummary:
    group: str
    headers_found: int
    headers_by_kind: dict[str, int]
    records_discovered: int
    records_summarised: int
    records_failed: int
    rows: int
    bytes_read: int
    seconds: float
    workers: int
    peak_rss_mb_per_worker: float
    errors_reported: int
    failures: list[RecordFailure]

    def as_json(self) -> dict[str, Any]:
        summary = {key: value for key, value in vars(self).items() if key != "failures"}
        summary["seconds"] = round(self.seconds, 3)
        summary["peak_rss_mb_per_worker"] = round(self.peak_rss_mb_per_worker, 1)
        return summary


def extract_group(input_dir: Path, output_dir: Path, group: str, workers: int | None = None) -> GroupSummary:
    """Summarise every record of a group folder into features.parquet, errors.jsonl and summary.json."""
    started = time.perf_counter()
    if not input_dir.exists():
        raise InputFolderError(f"input folder {input_dir} does not exist")
    if not input_dir.is_dir():
        raise InputFolderError(f"input {input_dir} is not a folder")
    workers = workers or usable_cpus()
    discovery = discover_group(input_dir, group)
    log.info(
        "group %s: %d records in %d headers", group, discovery.records_discovered, discovery.headers.total()
    )

    rows: list[dict[str, Any]] = []
    failures = list(discovery.failures)
    summarised = 0
    bytes_read = 0
    peak_rss = 0.0
    chunks = plan_chunks(discovery.tasks, workers)
    partials: dict[str, list[PartialRecord]] = {}
    for chunk_result in _run_chunks(chunks, workers):
        rows.extend(chunk_result.rows)
        failures.extend(chunk_result.failures)
        summarised += chunk_result.records_summarised
        bytes_read += chunk_result.bytes_read
        peak_rss = max(peak_rss, chunk_result.peak_rss_mb)
        for partial in chunk_result.partials:
            partials.setdefault(partial.task.relative_path, []).append(partial)
    merged_rows, merged = _merge_partials(partials, {f.path for f in failures})
    rows.extend(merged_rows)
    summarised += merged
    failures = _one_failure_per_record(failures)

    rows.sort(key=lambda row: (row["record_set"], row["record"], row["signal_index"]))
    failures.sort(key=lambda failure: failure.path)
    reported = failures + discovery.group_problems
    summary = GroupSummary(
        group=group,
        headers_found=discovery.headers.total(),
        headers_by_kind=dict(sorted(discovery.headers.items())),
        records_discovered=discovery.records_discovered,
        records_summarised=summarised,
        records_failed=len(failures),
        rows=len(rows),
        bytes_read=bytes_read,
        seconds=0.0,
        workers=workers,
        peak_rss_mb_per_worker=peak_rss,
        errors_reported=len(reported),
        failures=reported,
    )
    output_dir.mkdir(parents=True, exist_ok=True)
    write_features(rows, output_dir / FEATURES_FILE)
    write_errors(reported, output_dir / ERRORS_FILE)
    summary.seconds = time.perf_counter() - started
    write_summary(summary.as_json(), output_dir / SUMMARY_FILE)
    return summary


def _run_chunks(chunks: list[list[WorkItem]], workers: int) -> Iterator[ChunkResult]:
    if workers == 1 or len(chunks) <= 1:
        for chunk in chunks:
            yield summarise_chunk(chunk)
        return
    parallel = Parallel(n_jobs=workers, backend="loky", return_as="generator_unordered")
    yield from parallel(delayed(summarise_chunk)(chunk) for chunk in chunks)


def _merge_partials(
    partials: dict[str, list[PartialRecord]], failed_paths: set[str]
) -> tuple[list[dict[str, Any]], int]:
    rows: list[dict[str, Any]] = []
    merged = 0
    for path, pieces in partials.items():
        if path in failed_paths:
            continue  # a range failed: the record is reported once, as failed
        pieces.sort(key=lambda piece: piece.part)
        first = pieces[0]
        if [piece.part for piece in pieces] != list(range(first.parts)):
            raise RuntimeError(f"internal error: ranges of {path} missing after summarising")
        for piece in pieces[1:]:
            for index, histogram in piece.histograms.items():
                first.histograms[index].merge(histogram)
        rows.extend(rows_from_histograms(first.task, first.task.header.sig_len or 0, first.histograms))
        merged += 1
    return rows, merged


def _one_failure_per_record(failures: Iterable[RecordFailure]) -> list[RecordFailure]:
    """A split record whose ranges all failed is one failed record."""
    unique: dict[str, RecordFailure] = {}
    for failure in failures:
        unique.setdefault(failure.path, failure)
    return list(unique.values())
