"""The extract step's outputs: their schema, and atomic writes (temporary name, then rename)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq

from .failures import RecordFailure

FEATURES_FILE = "features.parquet"
ERRORS_FILE = "errors.jsonl"
SUMMARY_FILE = "summary.json"

FEATURE_SCHEMA = pa.schema(
    [
        ("group", pa.string()),
        ("record_set", pa.string()),
        ("record", pa.string()),
        ("kind", pa.string()),
        ("signal_index", pa.int32()),
        ("signal", pa.string()),
        ("units", pa.string()),
        ("fs", pa.float64()),
        ("n_samples", pa.int64()),
        ("duration_s", pa.float64()),
        ("n_valid", pa.int64()),
        ("mean", pa.float64()),
        ("std", pa.float64()),
        ("min", pa.float64()),
        ("max", pa.float64()),
        ("p05", pa.float64()),
        ("p50", pa.float64()),
        ("p95", pa.float64()),
        ("start_time", pa.string()),
    ]
)
FEATURE_COLUMNS = tuple(FEATURE_SCHEMA.names)
ERROR_FIELDS = ("group", "path", "record", "error", "message")


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A temporary path beside ``target``, renamed onto it only if the block completes."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    os.close(handle)
    try:
        yield Path(temporary)
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


@contextmanager
def atomic_text(target: Path) -> Iterator[IO[str]]:
    with atomic_path(target) as temporary, open(temporary, "w", encoding="utf-8") as stream:
        yield stream
        stream.flush()
        os.fsync(stream.fileno())


def features_table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=FEATURE_SCHEMA)


def sorted_features(tables: list[pa.Table]) -> pa.Table:
    """One table of every row, in a stable order: record set, record, signal."""
    table = pa.concat_tables(tables) if tables else features_table([])
    return table.sort_by(
        [("record_set", "ascending"), ("record", "ascending"), ("signal_index", "ascending")]
    )


def write_features(table: pa.Table, target: Path) -> None:
    if not table.schema.equals(FEATURE_SCHEMA):
        raise ValueError(f"features table does not have the agreed schema: {table.schema.names}")
    with atomic_path(target) as temporary:
        pq.write_table(table, temporary, compression="snappy")


def write_errors(failures: Iterable[RecordFailure], target: Path) -> None:
    with atomic_text(target) as stream:
        for failure in failures:
            stream.write(json.dumps(asdict(failure), ensure_ascii=False) + "\n")


def write_summary(summary: dict[str, Any], target: Path) -> None:
    with atomic_text(target) as stream:
        json.dump(summary, stream, indent=2, sort_keys=True)
        stream.write("\n")
