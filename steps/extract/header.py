"""WFDB header parsing: wfdb's own grammar and defaults, without its per-field pandas look-ups.

Why not ``wfdb.rdheader``: it costs about 0.6 ms a header (fsspec plus a pandas ``.loc`` per field), which
dominates a group of many tiny segments, and it reads headers with ``errors="ignore"``, silently dropping
non-UTF-8 bytes. This module uses wfdb's regular expressions and read defaults (``wfdb_spec``), so it accepts
exactly the syntax wfdb accepts; ``tests/steps/test_header.py`` checks it against ``wfdb.rdheader`` field by
field.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from steps.contract.failure import printable

from .errors import (
    EmptyFileError,
    HeaderEncodingError,
    HeaderInvalidError,
    HeaderTooLargeError,
    HeaderUnparsableError,
    UnreadableFileError,
)
from .wfdb_spec import RECORD_LINE, SEGMENT_LINE, SIGNAL_LINE, header_lines, parse_base_time

DEFAULT_FS = 250.0  # wfdb's read default for a record line without a sampling frequency
# A header is text of a line per signal or segment: MIMIC-III's largest master headers are tens of KB. The cap
# keeps a file named .hea that is not a header (a disk image, a device) from being read into memory whole.
MAX_HEADER_BYTES = 16 << 20
DEFAULT_ADC_GAIN = 200.0  # WFDB: a missing or zero ADC gain means 200
DEFAULT_UNITS = "mV"


@dataclass(frozen=True)
class SignalSpec:
    """One signal line of a single-segment header."""

    index: int
    name: str
    file_name: str
    fmt: str
    samps_per_frame: int
    skew: int
    byte_offset: int
    adc_gain: float
    baseline: int
    units: str
    init_value: int | None

    @property
    def stored_in_file(self) -> bool:
        return self.file_name != "~" and self.file_name != ""


@dataclass(frozen=True)
class RecordLine:
    """What a header's first line says, whichever kind of header it is."""

    name: str
    n_sig: int
    fs: float
    sig_len: int | None
    base_time: dt.time | None
    base_date: dt.date | None
    # ticks per second of the record's counter (WFDB: the sampling frequency when the line gives none); a
    # MIMIC-IV numerics CSV times its rows in them (numerics_csv)
    counter_freq: float | None = field(default=None, kw_only=True)


@dataclass(frozen=True)
class RecordHeader(RecordLine):
    """A single-segment header: one record whose signals live in signal files (or nowhere, for layouts)."""

    signals: tuple[SignalSpec, ...]


@dataclass(frozen=True)
class MultiSegmentHeader(RecordLine):
    """A multi-segment master header: an ordered list of ``(segment name, samples)``; ``~`` marks a gap."""

    segments: tuple[tuple[str, int], ...]


Header = RecordHeader | MultiSegmentHeader


def read_header(path: Path) -> Header:
    """Read and parse one ``.hea`` file; every failure is a :class:`RecordError` with one clear line."""
    name = printable(path.name)
    raw = _read_regular_file(path, name)
    if not raw:
        raise EmptyFileError(f"header {name} is empty (0 bytes)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HeaderEncodingError(
            f"header {name} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
        ) from exc
    return parse_header(text, source=name)


def _read_regular_file(path: Path, name: str) -> bytes:
    """The bytes of a regular file of at most ``MAX_HEADER_BYTES``. Opened without blocking and checked on
    the open descriptor, so a FIFO nobody writes or a device is refused, not waited on or read forever."""
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise UnreadableFileError(f"cannot read header {name}: {exc.strerror or exc}") from exc
    try:
        status = os.fstat(handle)
        if not stat.S_ISREG(status.st_mode):
            raise UnreadableFileError(f"header {name} is not a regular file but {_file_kind(status.st_mode)}")
        if status.st_size > MAX_HEADER_BYTES:
            raise HeaderTooLargeError(
                f"header {name} holds {status.st_size} bytes, more than a header's {MAX_HEADER_BYTES}"
            )
        chunks = []
        size = 0
        while size <= MAX_HEADER_BYTES:  # one read for a header; more only if the file grew or is odd
            chunk = os.read(handle, max(status.st_size, 1 << 16) + 1)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        raw = b"".join(chunks)
    except OSError as exc:
        raise UnreadableFileError(f"cannot read header {name}: {exc.strerror or exc}") from exc
    finally:
        os.close(handle)
    if len(raw) > MAX_HEADER_BYTES:  # grew while read
        raise HeaderTooLargeError(f"header {name} holds more than a header's {MAX_HEADER_BYTES} bytes")
    return raw


