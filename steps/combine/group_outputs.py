"""Reading the extract step's outputs of every group, and checking them before anything is written.

A group's folder must hold ``features.parquet`` with the extract step's schema, ``errors.jsonl`` and
``summary.json``, and they must agree: the rows and errors the summary counts are the ones in the files,
every row and error names the summary's group, and records discovered = summarised + failed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from steps.contract.failure import ERROR_FIELDS
from steps.contract.outputs import (
    ERRORS_FILE,
    FEATURE_SCHEMA,
    FEATURES_FILE,
    SUMMARY_COUNTS,
    SUMMARY_FILE,
)

from .errors import GroupOutputError, InputFolderError


@dataclass(frozen=True)
class GroupOutputs:
    """One group's checked outputs: its summary and errors in memory, its features left on disk."""

    group: str
    folder: Path
    summary: dict[str, Any]
    errors: list[dict[str, str]]
    rows: int
    parts: tuple[Path, ...]  # folders holding the three files: the group's, or one per host share

    @property
    def features_paths(self) -> list[Path]:
        return [part / FEATURES_FILE for part in self.parts]


GroupFolder = tuple[str | None, Path]  # a group's folder, with the group's name when the caller named it


def read_all_group_outputs(folders: Sequence[GroupFolder]) -> list[GroupOutputs]:
    """Every group's outputs, checked (a folder given with a group's name must hold that group's outputs);
    in group order."""
    outputs = []
    for name, folder in folders:
        output = read_group_outputs(folder)
        if name is not None and output.group != name:
            raise GroupOutputError(name, f"{folder} holds the outputs of group {output.group}, not {name}")
        outputs.append(output)
    seen: dict[str, Path] = {}
    for output in outputs:
        if output.group in seen:
            raise GroupOutputError(
                output.group, f"outputs in two folders: {seen[output.group]} and {output.folder}"
            )
        seen[output.group] = output.folder
    return sorted(outputs, key=lambda output: output.group)


def group_folders(input_dir: Path, expected: Sequence[str] | None) -> list[GroupFolder]:
    """The folders of the groups asked for (each must be there), or every folder there if none are named."""
    if not input_dir.is_dir():
        raise InputFolderError(f"input folder {input_dir} does not exist or is not a folder")
    present = sorted(path for path in input_dir.iterdir() if path.is_dir() and not path.name.startswith("."))
    if expected is None:
        if not present:
            raise InputFolderError(f"input folder {input_dir} holds no group folders")
        return [(None, path) for path in present]
    names = {path.name for path in present}
    missing = [group for group in expected if group not in names]
    if missing:
        raise GroupOutputError(
            missing[0],
            f"no outputs: no folder {input_dir / missing[0]} (groups missing: {', '.join(missing)})",
        )
    return [(group, input_dir / group) for group in dict.fromkeys(expected)]  # each once


def read_group_outputs(folder: Path) -> GroupOutputs:
    """One group folder's outputs, checked against each other; raises GroupOutputError naming the group.

    A group step that ran on several instances wrote one set of outputs per host share (``algo-1/``, ...):
    those are read as one group, their counts added up.
    """
    shares = sorted(part for part in folder.glob("*/") if (part / SUMMARY_FILE).is_file())
    parts = [
        _read_part(part, folder.name)
        for part in ([folder] if (folder / SUMMARY_FILE).is_file() or not shares else shares)
    ]
    groups = {part.group for part in parts}
    if len(groups) > 1:
        raise GroupOutputError(
            folder.name, f"host shares in {folder} name different groups: {sorted(groups)}"
        )
    summary = dict(parts[0].summary)
    for key in SUMMARY_COUNTS:
        summary[key] = sum(part.summary[key] for part in parts)
    return GroupOutputs(
        group=parts[0].group,
        folder=folder,
        summary=summary,
        errors=[error for part in parts for error in part.errors],
        rows=sum(part.rows for part in parts),
        parts=tuple(part.folder for part in parts),
    )


def _read_part(folder: Path, name: str) -> GroupOutputs:
    for file in (FEATURES_FILE, ERRORS_FILE, SUMMARY_FILE):
        if not (folder / file).is_file():
            raise GroupOutputError(name, f"{file} is missing from {folder}")
    summary = _read_summary(folder / SUMMARY_FILE, name)
    group = summary["group"]
    errors = _read_errors(folder / ERRORS_FILE, group)
    rows = _check_features(folder / FEATURES_FILE, group)
    _check_counts(summary, rows, len(errors))
    return GroupOutputs(
        group=group, folder=folder, summary=summary, errors=errors, rows=rows, parts=(folder,)
    )


