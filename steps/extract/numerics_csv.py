"""MIMIC-IV numerics: a record's ``<record>n.csv.gz``, one feature row per measurement column.

The MIMIC-IV Waveform Database keeps a record's numerics not as a WFDB record but as one gzip-compressed CSV
table beside its headers: a ``time`` column in counter ticks and a column per measurement (the list differs
between records), a value missing where it was not measured. Each measurement column becomes a row like a
MIMIC-III numerics signal's: kind ``numerics``, record ``<record>n``, the signal and its units from the
column's name (``HR [bpm]``: signal ``HR``, units ``bpm``; units empty when the name carries none), ``fs``
NaN (the rows are irregular), ``n_samples`` the table's rows, ``n_valid`` the values present, ``duration_s``
the time column's last value less its first, in seconds of the record's counter: the master header's counter
frequency (its sampling frequency when it gives none, as WFDB reads it), else MIMIC-IV's 999.56 ticks a
second when the folder has no master. ``start_time`` is the record's, its master header's. The statistics
are exact over the values present (``float_statistics``), streamed from the gzip stream with pyarrow's CSV
reader a block at a time: memory is bounded whatever the file's size. The quality columns are NaN (the
values have no digital format), and a CSV gives no windows.

A table that cannot be read as that (not gzip, no time column, a row of the wrong width, a value that is not
a finite number, a time that is missing or goes back) fails its record alone, as ``malformed_csv``.

Discovery finds a table as a :class:`NumericsCsvTask`; the extract engine summarises every whole record
through :func:`summarise_whole_record`, which hands a table to :func:`summarise_numerics_csv`.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import math
import os
import re
import stat
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from steps.contract.failure import printable
from steps.contract.outputs import GROUP_COLUMN

from .errors import (
    EmptyFileError,
    HeaderInvalidError,
    MalformedCsvError,
    MissingFileError,
    UnreadableFileError,
)
from .float_statistics import StreamedFloats, order_keys
from .header import MultiSegmentHeader, RecordHeader
from .record_summary import RecordStart, RecordTask, summarise_record
from .window_parts import WindowBatch

NUMERICS_CSV_SUFFIX = "n.csv.gz"  # <record>n.csv.gz, beside the record's master header <record>.hea
TIME_COLUMN = "time"  # matched ignoring case and surrounding spaces
MIMIC4_COUNTER_FREQUENCY = 999.56  # ticks a second of MIMIC-IV's counter (its headers' 62.4725/999.56)
MAX_COLUMNS = 1000  # measurement columns summarised at once; a record's are a few dozen
# Decompressed CSV read at a time; a row must fit in one. pyarrow's reader holds some 40 blocks at a time (its
# memory pool peaks at ~11 MB with these, whatever the table's length; ~40 MB with blocks of 1 MiB).
BLOCK_BYTES = 1 << 18
MAX_HEADER_BYTES = BLOCK_BYTES
_UNITS = re.compile(r"(?P<name>.*?)\s*\[(?P<units>[^\[\]]*)\]")
_CONVERSION = re.compile(r"In CSV column #(?P<column>\d+): ")


def is_numerics_csv(file_name: str) -> bool:
    return file_name.endswith(NUMERICS_CSV_SUFFIX) and len(file_name) > len(NUMERICS_CSV_SUFFIX)


@dataclass(frozen=True)
class NumericsCsvTask(RecordTask):
    """A numerics CSV found by discovery: ``header_path`` is the CSV itself and ``header`` a stand-in with no
    signals (so the engine never splits it), carrying the record's name and start."""

    counter_frequency: float = MIMIC4_COUNTER_FREQUENCY


def numerics_csv_task(
    group: str,
    record_set: str,
    relative_path: str,
    path: Path,
    master: MultiSegmentHeader | None,
    start: RecordStart,
    size: int,
) -> NumericsCsvTask:
    """The task of the CSV at ``path``; ``master``: the record's master header in the folder, if any."""
    record = path.name[: -len(".csv.gz")]
    frequency = MIMIC4_COUNTER_FREQUENCY
    if master is not None:
        frequency = master.counter_freq if master.counter_freq is not None else master.fs
    stand_in = RecordHeader(record, 0, math.nan, None, None, None, ())
    return NumericsCsvTask(
        group=group,
        record_set=record_set,
        record=record,
        kind="numerics",
        header_path=path,
        relative_path=relative_path,
        header=stand_in,
        start=start,
        data_bytes=size,
        counter_frequency=frequency,
    )


