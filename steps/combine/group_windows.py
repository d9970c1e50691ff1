"""A group's windows: what its ``summary.json`` says of them, and the checks of ``windows.parquet``.

The extract step cuts every signal into windows of ``window_seconds`` (recorded in ``summary.json``) and
writes them to ``windows.parquet``, whose size and SHA-256 the summary names beside the other two files',
and whose rows it counts (``windows``). A window length of 0 means no windows, and no file; so does a summary
without the key, which an extract step older than windows wrote. A file the summary does not vouch for (there,
though the summary records no windows) is another run's, and is refused, as a file of another run is.

The file is checked as it is read later, a bounded batch of rows at a time, never whole: a group of a MIMIC
group's size holds tens of millions of windows. One combine run makes one windows dataset, so every group that
has windows must have been cut with the same length (:func:`common_window_seconds`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from steps.contract.outputs import (
    GROUP_COLUMN,
    SUMMARY_FILE,
    SUMMARY_WINDOW_SECONDS,
    SUMMARY_WINDOWS,
    WINDOW_SCHEMA,
    WINDOWS_FILE,
)

from .errors import GroupOutputError, MixedWindowsError
from .schema_difference import schema_difference
from .strict_json import shown

# Rows of windows in memory at once, read and written: a batch is ~10 MB of Arrow columns, and the combine
# step holds a few (the batch read, its signal names, the row group being written). Tests measure the bound.
WINDOW_BATCH_ROWS = 65_536
# Bytes of a column chunk read at once: the reader streams a row group's pages rather than loading whole
# column chunks (and reads no row group ahead: no pre-buffering), so the bound holds whatever the row groups
# of the file; only its footer, a few kB a row group, is in memory whole.
READ_BUFFER_BYTES = 1 << 20
# Columns every window must have, as every feature row must.
KEY_COLUMNS = (GROUP_COLUMN, "kind", "signal")


def summary_window_seconds(summary: Mapping[str, Any], group: str, where: str) -> float | None:
    """The window length ``summary.json`` records: a number of seconds (0: no windows), or None when it
    records none (an extract step older than windows)."""
    if SUMMARY_WINDOW_SECONDS not in summary:
        return None
    value = summary[SUMMARY_WINDOW_SECONDS]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise GroupOutputError(
            group,
            f"{where}{SUMMARY_FILE}: {SUMMARY_WINDOW_SECONDS} is {shown(value)}, not a number of seconds "
            "(0: no windows)",
        )
    return float(value)


def summary_windows(summary: Mapping[str, Any], window_seconds: float | None, group: str, where: str) -> int:
    """The window rows ``summary.json`` counts: required with windows, 0 (or absent) without."""
    value = summary.get(SUMMARY_WINDOWS)
    if value is None and not window_seconds:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise GroupOutputError(
            group, f"{where}{SUMMARY_FILE}: {SUMMARY_WINDOWS} is {shown(value)}, not a count of window rows"
        )
    if value and not window_seconds:
        raise GroupOutputError(
            group,
            f"{where}{SUMMARY_FILE} counts {value} windows but records a window length of "
            f"{shown(window_seconds)}: it is not one the extract step wrote; run the extract step again",
        )
    return value


def check_windows_present(
    folder: Path, window_seconds: float | None, group: str, where: str, rerun: str
) -> None:
    """``windows.parquet`` is in ``folder`` exactly when the summary records windows (a length above 0)."""
    path = folder / WINDOWS_FILE
    if window_seconds and not path.is_file():
        raise GroupOutputError(
            group,
            f"{where}{WINDOWS_FILE} is missing from {folder} ({SUMMARY_FILE} records windows of "
            f"{window_seconds:g} s)",
        )
    if not window_seconds and (path.exists() or path.is_symlink()):
        raise GroupOutputError(
            group,
            f"{where}{WINDOWS_FILE} is in {folder}, but {SUMMARY_FILE} records no windows "
            f"({SUMMARY_WINDOW_SECONDS} {shown(window_seconds)}): {rerun}",
        )


def check_windows_file(path: Path, group: str, where: str) -> int:
    """The rows of ``windows.parquet`` at ``path``, after checking its schema, that every row names ``group``
    and that none lacks its key columns; read a batch at a time."""
    try:
        with pq.ParquetFile(path, buffer_size=READ_BUFFER_BYTES, pre_buffer=False) as parquet:
            schema = parquet.schema_arrow
            if not schema.equals(WINDOW_SCHEMA):  # metadata is not compared, as for the features
                difference = schema_difference(schema, WINDOW_SCHEMA)
                raise GroupOutputError(
                    group, f"{where}{WINDOWS_FILE} does not have the extract step's schema: {difference}"
                )
            rows = parquet.metadata.num_rows
            nulls = dict.fromkeys(KEY_COLUMNS, 0)
            others: set[str] = set()
            for batch in parquet.iter_batches(batch_size=WINDOW_BATCH_ROWS, columns=list(KEY_COLUMNS)):
                for column in KEY_COLUMNS:
                    nulls[column] += batch.column(column).null_count
                others.update(pc.unique(batch.column(GROUP_COLUMN)).drop_null().to_pylist())
    except (OSError, pa.ArrowException) as exc:
        raise GroupOutputError(group, f"{where}{WINDOWS_FILE} is not a readable Parquet file: {exc}") from exc
    for column, count in nulls.items():
        if count:
            raise GroupOutputError(group, f"{where}{WINDOWS_FILE}: {column} is null in {count:,} row(s)")
    others.discard(group)
    if others:
        named = ", ".join(sorted(shown(other) for other in others))
        raise GroupOutputError(group, f"{where}{WINDOWS_FILE} holds windows of group {named}")
    return int(rows)


def window_batches(paths: Sequence[Path], group: str) -> Iterator[pa.RecordBatch]:
    """The windows of ``paths`` (a group's files, already checked), at most :data:`WINDOW_BATCH_ROWS` rows a
    batch, each checked in full (that every string is UTF-8, which reading does not check)."""
    for path in paths:
        try:
            with pq.ParquetFile(path, buffer_size=READ_BUFFER_BYTES, pre_buffer=False) as parquet:
                for batch in parquet.iter_batches(batch_size=WINDOW_BATCH_ROWS):
                    batch.validate(full=True)
                    yield batch
        except (OSError, pa.ArrowException) as exc:
            raise GroupOutputError(group, f"{WINDOWS_FILE} cannot be read: {exc}") from exc


def common_window_seconds(lengths: Mapping[str, float | None]) -> float | None:
    """The one window length of the groups that have windows (``lengths``: each group's, 0 or None for none);
    None if no group has windows. Windows of several lengths in one dataset could not be told apart (a window
    row does not say its length): refused, naming the groups of each."""
    by_length: dict[float, list[str]] = {}
    for group, length in lengths.items():
        if length:
            by_length.setdefault(length, []).append(group)
    if len(by_length) > 1:
        listed = "; ".join(
            f"{length:g} s in group(s) {', '.join(sorted(groups))}"
            for length, groups in sorted(by_length.items())
        )
        raise MixedWindowsError(
            f"the groups' windows are of different lengths ({listed}): one windows dataset holds windows "
            "of one length; extract these groups again with one window length (the pipeline's "
            "WindowSeconds, the extract step's --window-seconds), or combine them apart"
        )
    return next(iter(by_length), None)
