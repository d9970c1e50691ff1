"""Discovery of a group's records, driven by headers (never by ``.dat`` names).

Every single-segment header whose signals are stored in files is one record. Multi-segment master headers
and layout headers give no rows of their own: a master's segment list ties its segments to the record set,
dates them, and names the segments that should be there, so a missing one is reported. A layout header is
one whose signals are in no file, named ``<record set>_layout`` (MIMIC-III) or listed first with length 0
by a master (MIMIC-IV's ``<record>_0000``). A MIMIC-IV numerics table, ``<record>n.csv.gz`` beside its
master header, is one record too (``numerics_csv``).

Record folders are found at any depth: MIMIC-III's ``<group>/<record set>/``, MIMIC-IV's
``<group>/<subject>/<record>/`` (``waves/p100/p10014354/81739927/``), whose record set is then the folder's
path below the group's, ``p10014354/81739927``.

Whatever a file or folder does here (cannot be listed, is a FIFO, names another record, holds a date past the
calendar, anything unforeseen), it becomes one failure of the header or folder concerned and the rest goes
on; each header is one record, discovered once. Folders reached through symbolic links are read like any
other, each real folder once (a link back to a folder already read is reported, not followed).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from steps.contract.failure import RecordFailure, printable

from .errors import (
    FolderSeenTwiceError,
    HeaderInvalidError,
    InputFolderError,
    MissingSegmentError,
    RecordNameMismatchError,
    UnreadableFolderError,
    record_failure,
)
from .header import Header, MultiSegmentHeader, RecordHeader, read_header, start_datetime
from .numerics_csv import is_numerics_csv, numerics_csv_task
from .record_summary import RecordStart, RecordTask


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


@dataclass
class GroupListing:
    folders: list[FolderListing]
    failures: list[RecordFailure]  # folders that cannot be listed, or are reached a second time


def list_group(input_dir: Path, group: str) -> GroupListing:
    """Every folder under ``input_dir`` (any depth) that holds headers or a numerics table, with its file
    sizes; no file read.
    Only ``input_dir`` itself must be listable: another that is not is reported, and listing goes on."""
    try:
        root = os.stat(input_dir)
    except OSError as exc:
        raise InputFolderError(f"input folder {input_dir} cannot be read: {exc.strerror or exc}") from exc
    seen = {(root.st_dev, root.st_ino): input_dir}
    listing = GroupListing([], [])
    pending = [input_dir]
    while pending:
        folder = pending.pop()
        headers: list[str] = []
        sizes: dict[str, int] = {}
        try:
            with os.scandir(folder) as listed:
                entries = sorted(listed, key=lambda entry: entry.name)  # the first of two links: by name
            for entry in entries:
                if _is_folder(entry):
                    _visit(Path(entry.path), seen, pending, listing, input_dir, group)
                elif entry.name.endswith(".hea"):
                    headers.append(entry.name)  # a header is costed per record, not by its size
                else:
                    with contextlib.suppress(OSError):  # a broken file fails its record later
                        sizes[entry.name] = entry.stat().st_size
        except OSError as exc:
            if folder == input_dir:
                raise InputFolderError(
                    f"input folder {input_dir} cannot be listed: {exc.strerror or exc}"
                ) from exc
            problem = UnreadableFolderError(f"folder cannot be listed: {exc.strerror or exc}")
            listing.failures.append(record_failure(group, _relative(folder, input_dir) + "/", "", problem))
            continue
        if headers or any(is_numerics_csv(name) for name in sizes):
            listing.folders.append(FolderListing(folder, tuple(sorted(headers)), sizes))
    listing.folders.sort(key=lambda folder: folder.path)
    listing.failures.sort(key=lambda failure: failure.path)
    return listing


def _is_folder(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()  # through a symbolic link too
    except OSError:
        return False  # e.g. a link loop: a file, whose record fails with its reason


def _visit(
    folder: Path,
    seen: dict[tuple[int, int], Path],
    pending: list[Path],
    listing: GroupListing,
    input_dir: Path,
    group: str,
) -> None:
    """Queue a sub-folder, unless it is a folder already seen (through a symbolic link): that is reported."""
    try:
        status = folder.stat()
    except OSError:
        return  # gone since it was listed
    identity = (status.st_dev, status.st_ino)
    first = seen.get(identity)
    if first is None:
        seen[identity] = folder
        pending.append(folder)
        return
    target = os.readlink(folder) if folder.is_symlink() else "the same folder"
    problem = FolderSeenTwiceError(
        f"folder {_relative(folder, input_dir)} (a link to {printable(target)}) is folder "
        f"{_relative(first, input_dir)}, already read: not read again"
    )
    listing.failures.append(record_failure(group, _relative(folder, input_dir) + "/", "", problem))


def discover_folder(listing: FolderListing, input_dir: Path, group: str) -> Discovery:
    """Parse a folder's headers: its records, its masters' segment lists, and what fails or is missing. Never
    raises: whatever escapes the per-header checks fails the folder's headers (and numerics tables) not yet
    reported, as one record each, so the counts still reconcile."""
    found = Discovery()
    try:
        _discover(listing, input_dir, group, found)
    except Exception as exc:  # the boundary of a record set: it fails, the group goes on
        reported = {failure.path for failure in found.failures} | {task.relative_path for task in found.tasks}
        tables = {name: name[: -len(".csv.gz")] for name in _numerics_tables(listing)}
        for name, record in {**{name: _stem(name) for name in listing.headers}, **tables}.items():
            relative = _relative(listing.path / name, input_dir)
            if relative not in reported:
                found.failures.append(record_failure(group, relative, record, exc))
    return found


def _numerics_tables(listing: FolderListing) -> list[str]:
    return sorted(name for name in listing.sizes if is_numerics_csv(name))


def _discover(listing: FolderListing, input_dir: Path, group: str, found: Discovery) -> None:
    parsed: list[tuple[Path, Header]] = []
    record_set = _relative(listing.path, input_dir)
    for name in listing.headers:
        path = listing.path / name
        relative = _in_folder(record_set, name)
        try:
            header = read_header(path)
            if header.name != _stem(name):
                raise RecordNameMismatchError(
                    f"header {printable(name)} names record {header.name!r}: WFDB reads record "
                    f"{header.name} from {header.name}.hea"
                )
        except Exception as exc:  # any failure of one header fails its record only
            found.headers["unparsable"] += 1
            found.failures.append(record_failure(group, relative, _stem(name), exc))
            continue
        parsed.append((path, header))
    masters = [(path, header) for path, header in parsed if isinstance(header, MultiSegmentHeader)]
    layouts = {master.segments[0][0] for _, master in masters if master.segments[0][1] == 0}
    records: list[tuple[Path, RecordHeader]] = []
    for path, header in parsed:
        if isinstance(header, MultiSegmentHeader):
            found.headers["master"] += 1
        elif not any(spec.stored_in_file for spec in header.signals):
            layout = header.name.endswith("_layout") or header.name in layouts
            found.headers["layout" if layout else "no_signal_files"] += 1
        else:
            found.headers["record"] += 1
            records.append((path, header))

    segment_starts = _segment_start_times(masters, input_dir, group, found)
    for path, header in records:
        relative = _in_folder(record_set, path.name)
        try:
            start = _start_time(header, segment_starts.get(path.stem))
        except OverflowError:
            found.failures.append(record_failure(group, relative, header.name, _calendar_error(path, header)))
            continue
        found.tasks.append(_record_task(group, record_set, relative, path, header, start, listing.sizes))
    by_name = {master.name: master for _, master in masters}
    for name in _numerics_tables(listing):
        master = by_name.get(name[: -len("n.csv.gz")])
        found.tasks.append(
            numerics_csv_task(
                group,
                record_set,
                _in_folder(record_set, name),
                listing.path / name,
                master,
                _master_start(master),
                listing.sizes[name],
            )
        )

    present = {_stem(name) for name in listing.headers}
    missing: dict[str, Path] = {}  # each missing segment once, however many times masters list it
    for path, master in masters:
        for segment, _length in master.segments:
            if segment != "~" and segment not in present:
                missing.setdefault(segment, path)
    for segment, path in missing.items():
        problem = MissingSegmentError(
            f"segment {segment} listed by master header {printable(path.name)} is missing"
        )
        relative = _relative(listing.path / f"{segment}.hea", input_dir)
        found.failures.append(record_failure(group, relative, segment, problem))


def _stem(header_name: str) -> str:
    return header_name[: -len(".hea")]


def _in_folder(record_set: str, name: str) -> str:
    """What :func:`_relative` gives for ``name`` in the record set's folder, without path arithmetic."""
    return printable(name) if record_set == "." else f"{record_set}/{printable(name)}"