def summarise_whole_record(
    task: RecordTask, window_seconds: float = 0.0, windows: WindowBatch | None = None
) -> tuple[list[dict[str, Any]], int]:
    """Feature rows of a whole record and the bytes read, whatever its kind: a numerics table here (which
    has no windows: its samples are irregular), a WFDB record by ``record_summary`` (its windows to
    ``windows``)."""
    if isinstance(task, NumericsCsvTask):
        return summarise_numerics_csv(task)
    return summarise_record(task, window_seconds, windows)


def summarise_numerics_csv(task: NumericsCsvTask) -> tuple[list[dict[str, Any]], int]:
    """Feature rows of every measurement column, and the (compressed) bytes read."""
    name = printable(task.header_path.name)
    if not (math.isfinite(task.counter_frequency) and task.counter_frequency > 0):
        raise HeaderInvalidError(
            f"{name}: the master header's counter frequency {task.counter_frequency} is not a positive number"
        )
    size = _regular_file_size(task.header_path, name)
    columns: list[str] = []
    try:
        columns = _column_names(task.header_path)
        summary = _summarised(task.header_path, columns)
    except MalformedCsvError as exc:
        raise MalformedCsvError(f"{name}: {exc}") from None
    except (pa.ArrowException, OSError, EOFError, zlib.error, ValueError) as exc:  # gzip's, zlib's, pyarrow's
        raise MalformedCsvError(f"{name}: {_reason(exc, columns)}") from None
    return _rows(task, summary), size


@dataclass
class _Summary:
    rows: int
    first_time: float
    last_time: float
    measurements: list[tuple[int, str, StreamedFloats]]  # CSV column index, column name, its values


