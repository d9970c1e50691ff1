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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa

from steps.contract.failure import RecordFailure

from .discovery import Discovery, FolderListing, discover_folder, list_group
from .errors import EmptyGroupError, InputFolderError, OutputWriteError, record_failure
from .numerics_csv import summarise_whole_record
from .outputs import (
    features_table,
    remove_output_leftovers,
    sorted_features,
    write_group_outputs,
)
from .record_summary import RecordTask, Summarisers, merged_rows, summarise_range
from .sharding import FolderWork, HostShare, RecordWork, Work, balance, chunk_count, record_work, usable_cpus
from .window_parts import WindowPart, parts_folder, remove_parts
from .worker_pool import WorkerDied, run_in_workers

log = logging.getLogger("steps.extract")
# Chunks in flight per worker: the suspects when a worker dies. One leaves a worker idle while the parent
# hands it the next chunk (1-2.5 % slower on the bench workloads); two cost nothing measurable.
IN_FLIGHT_PER_WORKER = 2


@dataclass
class PartialRecord:
    """One frame range of a split record: its signals' summarisers, to be merged with the other ranges."""

    task: RecordTask
    part: int
    parts: int
    summarisers: Summarisers


@dataclass
class ChunkResult:
    """What some work gave: records by the path of their header (each discovered once, then summarised or
    failed), their rows, and the counts of the summary."""

    headers: Counter[str] = field(default_factory=Counter)
    discovered: list[str] = field(default_factory=list)
    summarised: list[str] = field(default_factory=list)
    rows: list[tuple[RecordTask, list[dict[str, Any]]]] = field(default_factory=list)  # then as tables
    tables: list[pa.Table] = field(default_factory=list)  # columnar: cheap to send back and to sort
    window_parts: list[WindowPart] = field(default_factory=list)  # the window rows, in part files
    failures: list[RecordFailure] = field(default_factory=list)
    partials: list[PartialRecord] = field(default_factory=list)
    bytes_read: int = 0
    peak_rss_mb: float = 0.0

    def add_discovery(self, discovery: Discovery) -> None:
        self.headers.update(discovery.headers)
        self.discovered.extend(task.relative_path for task in discovery.tasks)
        self.discovered.extend(failure.path for failure in discovery.failures)
        self.failures.extend(discovery.failures)

    def merge(self, other: ChunkResult) -> None:
        self.headers.update(other.headers)
        self.discovered.extend(other.discovered)
        self.summarised.extend(other.summarised)
        self.tables.extend(other.tables)
        self.window_parts.extend(other.window_parts)
        self.failures.extend(other.failures)
        self.partials.extend(other.partials)
        self.bytes_read += other.bytes_read
        self.peak_rss_mb = max(self.peak_rss_mb, other.peak_rss_mb)

    def table_rows(self) -> None:
        """The rows summarised so far, as one table; a record whose rows do not convert fails alone."""
        try:
            self.tables.append(features_table([row for _, rows in self.rows for row in rows]))
        except Exception:  # find the record at fault: the boundary is the record, not the chunk
            for task, rows in self.rows:
                try:
                    self.tables.append(features_table(rows))
                except Exception as exc:
                    self.summarised.remove(task.relative_path)
                    self.failures.append(record_failure(task.group, task.relative_path, task.record, exc))
        self.rows = []


@dataclass(frozen=True)
class WindowOptions:
    """Windows of ``seconds`` (0: none), their rows written to part files in ``parts``."""

    seconds: float = 0.0
    parts: Path | None = None

    def part(self) -> WindowPart | None:
        return WindowPart(self.parts) if self.seconds > 0 and self.parts is not None else None


def summarise_chunk(
    items: list[Work], input_dir: Path, group: str, windows: WindowOptions = WindowOptions()
) -> ChunkResult:
    """Run in a worker: discover and summarise; a record that fails is reported and the chunk goes on."""
    result = ChunkResult()
    part = windows.part()
    for item in items:
        if isinstance(item, FolderWork):
            discovery = discover_folder(item.listing, input_dir, group)  # never raises: see its boundary
            result.add_discovery(discovery)
            for task in discovery.tasks:
                _summarise(RecordWork(task), result, windows.seconds, part)
        else:
            _summarise(item, result, windows.seconds, part)
    result.table_rows()
    if part is not None:
        part.close()
        result.window_parts.append(part)
    result.peak_rss_mb = peak_rss_mb()
    return result