def _relative(path: Path, input_dir: Path) -> str:
    """A path in the group folder as outputs name it: always valid UTF-8 (see ``printable``)."""
    return printable(path.relative_to(input_dir).as_posix())


def _segment_start_times(
    masters: list[tuple[Path, MultiSegmentHeader]], input_dir: Path, group: str, found: Discovery
) -> dict[str, dt.datetime]:
    """Start of every segment a dated master lists: master start + preceding samples / fs. A master whose
    segments would end past the calendar's last day fails (its segments are summarised, undated by it)."""
    starts: dict[str, dt.datetime] = {}
    for path, master in masters:
        origin = start_datetime(master.base_date, master.base_time)
        if origin is None:
            continue
        offset = 0
        mine: dict[str, dt.datetime] = {}
        try:
            for segment, length in master.segments:
                if segment != "~":
                    mine[segment] = origin + dt.timedelta(seconds=offset / master.fs)
                offset += length
            origin + dt.timedelta(seconds=offset / master.fs)  # the master's end must be a date too
        except OverflowError:
            found.failures.append(
                record_failure(group, _relative(path, input_dir), master.name, _calendar_error(path, master))
            )
            continue
        starts.update(mine)
    return starts


def _calendar_error(path: Path, header: MultiSegmentHeader | RecordHeader) -> HeaderInvalidError:
    return HeaderInvalidError(
        f"header {printable(path.name)}: base date {header.base_date} and time {header.base_time} with "
        f"{header.sig_len if isinstance(header, RecordHeader) else 'its segments'} samples at {header.fs} Hz "
        "reach past the calendar's last day (9999-12-31)"
    )


