"""Writing the extract step's outputs (names and schema: ``steps.contract``) as one set.

``features.parquet`` and ``errors.jsonl`` are written under temporary names, ``summary.json`` after them with
their sizes and SHA-256 (``SUMMARY_FILES_KEY``); then the three are renamed into place, the summary last. A
run that fails or is killed before the renames replaces nothing; the combine step takes a group's files only
if they are the ones its summary names, so even a run killed between two renames is never read as whole.
Leftover temporary files of a killed run are removed by the next run into the same folder.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from steps.contract.atomic import atomic_files, remove_leftovers
from steps.contract.failure import RecordFailure
from steps.contract.outputs import (
    DIGESTED_FILES,
    ERRORS_FILE,
    FEATURE_SCHEMA,
    FEATURES_FILE,
    SUMMARY_FILE,
    SUMMARY_FILES_KEY,
    file_digest,
)

OUTPUT_FILES = (FEATURES_FILE, ERRORS_FILE, SUMMARY_FILE)  # in the order they are published: summary last


def features_table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=FEATURE_SCHEMA)


def sorted_features(tables: list[pa.Table]) -> pa.Table:
    """One table of every row, in a stable order: record set, record, signal."""
    table = pa.concat_tables(tables) if tables else features_table([])
    return table.sort_by(
        [("record_set", "ascending"), ("record", "ascending"), ("signal_index", "ascending")]
    )


def remove_output_leftovers(output_dir: Path) -> list[Path]:
    """Temporary files a killed run left beside the outputs (ours only, by their exact name shape)."""
    return remove_leftovers(output_dir, OUTPUT_FILES)


def write_group_outputs(
    output_dir: Path, features: pa.Table, failures: Iterable[RecordFailure], summary: dict[str, Any]
) -> None:
    """The three files as one set: ``summary`` (completed with the other two's digests) vouches for them."""
    if not features.schema.equals(FEATURE_SCHEMA):
        raise ValueError(f"features table does not have the agreed schema: {features.schema.names}")
    with atomic_files(output_dir, OUTPUT_FILES) as temporaries:
        pq.write_table(features, temporaries[FEATURES_FILE], compression="snappy")
        _write_errors(failures, temporaries[ERRORS_FILE])
        digests = {name: file_digest(temporaries[name]) for name in DIGESTED_FILES}
        _write_json({**summary, SUMMARY_FILES_KEY: digests}, temporaries[SUMMARY_FILE])


def _write_errors(failures: Iterable[RecordFailure], path: Path) -> None:
    # ASCII-escaped JSON, one object a line: no character of a file name can break a line for any reader.
    with open(path, "w", encoding="utf-8", newline="\n") as stream:
        for failure in failures:
            stream.write(json.dumps(asdict(failure), ensure_ascii=True) + "\n")


def _write_json(value: dict[str, Any], path: Path) -> None:
    with open(path, "w", encoding="utf-8") as stream:
        json.dump(value, stream, indent=2, sort_keys=True)
        stream.write("\n")