def _file_kind(mode: int) -> str:
    kinds = {
        stat.S_ISFIFO: "a FIFO",
        stat.S_ISCHR: "a character device",
        stat.S_ISBLK: "a block device",
        stat.S_ISSOCK: "a socket",
        stat.S_ISDIR: "a folder",
    }
    return next((kind for test, kind in kinds.items() if test(mode)), "not a regular file")


def parse_header(text: str, source: str = "header") -> Header:
    lines = header_lines(text)
    if not lines:
        raise HeaderUnparsableError(f"{source} has no record line")
    match = RECORD_LINE.match(lines[0])
    if match is None or not match.group("n_sig"):
        raise HeaderUnparsableError(f"{source}: record line is not WFDB syntax: {lines[0][:80]!r}")
    fields = match.groupdict()
    where = f"{source}: record line"
    name = fields["record_name"]
    numbers = _numbers(fields, RECORD_NUMBERS, where)
    n_sig = numbers["n_sig"]  # never absent: the record line's pattern requires it
    fs = numbers.get("fs")
    sig_len = numbers.get("sig_len")
    base_time = _field(fields, "base_time", parse_base_time, where)
    base_date = _field(fields, "base_date", _parse_date, where)
    if fs is None:
        fs = DEFAULT_FS
    elif not (math.isfinite(fs) and fs > 0):
        raise HeaderInvalidError(
            f"{where}: sampling frequency (fs) {fields['fs']!r} is not a positive number"
        )

    body = lines[1:]
    if fields["n_seg"]:
        if not body:  # wfdb fails on it too (it reads the first segment's length)
            raise HeaderUnparsableError(f"{source}: multi-segment header lists no segments")
        return MultiSegmentHeader(
            name=name,
            n_sig=n_sig,
            fs=fs,
            sig_len=sig_len,
            base_time=base_time,
            base_date=base_date,
            segments=tuple(_parse_segment_line(line, source) for line in body),
            counter_freq=numbers.get("counter_freq"),
        )
    if len(body) != n_sig:
        raise HeaderUnparsableError(
            f"{source}: record line declares {n_sig} signals but {len(body)} signal lines follow"
        )
    signals = tuple(_parse_signal_line(index, line, source) for index, line in enumerate(body))
    counter_freq = numbers.get("counter_freq")
    return RecordHeader(name, n_sig, fs, sig_len, base_time, base_date, signals, counter_freq=counter_freq)


def _parse_signal_line(index: int, line: str, source: str) -> SignalSpec:
    match = SIGNAL_LINE.match(line)
    if match is None or not match.group("fmt"):
        raise HeaderUnparsableError(f"{source}: signal line {index + 1} is not WFDB syntax: {line[:80]!r}")
    f = match.groupdict()
    where = f"{source}: signal line {index + 1}"
    numbers = _numbers(f, SIGNAL_NUMBERS, where)
    gain = numbers.get("adc_gain")
    if gain is not None and not math.isfinite(gain):
        raise HeaderInvalidError(f"{where}: ADC gain (adc_gain) {f['adc_gain']!r} is not a finite number")
    adc_zero = numbers.get("adc_zero")
    baseline = numbers.get("baseline")
    samps_per_frame = numbers.get("samps_per_frame")
    return SignalSpec(
        index=index,
        name=f["sig_name"] or "",
        file_name=f["file_name"],
        fmt=f["fmt"],
        samps_per_frame=1 if samps_per_frame is None else samps_per_frame,
        skew=numbers.get("skew", 0),
        byte_offset=numbers.get("byte_offset", 0),
        adc_gain=gain if gain else DEFAULT_ADC_GAIN,  # WFDB: a missing or zero gain means 200
        # As in wfdb: a missing baseline defaults to the ADC zero, else 0.
        baseline=baseline if baseline is not None else (adc_zero if adc_zero is not None else 0),
        units=f["units"] or DEFAULT_UNITS,
        init_value=numbers.get("init_value"),
    )