def _summarise(item: RecordWork, result: ChunkResult, window_seconds: float, part: WindowPart | None) -> None:
    task = item.task
    try:
        if item.frame_end is None:
            batch = part.batch if part is not None else None
            rows, read = summarise_whole_record(task, window_seconds, batch)  # a numerics table too
            result.rows.append((task, rows))
            if part is not None:
                part.flush_if_full()
            result.summarised.append(task.relative_path)
        else:
            summarisers, read = summarise_range(task, item.frame_start, item.frame_end, window_seconds)
            result.partials.append(PartialRecord(task, item.part, item.parts, summarisers))
        result.bytes_read += read
    except OutputWriteError:
        raise  # the output folder is at fault, not the record: the step fails with one line
    except Exception as exc:  # one record's surprise never takes the group down: it is reported instead
        result.failures.append(record_failure(task.group, task.relative_path, task.record, exc))


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
    host_index: int
    host_count: int
    input_version: str
    window_seconds: float  # 0: no windows
    windows: int  # window rows written
    job: dict[str, Any]  # the job that ran this step, as its configuration says (steps.contract.job_config)
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
    job: dict[str, Any] | None = None,
    window_seconds: float = 0.0,
) -> GroupSummary:
    """Summarise every record of a group folder into features.parquet, errors.jsonl and summary.json (which
    records ``job``, the facts of the job running it, if any)."""
    started = time.perf_counter()
    check_folders(input_dir, output_dir)
    if window_seconds > 0:  # where the workers write their window rows: fail now, before any work, if not
        try:
            parts_folder(output_dir).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputWriteError(
                f"cannot write the outputs to {output_dir}: {exc.strerror or exc}"
            ) from exc
    workers = workers or usable_cpus()
    every_listing = list_group(input_dir, group)
    listings = host.take(every_listing.folders)
    log.info(
        "group %s: %d record-set folders (host %d of %d)", group, len(listings), host.index + 1, host.count
    )

    total = ChunkResult()
    if host.index == 0:  # folders that cannot be read are reported once, by the first host share
        total.discovered.extend(failure.path for failure in every_listing.failures)
        total.failures.extend(every_listing.failures)
    items: list[Work] = []
    folders = [FolderWork(listing) for listing in listings]
    fair_share = sum(folder.cost for folder in folders) / chunk_count(workers)
    for folder in folders:
        if workers > 1 and folder.cost > fair_share:
            discovery = discover_folder(folder.listing, input_dir, group)
            total.add_discovery(discovery)
            items.extend(
                work for task in discovery.tasks for work in record_work(task, fair_share, window_seconds)
            )
        else:
            items.append(folder)
    chunks = balance(items, chunk_count(workers))
    windows = WindowOptions(window_seconds, parts_folder(output_dir))
    for result in _run_chunks(chunks, workers, input_dir, group, windows):
        total.merge(result)
    _merge_partials(total, windows)
    failures = _reconciled_failures(total, group)
    # An empty group is reported once, by the first host share, not by every instance of the step.
    first_share = host.index == 0
    reported = failures + (_group_problems(input_dir, group, every_listing.folders) if first_share else [])
    features = sorted_features(total.tables)

    summary = GroupSummary(
        group=group,
        headers_found=total.headers.total(),
        headers_by_kind=dict(sorted(total.headers.items())),
        records_discovered=len(set(total.summarised)) + len(failures),
        records_summarised=len(set(total.summarised)),
        records_failed=len(failures),
        rows=features.num_rows,
        bytes_read=total.bytes_read,
        seconds=0.0,
        workers=workers,
        peak_rss_mb_per_worker=total.peak_rss_mb,
        errors_reported=len(reported),
        host=f"{host.name} ({host.index + 1} of {host.count})",
        host_index=host.index,
        host_count=host.count,
        input_version=input_version,
        window_seconds=window_seconds,
        windows=sum(part.rows for part in total.window_parts),
        job=job or {},
        failures=reported,
    )
    summary.seconds = time.perf_counter() - started
    try:
        write_group_outputs(
            output_dir,
            features,
            total.window_parts if window_seconds > 0 else None,
            reported,
            summary.as_json(),
        )
    except OSError as exc:
        raise OutputWriteError(f"cannot write the outputs to {output_dir}: {exc.strerror or exc}") from exc
    finally:
        remove_parts(output_dir)
    return summary