def _regular_file_size(path: Path, name: str) -> int:
    try:
        status = os.stat(path)
    except FileNotFoundError:
        raise MissingFileError(f"numerics file {name} is missing") from None
    except OSError as exc:
        raise UnreadableFileError(f"cannot read numerics file {name}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(status.st_mode):
        raise UnreadableFileError(f"numerics file {name} is not a regular file")
    if status.st_size == 0:
        raise EmptyFileError(f"numerics file {name} is empty (0 bytes)")
    return status.st_size


def _column_names(path: Path) -> list[str]:
    """The header row's names: a time column, at most :data:`MAX_COLUMNS` others, each named once."""
    try:
        with gzip.open(path, "rb") as stream:
            line = stream.readline(MAX_HEADER_BYTES + 1)
    except gzip.BadGzipFile as exc:
        raise MalformedCsvError(f"not gzip-compressed ({exc})") from None
    if not line.strip():
        raise MalformedCsvError("no header row")
    if len(line) > MAX_HEADER_BYTES:
        raise MalformedCsvError(f"the header row is longer than {MAX_HEADER_BYTES} bytes")
    try:
        text = codecs.decode(line, "utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MalformedCsvError(f"the header row is not UTF-8 (byte at offset {exc.start})") from None
    (names,) = list(csv.reader([text.rstrip("\r\n")])) or [[]]
    stripped = [column.strip() for column in names]
    times = [index for index, column in enumerate(stripped) if column.lower() == TIME_COLUMN]
    if not times:
        raise MalformedCsvError(f"no {TIME_COLUMN} column in its header row ({_listed(stripped)})")
    if "" in stripped:
        raise MalformedCsvError(f"column {stripped.index('') + 1} of its header row has no name")
    twice = sorted({column for column in stripped if stripped.count(column) > 1})
    if twice:
        raise MalformedCsvError(f"column {twice[0]!r} appears twice in its header row")
    if len(names) - 1 > MAX_COLUMNS:
        raise MalformedCsvError(f"{len(names) - 1} measurement columns, more than the {MAX_COLUMNS} read")
    return names


def _listed(names: Sequence[str]) -> str:
    shown = ", ".join(repr(name) for name in names[:5])
    return shown + (", ..." if len(names) > 5 else "") if names else "none"


def _batches(path: Path, columns: list[str]) -> Iterator[Any]:
    """The table's record batches, every column float64 (an empty cell: null), a block at a time."""
    read = pacsv.ReadOptions(column_names=columns, skip_rows=1, block_size=BLOCK_BYTES, use_threads=False)
    convert = pacsv.ConvertOptions(column_types={column: pa.float64() for column in columns})
    with pa.input_stream(str(path), compression="gzip") as stream:
        reader = pacsv.open_csv(stream, read_options=read, convert_options=convert)
        try:
            yield from reader
        finally:
            reader.close()


def _summarised(path: Path, columns: list[str]) -> _Summary:
    """Pass one over the table (counts, moments, time span), then the passes the percentiles need."""
    time_index = next(index for index, column in enumerate(columns) if column.strip().lower() == TIME_COLUMN)
    summary = _Summary(0, math.nan, math.nan, [])
    summary.measurements = [
        (index, column, StreamedFloats()) for index, column in enumerate(columns) if index != time_index
    ]
    for batch in _batches(path, columns):
        _check_times(batch.column(time_index), summary)
        for index, column, values in summary.measurements:
            values.add(_present(batch.column(index), column, summary.rows))
        summary.rows += batch.num_rows
    while True:
        pending = [(index, values.counts_to_refine()) for index, _, values in summary.measurements]
        pending = [(index, counts) for index, counts in pending if counts]
        if not pending:
            return summary
        for batch in _batches(path, columns):
            for index, counts in pending:
                keys = order_keys(_present(batch.column(index), columns[index], 0))
                for count in counts:
                    count.add(keys)
        for _, _, values in summary.measurements:
            values.settle()


def _present(array: Any, column: str, rows_before: int) -> np.ndarray:
    """A column's values present in a batch (nulls left out); a value that is not finite is malformed."""
    values = np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.float64)  # a null is NaN here
    infinite = np.flatnonzero(np.isinf(values))
    if infinite.size:
        line = rows_before + int(infinite[0]) + 2  # the header is line 1
        raise MalformedCsvError(
            f"line {line}: {column.strip()!r} is {values[infinite[0]]}, not a finite number"
        )
    return values[~np.isnan(values)]


def _check_times(array: Any, summary: _Summary) -> None:
    times = np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.float64)
    if times.size == 0:
        return
    bad = np.flatnonzero(~np.isfinite(times))
    if bad.size:
        raise MalformedCsvError(f"line {summary.rows + int(bad[0]) + 2}: no time (a finite number)")
    previous = np.concatenate([[summary.last_time if summary.rows else times[0]], times[:-1]])
    back = np.flatnonzero(times < previous)
    if back.size:
        line = summary.rows + int(back[0]) + 2
        raise MalformedCsvError(
            f"line {line}: time {times[back[0]]:g} goes back (from {previous[back[0]]:g})"
        )
    if not summary.rows:
        summary.first_time = float(times[0])
    summary.last_time = float(times[-1])


def _reason(exc: BaseException, columns: Sequence[str]) -> str:
    """pyarrow's and zlib's errors as one line, a column's number given as its name."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    found = _CONVERSION.search(text)
    if found and int(found["column"]) < len(columns):
        text = _CONVERSION.sub(f"column {columns[int(found['column'])].strip()!r}: ", text, count=1)
    return text


def measurement_name(column: str) -> tuple[str, str]:
    """A column's signal name and units: ``HR [bpm]`` is ``("HR", "bpm")``; a name without units keeps them
    empty."""
    found = _UNITS.fullmatch(column.strip())
    if found and found["name"]:
        return found["name"], found["units"].strip()
    return column.strip(), ""


def _rows(task: NumericsCsvTask, summary: _Summary) -> list[dict[str, Any]]:
    duration = (summary.last_time - summary.first_time) / task.counter_frequency if summary.rows else math.nan
    rows = []
    for signal_index, (_, column, values) in enumerate(summary.measurements):
        stats = values.statistics()
        signal, units = measurement_name(column)
        rows.append(
            {
                GROUP_COLUMN: task.group,
                "record_set": task.record_set,
                "record": task.record,
                "kind": task.kind,
                "signal_index": signal_index,
                "signal": signal,
                "units": units,
                "fs": math.nan,  # irregular rows
                "n_samples": summary.rows,
                "duration_s": duration,
                **stats.columns(),
                "clip_fraction": math.nan,  # no digital format: neither clipping nor flat runs of it
                "flat_fraction": math.nan,
                "start_time": task.start.date_time,
                "start_time_of_day": task.start.time_of_day,
            }
        )
    return rows
