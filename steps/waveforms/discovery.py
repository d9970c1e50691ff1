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

from .errors import EmptyGroupError, MissingSegmentError, RecordError
from .header import MultiSegmentHeader, RecordHeader, read_header, start_datetime
from .record_summary import RecordTask


@dataclass(frozen=True)
class RecordFailure:
    """One line of ``errors.jsonl``."""

    group: str
    path: str
    record: str
    error: str
    message: str

    @classmethod
    def of(cls, group: str, path: str, record: str, exc: RecordError) -> RecordFailure:
        return cls(group, path, record, exc.code, str(exc))


@dataclass
class Discovery:
    tasks: list[RecordTask] = field(default_factory=list)
    failures: list[RecordFailure] = field(default_factory=list)  # records that failed before any reading
    group_problems: list[RecordFailure] = field(default_factory=list)  # not records: e.g. an empty group
    headers: Counter[str] = field(default_factory=Counter)  # by kind: record, master, layout, unparsable, ...

    @property
    def records_discovered(self) -> int:
        return len(self.tasks) + len(self.failures)


def discover_group(input_dir: Path, group: str) -> Discovery:
    found = Discovery()
    header_paths = sorted(_find_headers(input_dir))
    by_folder: dict[Path, dict[str, tuple[Path, RecordHeader]]] = {}
    masters: list[tuple[Path, MultiSegmentHeader]] = []
    stems: dict[Path, set[str]] = {}
    for path in header_paths:
        stems.setdefault(path.parent, set()).add(path.stem)
        relative = path.relative_to(input_dir).as_posix()
        try:
            header = read_header(path)
        except RecordError as exc:
            found.headers["unparsable"] += 1
            found.failures.append(RecordFailure.of(group, relative, path.stem, exc))
            continue
        if isinstance(header, MultiSegmentHeader):
            found.headers["master"] += 1
            masters.append((path, header))
            continue
        by_folder.setdefault(path.parent, {})[path.stem] = (path, header)

    segment_starts = _segment_start_times(masters)
    for path, header in (entry for folder in by_folder.values() for entry in folder.values()):
        if not any(spec.stored_in_file for spec in header.signals):
            found.headers["layout" if header.name.endswith("_layout") else "no_signal_files"] += 1
            continue
        found.headers["record"] += 1
        found.tasks.append(_record_task(input_dir, group, path, header, segment_starts))

    for path, master in masters:
        present = stems[path.parent]
        for segment, _length in master.segments:
            if segment != "~" and segment not in present:
                relative = (path.parent / f"{segment}.hea").relative_to(input_dir).as_posix()
                problem = MissingSegmentError(
                    f"segment {segment} listed by master header {path.name} is missing"
                )
                found.failures.append(RecordFailure.of(group, relative, segment, problem))

    if not header_paths:
        empty = EmptyGroupError(f"group folder {input_dir} holds no WFDB headers (.hea)")
        found.group_problems.append(RecordFailure.of(group, ".", "", empty))
    found.tasks.sort(key=lambda task: task.relative_path)
    return found


def _find_headers(input_dir: Path) -> list[Path]:
    headers: list[Path] = []
    for folder, _dirs, files in os.walk(input_dir):
        headers.extend(Path(folder) / name for name in files if name.endswith(".hea"))
    return headers


def _segment_start_times(
    masters: list[tuple[Path, MultiSegmentHeader]],
) -> dict[tuple[Path, str], dt.datetime]:
    """Start of every segment a dated master lists: master start + preceding samples / fs."""
    starts: dict[tuple[Path, str], dt.datetime] = {}
    for path, master in masters:
        origin = start_datetime(master.base_date, master.base_time)
        if origin is None:
            continue
        offset = 0
        for segment, length in master.segments:
            if segment != "~":
                starts[(path.parent, segment)] = origin + dt.timedelta(seconds=offset / master.fs)
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
    path: Path,
    header: RecordHeader,
    segment_starts: dict[tuple[Path, str], dt.datetime],
) -> RecordTask:
    start_time = _start_time(header, segment_starts.get((path.parent, path.stem)))
    record_set = path.parent.relative_to(input_dir).as_posix()
    files = {spec.file_name for spec in header.signals if spec.stored_in_file}
    data_bytes = 0
    for name in files:
        # A missing or unreadable signal file fails the record when it is summarised, with its reason.
        with contextlib.suppress(OSError):
            data_bytes += (path.parent / name).stat().st_size
    return RecordTask(
        group=group,
        record_set=record_set,
        record=header.name,
        kind="numerics" if header.name.endswith("n") else "waveform",
        header_path=path,
        relative_path=path.relative_to(input_dir).as_posix(),
        header=header,
        start_time=start_time,
        data_bytes=data_bytes,
    )