Value = TypeVar("Value")

# The numeric fields of each kind of line, converted as wfdb converts them: the unused ones too (counter
# frequency, base counter, ADC resolution, checksum, block size), since wfdb refuses a header whose value in
# one of them is not a number.
RECORD_NUMBERS: tuple[tuple[str, Callable[[str], Any]], ...] = (
    ("n_sig", int), ("fs", float), ("counter_freq", float), ("base_counter", float), ("sig_len", int),
)  # fmt: skip
SIGNAL_NUMBERS: tuple[tuple[str, Callable[[str], Any]], ...] = (
    ("samps_per_frame", int), ("skew", int), ("byte_offset", int), ("adc_gain", float), ("baseline", int),
    ("adc_res", int), ("adc_zero", int), ("init_value", int), ("checksum", int), ("block_size", int),
)  # fmt: skip


def _numbers(
    fields: dict[str, str], kinds: tuple[tuple[str, Callable[[str], Any]], ...], where: str
) -> dict[str, Any]:
    """The line's numeric fields that are present, converted; the first that does not convert is named in a
    :class:`HeaderUnparsableError` (found field by field only then: the common case is one pass)."""
    try:
        return {key: convert(fields[key]) for key, convert in kinds if fields[key]}
    except ValueError:
        for key, convert in kinds:
            _field(fields, key, convert, where)
        raise


FIELD_NAMES = {
    "n_sig": "number of signals",
    "fs": "sampling frequency",
    "counter_freq": "counter frequency",
    "base_counter": "base counter value",
    "sig_len": "number of samples",
    "base_time": "base time",
    "base_date": "base date",
    "adc_gain": "ADC gain",
    "adc_zero": "ADC zero",
    "baseline": "baseline",
    "adc_res": "ADC resolution",
    "checksum": "checksum",
    "block_size": "block size",
    "samps_per_frame": "samples per frame",
    "skew": "skew",
    "byte_offset": "byte offset",
    "init_value": "initial value",
    "seg_len": "segment length",
}


def _field(fields: dict[str, str], key: str, convert: Callable[[str], Value], where: str) -> Value | None:
    """One field of a header line, converted as wfdb converts it (None when absent); a value that does not
    convert is a :class:`HeaderUnparsableError` naming the field and the value."""
    text = fields[key]
    if not text:
        return None
    try:
        return convert(text)
    except (ValueError, OverflowError) as exc:
        raise HeaderUnparsableError(
            f"{where}: {FIELD_NAMES[key]} ({key}) {text[:40]!r} is not {_expected(convert)}"
        ) from exc


def _expected(convert: Callable[[str], object]) -> str:
    if convert is int:
        return "a whole number"
    if convert is float:
        return "a number"
    return "a valid date" if convert is _parse_date else "a valid time of day"


def _parse_date(text: str) -> dt.date:
    return dt.datetime.strptime(text, "%d/%m/%Y").date()


def _parse_segment_line(line: str, source: str) -> tuple[str, int]:
    match = SEGMENT_LINE.match(line)
    if match is None:
        raise HeaderUnparsableError(f"{source}: segment line is not WFDB syntax: {line[:80]!r}")
    length = _field(match.groupdict(), "seg_len", int, f"{source}: segment line")
    return match.group("seg_name"), length or 0


def start_datetime(base_date: dt.date | None, base_time: dt.time | None) -> dt.datetime | None:
    if base_date is None or base_time is None:
        return None
    return dt.datetime.combine(base_date, base_time)
