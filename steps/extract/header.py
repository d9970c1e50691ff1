"""WFDB header parsing: wfdb's own grammar and defaults, without its per-field pandas look-ups.

Why not ``wfdb.rdheader``: it costs about 0.6 ms a header (fsspec plus a pandas ``.loc`` per field), which
dominates a group of many tiny segments, and it reads headers with ``errors="ignore"``, silently dropping
non-UTF-8 bytes. This module uses wfdb's regular expressions and read defaults (``wfdb_spec``), so it accepts
exactly the syntax wfdb accepts; ``tests/steps/test_header.py`` checks it against ``wfdb.rdheader`` field by
field.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from .errors import EmptyFileError, HeaderEncodingError, HeaderUnparsableError, UnreadableFileError
from .wfdb_spec import RECORD_LINE, SEGMENT_LINE, SIGNAL_LINE, header_lines, parse_base_time

DEFAULT_FS = 250.0  # wfdb's read default for a record line without a sampling frequency
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
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UnreadableFileError(f"cannot read header {path.name}: {exc.strerror or exc}") from exc
    if not raw:
        raise EmptyFileError(f"header {path.name} is empty (0 bytes)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HeaderEncodingError(
            f"header {path.name} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
        ) from exc
    return parse_header(text, source=path.name)


def parse_header(text: str, source: str = "header") -> Header:
    lines = header_lines(text)
    if not lines:
        raise HeaderUnparsableError(f"{source} has no record line")
    match = RECORD_LINE.match(lines[0])
    if match is None or not match.group("n_sig"):
        raise HeaderUnparsableError(f"{source}: record line is not WFDB syntax: {lines[0][:80]!r}")
    fields = match.groupdict()
    name = fields["record_name"]
    n_sig = int(fields["n_sig"])
    fs = float(fields["fs"]) if fields["fs"] else DEFAULT_FS
    sig_len = int(fields["sig_len"]) if fields["sig_len"] else None
    try:
        base_time = parse_base_time(fields["base_time"]) if fields["base_time"] else None
        base_date = (
            dt.datetime.strptime(fields["base_date"], "%d/%m/%Y").date() if fields["base_date"] else None
        )
    except ValueError as exc:
        raise HeaderUnparsableError(f"{source}: bad base time or date in record line: {exc}") from exc

    body = lines[1:]
    if fields["n_seg"]:
        return MultiSegmentHeader(
            name=name,
            n_sig=n_sig,
            fs=fs,
            sig_len=sig_len,
            base_time=base_time,
            base_date=base_date,
            segments=tuple(_parse_segment_line(line, source) for line in body),
        )
    if len(body) != n_sig:
        raise HeaderUnparsableError(
            f"{source}: record line declares {n_sig} signals but {len(body)} signal lines follow"
        )
    signals = tuple(_parse_signal_line(index, line, source) for index, line in enumerate(body))
    return RecordHeader(name, n_sig, fs, sig_len, base_time, base_date, signals)


def _parse_signal_line(index: int, line: str, source: str) -> SignalSpec:
    match = SIGNAL_LINE.match(line)
    if match is None or not match.group("fmt"):
        raise HeaderUnparsableError(f"{source}: signal line {index + 1} is not WFDB syntax: {line[:80]!r}")
    f = match.groupdict()
    try:
        gain = float(f["adc_gain"]) if f["adc_gain"] else DEFAULT_ADC_GAIN
    except ValueError as exc:
        raise HeaderUnparsableError(
            f"{source}: signal line {index + 1} has a bad ADC gain {f['adc_gain']!r}"
        ) from exc
    adc_zero = int(f["adc_zero"]) if f["adc_zero"] else None
    # As in wfdb: a missing baseline defaults to the ADC zero, else 0.
    baseline = int(f["baseline"]) if f["baseline"] else (adc_zero if adc_zero is not None else 0)
    return SignalSpec(
        index=index,
        name=f["sig_name"] or "",
        file_name=f["file_name"],
        fmt=f["fmt"],
        samps_per_frame=int(f["samps_per_frame"]) if f["samps_per_frame"] else 1,
        skew=int(f["skew"]) if f["skew"] else 0,
        byte_offset=int(f["byte_offset"]) if f["byte_offset"] else 0,
        adc_gain=gain if gain != 0 else DEFAULT_ADC_GAIN,
        baseline=baseline,
        units=f["units"] or DEFAULT_UNITS,
        init_value=int(f["init_value"]) if f["init_value"] else None,
    )


def _parse_segment_line(line: str, source: str) -> tuple[str, int]:
    match = SEGMENT_LINE.match(line)
    if match is None:
        raise HeaderUnparsableError(f"{source}: segment line is not WFDB syntax: {line[:80]!r}")
    return match.group("seg_name"), int(match.group("seg_len"))


def start_datetime(base_date: dt.date | None, base_time: dt.time | None) -> dt.datetime | None:
    if base_date is None or base_time is None:
        return None
    return dt.datetime.combine(base_date, base_time)
