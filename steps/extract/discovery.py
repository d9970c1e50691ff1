"""Discovery of a group's records, driven by headers (never by ``.dat`` names).

Every single-segment header whose signals are stored in files is one record. Multi-segment master headers
and layout headers give no rows of their own: a master's segment list ties its segments to the record set,
dates them, and names the segments that should be there, so a missing one is reported.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from steps.contract.failure import RecordFailure

from .errors import MissingSegmentError, RecordError, record_failure
from .header import MultiSegmentHeader, RecordHeader, read_header, start_datetime
from .record_summary import RecordTask


@dataclass
class Discovery:
    tasks: list[RecordTask] = field(default_factory=list)
    failures: list[RecordFailure] = field(default_factory=list)  # records that failed before any reading
    headers: Counter[str] = field(default_factory=Counter)  # by kind: record, master, layout, unparsable, ...

    @property
    def records_discovered(self) -> int:
        return len(self.tasks) + len(self.failures)


@dataclass(frozen=True)
class FolderListing:
    """One folder of the group (a record set): its header names and the size of every other file in it."""

    path: Path
    headers: tuple[str, ...]
    sizes: dict[str, int]

    @property
    def data_bytes(self) -> int:
        return sum(self.sizes.values())


def list_group(input_dir: Path) -> list[FolderListing]:
    """Every folder under ``input_dir`` (any depth) that holds headers, with its file sizes; no file read."""
    listings = []
    pending = [input_dir]
    while pending:
        folder = pending.pop()
        headers: list[str] = []
        sizes: dict[str, int] = {}
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(Path(entry.path))
                    continue
                if entry.name.endswith(".hea"):
                    headers.append(entry.name)
                    continue  # a header is costed per record, not by its size
                with contextlib.suppress(OSError):  # a broken file fails its record later, with its reason
                    sizes[entry.name] = entry.stat().st_size
        if headers:
            listings.append(FolderListing(folder, tuple(sorted(headers)), sizes))
    return sorted(listings, key=lambda listing: listing.path)


def discover_folder(listing: FolderListing, input_dir: Path, group: str) -> Discovery:
    """Parse a folder's headers: its records, its masters' segment lists, and what fails or is missing."""
    found = Discovery()
    records: list[tuple[Path, RecordHeader]] = []
    masters: list[tuple[Path, MultiSegmentHeader]] = []
    for name in listing.headers:
        path = listing.path / name
        try:
            header = read_header(path)
        except RecordError as exc:
            found.headers["unparsable"] += 1
            found.failures.append(record_failure(group, _relative(path, input_dir), path.stem, exc))
            continue
        if isinstance(header, MultiSegmentHeader):
            found.headers["master"] += 1
            masters.append((path, header))
        elif not any(spec.stored_in_file for spec in header.signals):
            found.headers["layout" if header.name.endswith("_layout") else "no_signal_files"] += 1
        else:
            found.headers["record"] += 1
            records.append((path, header))

    segment_starts = _segment_start_times(masters)
    record_set = _relative(listing.path, input_dir)
    for path, header in records:
        start = _start_time(header, segment_starts.get(path.stem))
        found.tasks.append(_record_task(input_dir, group, record_set, path, header, start, listing.sizes))

    present = {name[: -len(".hea")] for name in listing.headers}
    for path, master in masters:
        for segment, _length in master.segments:
            if segment != "~" and segment not in present:
                problem = MissingSegmentError(
                    f"segment {segment} listed by master header {path.name} is missing"
                )
                relative = _relative(listing.path / f"{segment}.hea", input_dir)
                found.failures.append(record_failure(group, relative, segment, problem))
    return found


def _relative(path: Path, input_dir: Path) -> str:
    return path.relative_to(input_dir).as_posix()


def _segment_start_times(masters: list[tuple[Path, MultiSegmentHeader]]) -> dict[str, dt.datetime]:
    """Start of every segment a dated master lists: master start + preceding samples / fs."""
    starts: dict[str, dt.datetime] = {}
    for _path, master in masters:
        origin = start_datetime(master.base_date, master.base_time)
        if origin is None:
            continue
        offset = 0
        for segment, length in master.segments:
            if segment != "~":
                starts[segment] = origin + dt.timedelta(seconds=offset / master.fs)
            offset += length
    return starts


def _start_time(header: RecordHeader, from_master: dt.datetime | None) -> str | None:
    """ISO start of the record: its own date and time; else its time of day dated by its master (whose
    offset picks the day, even across midnight); else the master's offset alone; else its time of day."""
    own = start_datetime(header.base_date, header.base_time)
    if own is None and from_master is not None:
        if header.base_time is None:
            own = from_master + dt.timedelta(microseconds=500)  # round, not truncate, to milliseconds
        else:
            own = dt.datetime.combine(from_master.date(), header.base_time)
            if own - from_master > dt.timedelta(hours=12):
                own -= dt.timedelta(days=1)
            elif from_master - own > dt.timedelta(hours=12):
                own += dt.timedelta(days=1)
    if own is not None:
        return own.isoformat(timespec="milliseconds")
    if header.base_time is not None:
        return header.base_time.isoformat(timespec="milliseconds")
    return None


def _record_task(
    input_dir: Path,
    group: str,
    record_set: str,
    path: Path,
    header: RecordHeader,
    start_time: str | None,
    sizes: dict[str, int],
) -> RecordTask:
    files = {spec.file_name for spec in header.signals if spec.stored_in_file}
    return RecordTask(
        group=group,
        record_set=record_set,
        record=header.name,
        kind="numerics" if header.name.endswith("n") else "waveform",
        header_path=path,
        relative_path=_relative(path, input_dir),
        header=header,
        start_time=start_time,
        data_bytes=sum(sizes.get(name, 0) for name in files),
    )