def check_folders(input_dir: Path, output_dir: Path) -> None:
    """The input folder must be a folder, and the output folder must not lie inside it (the next run would
    read it as a record set); leftovers of a killed run into the output folder are removed."""
    if not input_dir.exists():
        raise InputFolderError(f"input folder {input_dir} does not exist")
    if not input_dir.is_dir():
        raise InputFolderError(f"input {input_dir} is not a folder")
    resolved = input_dir.resolve()
    if output_dir.resolve() == resolved or resolved in output_dir.resolve().parents:
        raise InputFolderError(
            f"output folder {output_dir} is inside the input folder {input_dir}: choose one outside it"
        )
    for path in remove_output_leftovers(output_dir):
        log.info("removed %s, left by a run that did not finish", path)


def _run_chunks(
    chunks: list[list[Work]], workers: int, input_dir: Path, group: str, windows: WindowOptions
) -> Iterator[ChunkResult]:
    """Chunks summarised in worker processes, results as they complete. With one worker, or one chunk, in this
    process (no isolation: nothing to share a crash with, and no start-up cost).

    A worker that dies takes nothing but its record down: the chunks in flight when it died are summarised
    again record by record, and the records in flight at a second death one at a time, so the record that
    kills a worker on its own is known; it is reported as ``worker_died`` and the group goes on.
    """
    if workers == 1 or len(chunks) <= 1:
        for chunk in chunks:
            yield summarise_chunk(chunk, input_dir, group, windows)
        return
    summarise = partial(summarise_chunk, input_dir=input_dir, group=group, windows=windows)
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


def _merge_partials(total: ChunkResult, windows: WindowOptions) -> None:
    """The split records whose frame ranges all succeeded, merged into rows; a record with a failed range is
    reported once, as failed."""
    partials: dict[str, list[PartialRecord]] = {}
    for piece in total.partials:
        partials.setdefault(piece.task.relative_path, []).append(piece)
    failed = {failure.path for failure in total.failures}
    part = windows.part()
    for path, pieces in partials.items():
        if path in failed:
            continue
        pieces.sort(key=lambda piece: piece.part)
        task = pieces[0].task
        try:
            if [piece.part for piece in pieces] != list(range(pieces[0].parts)):
                raise RuntimeError(f"internal error: frame ranges of {path} missing after summarising")
            ranges = [piece.summarisers for piece in pieces]
            batch = part.batch if part is not None else None
            rows = merged_rows(task, task.header.sig_len or 0, ranges, windows.seconds, batch)
        except Exception as exc:
            total.failures.append(record_failure(task.group, path, task.record, exc))
            continue
        total.rows.append((task, rows))
        if part is not None:
            part.flush_if_full()
        total.summarised.append(path)
    total.partials = []
    total.table_rows()
    if part is not None:
        part.close()
        total.window_parts.append(part)


def _reconciled_failures(total: ChunkResult, group: str) -> list[RecordFailure]:
    """One failure per failed record, in path order. Every record discovered is summarised or failed, once:
    a record discovered but neither (which would be a bug) is reported rather than silently missing."""
    unique: dict[str, RecordFailure] = {}
    for failure in total.failures:
        unique.setdefault(failure.path, failure)  # a split record whose ranges failed is one failed record
    summarised = set(total.summarised)
    for path in dict.fromkeys(total.discovered):
        if path not in summarised and path not in unique:
            message = "internal error: the record was discovered but neither summarised nor reported"
            unique[path] = RecordFailure(group, path, Path(path).stem, "unexpected_error", message)
    return sorted(unique.values(), key=lambda failure: failure.path)


def _group_problems(input_dir: Path, group: str, listings: list[FolderListing]) -> list[RecordFailure]:
    if listings:
        return []
    empty = EmptyGroupError(f"group folder {input_dir} holds no WFDB headers (.hea)")
    return [record_failure(group, ".", "", empty)]