def _master_start(master: MultiSegmentHeader | None) -> RecordStart:
    """A record's start as its master header gives it (the start of a numerics table's record)."""
    return RecordStart(None, None) if master is None else _start_time(master, None)


def _start_time(header: Header, from_master: dt.datetime | None) -> RecordStart:
    """The record's start: its own date and time; else its time of day dated by its master (whose offset
    picks the day, even across midnight); else the master's offset alone; else only its time of day. To the
    millisecond, as the outputs hold it (truncated, as WFDB prints times; a master's offset is rounded)."""
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
        own = own.replace(microsecond=own.microsecond // 1000 * 1000)
        return RecordStart(own, own.time().isoformat(timespec="milliseconds"))
    if header.base_time is not None:
        return RecordStart(None, header.base_time.isoformat(timespec="milliseconds"))
    return RecordStart(None, None)


def _record_task(
    group: str,
    record_set: str,
    relative: str,
    path: Path,
    header: RecordHeader,
    start: RecordStart,
    sizes: dict[str, int],
) -> RecordTask:
    files = {spec.file_name for spec in header.signals if spec.stored_in_file}
    return RecordTask(
        group=group,
        record_set=record_set,
        record=header.name,
        kind="numerics" if header.name.endswith("n") else "waveform",
        header_path=path,
        relative_path=relative,
        header=header,
        start=start,
        data_bytes=sum(sizes.get(name, 0) for name in files),
    )
