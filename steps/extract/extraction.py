"""Extracting one patient group: list its record sets, summarise them over every usable CPU, write outputs.

The parent only lists folders and file sizes. Record sets are handed to workers whole (discovery, header
parsing and summaries all run in the worker), except a record set heavier than one chunk's fair share: the
parent parses that one itself, so its long records can be cut into frame ranges whose histograms merge
exactly, and no worker is left as a straggler.
"""

from __future__ import annotations

import logging
import resource
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa

from steps.contract.failure import RecordFailure
from steps.contract.outputs import ERRORS_FILE, FEATURES_FILE, SUMMARY_FILE

from .discovery import Discovery, FolderListing, discover_folder, list_group
from .errors import EmptyGroupError, InputFolderError, RecordError, record_failure
from .outputs import features_table, sorted_features, write_errors, write_features, write_summary
from .record_summary import Histograms, RecordTask, rows_from_histograms, summarise_range, summarise_record
from .sharding import FolderWork, HostShare, RecordWork, Work, balance, chunk_count, record_work, usable_cpus
from .worker_pool import WorkerDied, run_in_workers

log = logging.getLogger("steps.extract")
# Chunks in flight per worker: the suspects when a worker dies. One leaves a worker idle while the parent
# hands it the next chunk (1-2.5 % slower on the bench workloads); two cost nothing measurable.
IN_FLIGHT_PER_WORKER = 2


@dataclass
class PartialRecord:
    """One frame range of a split record: its histograms, to be merged with the other ranges."""

    task: RecordTask
    part: int
    parts: int
    histograms: Histograms


@dataclass
class ChunkResult:
    headers: Counter[str] = field(default_factory=Counter)
    records_discovered: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)  # while summarising; then as tables
    tables: list[pa.Table] = field(default_factory=list)  # columnar: cheap to send back and to sort
    failures: list[RecordFailure] = field(default_factory=list)
    partials: list[PartialRecord] = field(default_factory=list)
    records_summarised: int = 0
    bytes_read: int = 0
    peak_rss_mb: float = 0.0

    def add_discovery(self, discovery: Discovery) -> None:
        self.headers.update(discovery.headers)
        self.records_discovered += discovery.records_discovered
        self.failures.extend(discovery.failures)

    def merge(self, other: ChunkResult) -> None:
        self.headers.update(other.headers)
        self.records_discovered += other.records_discovered
        self.tables.extend(other.tables)
        self.failures.extend(other.failures)
        self.partials.extend(other.partials)
        self.records_summarised += other.records_summarised
        self.bytes_read += other.bytes_read
        self.peak_rss_mb = max(self.peak_rss_mb, other.peak_rss_mb)


def summarise_chunk(items: list[Work], input_dir: Path, group: str) -> ChunkResult:
    """Run in a worker: discover and summarise; a record that fails is reported and the chunk goes on."""
    result = ChunkResult()
    for item in items:
        if isinstance(item, FolderWork):
            discovery = discover_folder(item.listing, input_dir, group)
            result.add_discovery(discovery)
            for task in discovery.tasks:
                _summarise(RecordWork(task), result)
        else:
            _summarise(item, result)
    result.tables.append(features_table(result.rows))
    result.rows = []
    result.peak_rss_mb = peak_rss_mb()
    return result


def _summarise(item: RecordWork, result: ChunkResult) -> None:
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
        result.failures.append(record_failure(task.group, task.relative_path, task.record, exc))
    except Exception as exc:  # one record's surprise never takes the group down: it is reported instead
        message = f"{type(exc).__name__}: {exc}"
        result.failures.append(
            RecordFailure(task.group, task.relative_path, task.record, "unexpected_error", message)
        )


