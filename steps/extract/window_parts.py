"""Window rows on their way to windows.parquet, in bounded memory.

A group of hundreds of GB has tens of millions of windows: more than a worker (or the parent) may hold. Each
worker appends its window rows to a part file of its own, a row group at a time (``WindowPart``); the parts
named by successful results are then copied, a row group at a time, into the group's windows.parquet
(``write_windows``). A part a dead worker left is named by no result and is removed with the parts' folder.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from steps.contract.outputs import WINDOW_SCHEMA

from .errors import OutputWriteError

PARTS_FOLDER = ".windows-parts"  # in the output folder, while the step runs
ROWS_PER_GROUP = 65_536  # window rows held before they are written out as a row group


_KEYS = WINDOW_SCHEMA.names[:6]  # group, record set, record, kind, signal index, signal: one per signal


class WindowBatch:
    """Window rows not yet written: a signal that is one window as one row (a tuple of every column), the
    others as arrays of their windows' columns; made a table once, for a row group."""

    def __init__(self) -> None:
        self.rows: list[tuple[Any, ...]] = []
        self.blocks: list[tuple[int, tuple[Any, ...], dict[str, np.ndarray]]] = []
        self.count = 0

    def add_row(self, row: tuple[Any, ...]) -> None:
        self.rows.append(row)
        self.count += 1

    def add_columns(self, count: int, keys: tuple[Any, ...], columns: dict[str, np.ndarray]) -> None:
        self.blocks.append((count, keys, columns))
        self.count += count

    def table(self) -> pa.Table:
        tables = []
        if self.rows:
            columns = list(zip(*self.rows, strict=True))
            tables.append(
                pa.table(
                    [
                        pa.array(column, field.type)
                        for column, field in zip(columns, WINDOW_SCHEMA, strict=True)
                    ],
                    schema=WINDOW_SCHEMA,
                )
            )
        if self.blocks:
            arrays: dict[str, Any] = {}
            for position, name in enumerate(_KEYS):
                arrays[name] = [keys[position] for count, keys, _ in self.blocks for _ in range(count)]
            for name in WINDOW_SCHEMA.names[6:]:
                arrays[name] = np.concatenate([columns[name] for _, _, columns in self.blocks])
            tables.append(
                pa.table(
                    [pa.array(arrays[field.name], field.type) for field in WINDOW_SCHEMA],
                    schema=WINDOW_SCHEMA,
                )
            )
        return pa.concat_tables(tables) if tables else WINDOW_SCHEMA.empty_table()


class WindowPart:
    """One worker's part file: window rows gathered in ``batch`` a record at a time, written a row group at a
    time (``flush_if_full``, ``close``)."""

    def __init__(
        self,
        folder: Path,
        path: Path | None = None,
        rows: int = 0,
        first_key: tuple[str, str, int, int] | None = None,
    ) -> None:
        self.folder = folder
        self.path = path
        self.rows = rows  # written
        self.first_key = first_key  # of its first row: orders the parts the same way on every run
        self.batch = WindowBatch()
        self._writer: pq.ParquetWriter | None = None

    def flush_if_full(self) -> None:
        if self.batch.count >= ROWS_PER_GROUP:
            self._flush()

    def close(self) -> None:
        self._flush()
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def _flush(self) -> None:
        if not self.batch.count:
            return
        table = self.batch.table()
        self.batch = WindowBatch()
        if self.first_key is None:
            row = table.slice(0, 1).to_pylist()[0]
            self.first_key = (row["record_set"], row["record"], row["signal_index"], row["window_index"])
        try:
            if self._writer is None:
                self.folder.mkdir(parents=True, exist_ok=True)
                self.path = self.folder / f"{uuid.uuid4().hex}.parquet"
                self._writer = pq.ParquetWriter(self.path, WINDOW_SCHEMA, compression="snappy")
            self._writer.write_table(table, row_group_size=ROWS_PER_GROUP)
        except OSError as exc:  # the step's output folder, not a record, is at fault: the step fails
            raise OutputWriteError(
                f"cannot write window rows to {self.folder}: {exc.strerror or exc}"
            ) from exc
        self.rows += table.num_rows

    def __getstate__(self) -> dict[str, object]:  # sent back from the worker once closed: no open writer
        self.close()
        return {"folder": self.folder, "path": self.path, "rows": self.rows, "first_key": self.first_key}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]


def write_windows(parts: list[WindowPart], destination: Path) -> int:
    """Copy the parts' rows into one Parquet file, a row group at a time; the window rows written."""
    written = 0
    with pq.ParquetWriter(destination, WINDOW_SCHEMA, compression="snappy") as writer:
        for part in sorted((p for p in parts if p.rows), key=lambda p: p.first_key or ("", "", 0, 0)):
            assert part.path is not None
            source = pq.ParquetFile(part.path)
            for index in range(source.num_row_groups):
                group = source.read_row_group(index)
                writer.write_table(group)
                written += group.num_rows
    return written


def remove_parts(output_dir: Path) -> None:
    shutil.rmtree(output_dir / PARTS_FOLDER, ignore_errors=True)


def parts_folder(output_dir: Path) -> Path:
    return output_dir / PARTS_FOLDER
