"""Writing the extract step's outputs (names and schema: ``steps.contract``), each atomically."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from steps.contract.atomic import atomic_path, atomic_text
from steps.contract.failure import RecordFailure
from steps.contract.outputs import FEATURE_SCHEMA


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