def peak_rss_mb() -> float:
    """This process's own peak resident memory. ``VmHWM`` rather than ``ru_maxrss``: a worker started by
    fork + exec inherits its parent's ``ru_maxrss`` on Linux, which would overstate a worker's peak."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


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
    host: str
    input_version: str
    failures: list[RecordFailure]

    def as_json(self) -> dict[str, Any]:
        summary = {key: value for key, value in vars(self).items() if key != "failures"}
        summary["seconds"] = round(self.seconds, 3)
        summary["peak_rss_mb_per_worker"] = round(self.peak_rss_mb_per_worker, 1)
        return summary


def extract_group(
    input_dir: Path,
    output_dir: Path,
    group: str,
    workers: int | None = None,
    host: HostShare = HostShare(),  # noqa: B008 — frozen, so one shared default is safe
    input_version: str = "",
) -> GroupSummary:
    """Summarise every record of a group folder into features.parquet, errors.jsonl and summary.json."""
    started = time.perf_counter()
    if not input_dir.exists():
        raise InputFolderError(f"input folder {input_dir} does not exist")
    if not input_dir.is_dir():
        raise InputFolderError(f"input {input_dir} is not a folder")
    workers = workers or usable_cpus()
    every_listing = list_group(input_dir)
    listings = host.take(every_listing)
    log.info(
        "group %s: %d record-set folders (host %d of %d)", group, len(listings), host.index + 1, host.count
    )

    total = ChunkResult()
    items: list[Work] = []
    folders = [FolderWork(listing) for listing in listings]
    fair_share = sum(folder.cost for folder in folders) / chunk_count(workers)
    for folder in folders:
        if workers > 1 and folder.cost > fair_share:
            discovery = discover_folder(folder.listing, input_dir, group)
            total.add_discovery(discovery)
            items.extend(work for task in discovery.tasks for work in record_work(task, fair_share))
        else:
            items.append(folder)
    for result in _run_chunks(balance(items, chunk_count(workers)), workers, input_dir, group):
        total.merge(result)
    partials: dict[str, list[PartialRecord]] = {}
    for piece in total.partials:
        partials.setdefault(piece.task.relative_path, []).append(piece)
    merged_rows, merged = _merge_partials(partials, {failure.path for failure in total.failures})
    total.tables.append(features_table(merged_rows))
    total.records_summarised += merged
    failures = sorted(_one_failure_per_record(total.failures), key=lambda failure: failure.path)
    # An empty group is reported once, by the first host share, not by every instance of the step.
    reported = failures + (_group_problems(input_dir, group, every_listing) if host.index == 0 else [])
    features = sorted_features(total.tables)

    summary = GroupSummary(
        group=group,
        headers_found=total.headers.total(),
        headers_by_kind=dict(sorted(total.headers.items())),
        records_discovered=total.records_discovered,
        records_summarised=total.records_summarised,
        records_failed=len(failures),
        rows=features.num_rows,
        bytes_read=total.bytes_read,
        seconds=0.0,
        workers=workers,
        peak_rss_mb_per_worker=total.peak_rss_mb,
        errors_reported=len(reported),
        host=f"{host.name} ({host.index + 1} of {host.count})",
        input_version=input_version,
        failures=reported,
    )
    output_dir.mkdir(parents=True, exist_ok=True)
    write_features(features, output_dir / FEATURES_FILE)
    write_errors(reported, output_dir / ERRORS_FILE)
    summary.seconds = time.perf_counter() - started
    write_summary(summary.as_json(), output_dir / SUMMARY_FILE)
    return summary


def _run_chunks(chunks: list[list[Work]], workers: int, input_dir: Path, group: str) -> Iterator[ChunkResult]:
    """Chunks summarised in worker processes, results as they complete. With one worker, or one chunk, in this
    process (no isolation: nothing to share a crash with, and no start-up cost).

    A worker that dies takes nothing but its record down: the chunks in flight when it died are summarised
    again record by record, and the records in flight at a second death one at a time, so the record that
    kills a worker on its own is known; it is reported as ``worker_died`` and the group goes on.
    """
    if workers == 1 or len(chunks) <= 1:
        for chunk in chunks:
            yield summarise_chunk(chunk, input_dir, group)
        return
    summarise = partial(summarise_chunk, input_dir=input_dir, group=group)
    suspects: list[Work] = []
    deaths: list[str] = []
    for chunk, result in run_in_workers(summarise, chunks, workers, window=IN_FLIGHT_PER_WORKER * workers):
        if isinstance(result, WorkerDied):
            suspects.extend(chunk)
            deaths.append(result.reason)
        else:
            yield result
    if suspects:
        log.warning(
            "group %s: a worker died (%s); %d chunk(s) it took down are summarised again, record by record",
            group,
            deaths[0],
            len(deaths),
        )
        yield from _summarise_again(suspects, summarise, workers, input_dir, group)


def _summarise_again(
    suspects: list[Work],
    summarise: Callable[[list[Work]], ChunkResult],
    workers: int,
    input_dir: Path,
    group: str,
) -> Iterator[ChunkResult]:
    """The work that was in flight when a worker died: record by record, then one at a time."""
    recovered = ChunkResult()  # the suspect record sets' discovery, done here this time
    records: list[list[Work]] = []
    for item in suspects:
        if isinstance(item, FolderWork):
            discovery = discover_folder(item.listing, input_dir, group)
            recovered.add_discovery(discovery)
            records.extend([RecordWork(task)] for task in discovery.tasks)
        else:
            records.append([item])
    yield recovered
    alone: list[list[Work]] = []
    for record, result in run_in_workers(summarise, records, workers):
        if isinstance(result, WorkerDied):
            alone.append(record)
        else:
            yield result
    killers: set[str] = set()  # a record one of whose frame ranges kills a worker has failed: not run again
    for record in alone:  # one at a time: a death now names its record
        work = record[0]
        assert isinstance(work, RecordWork)  # suspects were expanded to records above
        if work.task.relative_path in killers:
            continue
        [(_, result)] = run_in_workers(summarise, [record], workers)
        if isinstance(result, WorkerDied):
            killers.add(work.task.relative_path)
            yield _worker_died(work, group, result.reason)
        else:
            yield result


def _worker_died(work: RecordWork, group: str, reason: str) -> ChunkResult:
    task = work.task
    log.error("group %s: %s kills the worker that summarises it (%s)", group, task.relative_path, reason)
    message = (
        f"the worker process died while summarising this record ({reason}): "
        "out of memory, or a crash in native code"
    )
    failure = RecordFailure(task.group, task.relative_path, task.record, "worker_died", message)
    return ChunkResult(failures=[failure])


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


def _group_problems(input_dir: Path, group: str, listings: list[FolderListing]) -> list[RecordFailure]:
    if listings:
        return []
    empty = EmptyGroupError(f"group folder {input_dir} holds no WFDB headers (.hea)")
    return [record_failure(group, ".", "", empty)]
