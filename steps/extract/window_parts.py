"""Window rows on their way to windows.parquet, in bounded memory.

A group of hundreds of GB has tens of millions of windows: more than a worker (or the parent) may hold. Each
worker appends its window rows to a part file of its own, a row group at a time (``WindowPart``); the parts
named by successful results are then copied, a row group at a time, into the group's windows.parquet
(``write_windows``). A part a dead worker left is named by no result and is removed with the parts' folder.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from steps.contract.outputs import WINDOW_SCHEMA

from .errors import OutputWriteError

PARTS_FOLDER = ".windows-parts"  # in the output folder, while the step runs
ROWS_PER_GROUP = 65_536  # window rows held before they are written out as a row group


@dataclass
class WindowPart:
    """One worker's part file: window rows appended a record at a time, written a row group at a time."""

    folder: Path
    path: Path | None = None
    rows: int = 0
    first_key: tuple[str, str, int, int] | None = None  # orders the parts the same way on every run
    _held: list[pa.Table] = field(default_factory=list)
    _held_rows: int = 0
    _writer: pq.ParquetWriter | None = None

    def append(self, table: pa.Table) -> None:
        if not table.num_rows:
            return
        if self.first_key is None:
            first = table.slice(0, 1).to_pylist()[0]
            self.first_key = (
                first["record_set"],
                first["record"],
                first["signal_index"],
                first["window_index"],
            )
        self._held.append(table)
        self._held_rows += table.num_rows
        self.rows += table.num_rows
        if self._held_rows >= ROWS_PER_GROUP:
            self._flush()

    def close(self) -> None:
        self._flush()
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def _flush(self) -> None:
        if not self._held:
            return
        try:
            if self._writer is None:
                self.folder.mkdir(parents=True, exist_ok=True)
                self.path = self.folder / f"{uuid.uuid4().hex}.parquet"
                self._writer = pq.ParquetWriter(self.path, WINDOW_SCHEMA, compression="snappy")
            self._writer.write_table(pa.concat_tables(self._held), row_group_size=ROWS_PER_GROUP)
        except OSError as exc:  # the step's output folder, not a record, is at fault: the step fails
            raise OutputWriteError(
                f"cannot write window rows to {self.folder}: {exc.strerror or exc}"
            ) from exc
        self._held = []
        self._held_rows = 0

    def __getstate__(self) -> dict[str, object]:  # sent back from the worker once closed: no open writer
        self.close()
        return {"folder": self.folder, "path": self.path, "rows": self.rows, "first_key": self.first_key}

    def __setstate__(self, state: dict[str, object]) -> None:
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
