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
    SUMMARY_WINDOWS,
    WINDOWS_FILE,
    file_digest,
)

from .window_parts import WindowPart, parts_folder, remove_parts, write_windows

# In the order they are published: summary last. The windows file is written only when windows are asked for.
OUTPUT_FILES = (FEATURES_FILE, WINDOWS_FILE, ERRORS_FILE, SUMMARY_FILE)


def features_table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=FEATURE_SCHEMA)


def sorted_features(tables: list[pa.Table]) -> pa.Table:
    """One table of every row, in a stable order: record set, record, signal."""
    table = pa.concat_tables(tables) if tables else features_table([])
    return table.sort_by(
        [("record_set", "ascending"), ("record", "ascending"), ("signal_index", "ascending")]
    )


def remove_output_leftovers(output_dir: Path) -> list[Path]:
    """Temporary files a killed run left beside the outputs (ours only, by their exact name shape), and the
    window rows' part files."""
    removed = remove_leftovers(output_dir, OUTPUT_FILES)
    parts = parts_folder(output_dir)
    if parts.is_dir() and not parts.is_symlink():
        remove_parts(output_dir)
        removed.append(parts)
    return removed


def write_group_outputs(
    output_dir: Path,
    features: pa.Table,
    windows: list[WindowPart] | None,
    failures: Iterable[RecordFailure],
    summary: dict[str, Any],
) -> None:
    """The files as one set: ``summary`` (completed with the others' digests) vouches for them. ``windows``:
    the part files holding the window rows; None: no windows were asked for, and no windows file is written
    (one a run before left is removed)."""
    if not features.schema.equals(FEATURE_SCHEMA):
        raise ValueError(f"features table does not have the agreed schema: {features.schema.names}")
    names = tuple(name for name in OUTPUT_FILES if windows is not None or name != WINDOWS_FILE)
    with atomic_files(output_dir, names) as temporaries:
        pq.write_table(features, temporaries[FEATURES_FILE], compression="snappy")
        if windows is not None:
            written = write_windows(windows, temporaries[WINDOWS_FILE])
            if written != summary[SUMMARY_WINDOWS]:
                raise ValueError(
                    f"internal error: {written} window rows written, {summary[SUMMARY_WINDOWS]} counted"
                )
        _write_errors(failures, temporaries[ERRORS_FILE])
        digested = (*DIGESTED_FILES, WINDOWS_FILE) if windows is not None else DIGESTED_FILES
        digests = {name: file_digest(temporaries[name]) for name in digested}
        _write_json({**summary, SUMMARY_FILES_KEY: digests}, temporaries[SUMMARY_FILE])
    if windows is None:
        (output_dir / WINDOWS_FILE).unlink(missing_ok=True)  # a file of an earlier run would mislead


def _write_errors(failures: Iterable[RecordFailure], path: Path) -> None:
    # ASCII-escaped JSON, one object a line: no character of a file name can break a line for any reader.
    with open(path, "w", encoding="utf-8", newline="\n") as stream:
        for failure in failures:
            stream.write(json.dumps(asdict(failure), ensure_ascii=True) + "\n")


def _write_json(value: dict[str, Any], path: Path) -> None:
    with open(path, "w", encoding="utf-8") as stream:
        json.dump(value, stream, indent=2, sort_keys=True)
        stream.write("\n")