def read_features(outputs: GroupOutputs) -> pa.Table:
    """The group's whole features table (already checked for schema and group)."""
    try:
        tables = [pq.read_table(path, schema=FEATURE_SCHEMA) for path in outputs.features_paths]
    except (OSError, pa.ArrowException) as exc:
        raise GroupOutputError(outputs.group, f"{FEATURES_FILE} cannot be read: {exc}") from exc
    return pa.concat_tables(tables)


def _read_summary(path: Path, folder_name: str) -> dict[str, Any]:
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GroupOutputError(folder_name, f"{SUMMARY_FILE} is not readable JSON: {exc}") from exc
    if not isinstance(summary, dict) or not isinstance(summary.get("group"), str) or not summary["group"]:
        raise GroupOutputError(folder_name, f"{SUMMARY_FILE} does not name its group")
    wrong = [key for key in SUMMARY_COUNTS if not _is_count(summary.get(key))]
    if wrong:
        raise GroupOutputError(summary["group"], f"{SUMMARY_FILE} lacks counts: {', '.join(wrong)}")
    return summary


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _read_errors(path: Path, group: str) -> list[dict[str, str]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise GroupOutputError(group, f"{ERRORS_FILE} is not readable: {exc}") from exc
    return [_parse_error_line(line, number, group) for number, line in enumerate(lines, start=1)]


def _parse_error_line(line: str, number: int, group: str) -> dict[str, str]:
    try:
        error = json.loads(line)
    except json.JSONDecodeError:
        error = None
    if (
        not isinstance(error, dict)
        or tuple(sorted(error)) != tuple(sorted(ERROR_FIELDS))
        or not all(isinstance(value, str) for value in error.values())
    ):
        fields = ", ".join(ERROR_FIELDS)
        raise GroupOutputError(group, f"{ERRORS_FILE} line {number} is not a JSON object of {fields}")
    if error["group"] != group:
        raise GroupOutputError(group, f"{ERRORS_FILE} line {number} names group {error['group']!r}")
    return error


def _check_features(path: Path, group: str) -> int:
    """The number of rows, after checking the schema and that every row names ``group``."""
    try:
        with pq.ParquetFile(path) as parquet:
            schema = parquet.schema_arrow
            if not schema.equals(FEATURE_SCHEMA):
                difference = schema_difference(schema)
                raise GroupOutputError(
                    group, f"{FEATURES_FILE} does not have the extract step's schema: {difference}"
                )
            rows = parquet.metadata.num_rows
            groups = set(pc.unique(parquet.read(columns=["group"]).column("group")).to_pylist())
    except (OSError, pa.ArrowException) as exc:
        raise GroupOutputError(group, f"{FEATURES_FILE} is not a readable Parquet file: {exc}") from exc
    others = groups - {group}
    if others:
        named = ", ".join(sorted(repr(other) for other in others))
        raise GroupOutputError(group, f"{FEATURES_FILE} holds rows of group {named}")
    return int(rows)


def schema_difference(actual: pa.Schema, expected: pa.Schema = FEATURE_SCHEMA) -> str:
    """How ``actual`` differs from ``expected``, in one line."""
    missing = [name for name in expected.names if name not in actual.names]
    extra = [name for name in actual.names if name not in expected.names]
    retyped = [
        f"{field.name} is {actual.field(field.name).type}, expected {field.type}"
        for field in expected
        if field.name in actual.names and not actual.field(field.name).type.equals(field.type)
    ]
    parts = [
        *([f"missing columns {', '.join(missing)}"] if missing else []),
        *([f"unexpected columns {', '.join(extra)}"] if extra else []),
        *retyped,
    ]
    return "; ".join(parts) or f"columns in another order: {', '.join(actual.names)}"


def _check_counts(summary: dict[str, Any], rows: int, errors: int) -> None:
    group = summary["group"]
    discovered, summarised, failed = (
        summary["records_discovered"],
        summary["records_summarised"],
        summary["records_failed"],
    )
    if discovered != summarised + failed:
        raise GroupOutputError(
            group,
            f"{SUMMARY_FILE}: {discovered} records discovered but {summarised} summarised, {failed} failed",
        )
    if summary["rows"] != rows:
        raise GroupOutputError(
            group, f"{SUMMARY_FILE} counts {summary['rows']} rows, {FEATURES_FILE} holds {rows}"
        )
    if summary["errors_reported"] != errors:
        raise GroupOutputError(
            group, f"{SUMMARY_FILE} counts {summary['errors_reported']} errors, {ERRORS_FILE} holds {errors}"
        )
