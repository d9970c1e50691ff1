"""Reading the extract step's outputs of every group, and checking them before anything is written.

A group's folder must hold ``features.parquet`` with the extract step's schema, ``errors.jsonl`` and
``summary.json``, and they must agree: they are the very files the summary describes (its ``files``: their
size, then their SHA-256), so a set that two runs, or a killed one, left mixed is never read as one; the
summary names the group the folder is (the folder's name, or the name given with ``--group-output``; host
shares ``algo-N/`` belong to their folder's group); the rows and errors the summary counts are the ones in the
files, every row and error names that group, and records discovered = summarised + failed. ``errors.jsonl``
is read line by line, lines ending at ``\n`` only (a record's name may hold any other line separator); a line
that is not a JSON object of text fields, or longer than :data:`MAX_ERROR_LINE_BYTES`, is refused with its
number.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from steps.contract.failure import ERROR_FIELDS
from steps.contract.outputs import (
    DIGESTED_FILES,
    ERRORS_FILE,
    FEATURE_SCHEMA,
    FEATURES_FILE,
    GROUP_COLUMN,
    SUMMARY_COUNTS,
    SUMMARY_FILE,
    SUMMARY_FILES_KEY,
    SUMMARY_HOST_COUNT,
    SUMMARY_HOST_INDEX,
    SUMMARY_WINDOWS,
    WINDOWS_FILE,
    file_digest,
)

from .errors import GroupOutputError, InputFolderError
from .group_windows import check_windows_file, check_windows_present, summary_window_seconds, summary_windows
from .schema_difference import schema_difference
from .strict_json import NotJsonError, json_problem, shown, strict_json

# An error line holds a path, a record's name and a one-line message: far less than this. A longer line is not
# one the extract step wrote.
MAX_ERROR_LINE_BYTES = 1 << 20
MAX_SUMMARY_BYTES = 1 << 20
GROUP_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
RERUN = "the outputs mix two extract runs, or an extract run was interrupted; run the extract step again"
# Columns every row must have: the group it belongs to, and the signal it summarises (and its record's kind).
KEY_COLUMNS = (GROUP_COLUMN, "kind", "signal")


@dataclass(frozen=True)
class GroupOutputs:
    """One group's checked outputs: its summary and errors in memory, its features left on disk."""

    group: str
    folder: Path
    summary: dict[str, Any]
    errors: list[dict[str, str]]
    rows: int
    parts: tuple[Path, ...]  # folders holding the three files: the group's, or one per host share
    part_summaries: tuple[dict[str, Any], ...]  # each part's own summary.json, in the order of ``parts``
    # the length its windows were cut with (every share's): 0 none were, None the summary does not say
    window_seconds: float | None = None
    windows: int = 0  # window rows, in windows.parquet (of every share)

    @property
    def features_paths(self) -> list[Path]:
        return [part / FEATURES_FILE for part in self.parts]

    @property
    def windows_paths(self) -> list[Path]:
        """Each share's ``windows.parquet``; none when the group has no windows."""
        return [part / WINDOWS_FILE for part in self.parts] if self.window_seconds else []


GroupFolder = tuple[str, Path]  # a group's name and the folder holding its outputs


def group_name_problem(name: str) -> str:
    """Why ``name`` cannot be a group's name; empty if it can be. A group is a folder of that name here and
    in the dataset, where every reader must see it: so letters, digits, ``.``, ``_`` and ``-``, not first a
    ``.`` or ``_`` (which readers skip as hidden) and no ``=`` (which they take for a hive partition)."""
    if not name:
        return "a group's name cannot be empty"
    if not GROUP_NAME.fullmatch(name):
        return (
            f"{shown(name)} cannot be a group's name: letters, digits, '.', '_' and '-', starting with a "
            "letter or digit (the dataset's readers skip a folder starting with '.' or '_')"
        )
    return ""


def read_all_group_outputs(folders: Sequence[GroupFolder]) -> list[GroupOutputs]:
    """Every group's outputs, checked (each folder must hold the outputs of the group it is named for); in
    group order."""
    seen: dict[str, Path] = {}
    for name, folder in folders:
        if name in seen:
            raise GroupOutputError(name, f"outputs in two folders: {seen[name]} and {folder}")
        seen[name] = folder
    outputs = [read_group_outputs(folder, name) for name, folder in folders]
    return sorted(outputs, key=lambda output: output.group)


def group_folders(input_dir: Path, expected: Sequence[str] | None) -> list[GroupFolder]:
    """The folders of the groups asked for (each must be there), or every folder there if none are named;
    each named for its group."""
    if not input_dir.is_dir():
        raise InputFolderError(f"input folder {input_dir} does not exist or is not a folder")
    present = sorted(path for path in input_dir.iterdir() if path.is_dir() and not path.name.startswith("."))
    if expected is None:
        if not present:
            raise InputFolderError(f"input folder {input_dir} holds no group folders")
        return [(path.name, path) for path in present]
    names = {path.name for path in present}
    missing = [group for group in expected if group not in names]
    if missing:
        raise GroupOutputError(
            missing[0],
            f"no outputs: no folder {input_dir / missing[0]} (groups missing: {', '.join(missing)})",
        )
    return [(group, input_dir / group) for group in dict.fromkeys(expected)]  # each once


def read_group_outputs(folder: Path, group: str | None = None) -> GroupOutputs:
    """One group folder's outputs, checked against each other and against ``group`` (default: the folder's
    name); raises GroupOutputError naming the group.

    A group step that ran on several instances wrote one set of outputs per host share (``algo-1/``, ...):
    those are read as one group, their counts added up. A folder holding both its own outputs and host shares
    holds two runs' outputs, and is refused.
    """
    group = folder.name if group is None else group
    own = (folder / SUMMARY_FILE).is_file()
    shares = sorted(part for part in folder.glob("*/") if (part / SUMMARY_FILE).is_file())
    if own and shares:
        names = ", ".join(share.name for share in shares)
        raise GroupOutputError(
            group, f"{folder} holds both a whole group's outputs and host shares ({names}): {RERUN}"
        )
    parts = [
        _read_part(part, group, "" if part == folder else f"{part.name}/")
        for part in ([folder] if own or not shares else shares)
    ]
    _check_host_shares(parts, group)
    lengths = {part.window_seconds for part in parts}
    if len(lengths) > 1:
        listed = ", ".join(f"{part.folder.name}/ {shown(part.window_seconds)}" for part in parts)
        raise GroupOutputError(group, f"host shares with windows of different lengths ({listed}): {RERUN}")
    summary = dict(parts[0].summary)
    for key in SUMMARY_COUNTS:
        summary[key] = sum(part.summary[key] for part in parts)
    if parts[0].window_seconds:
        summary[SUMMARY_WINDOWS] = sum(part.windows for part in parts)
    return GroupOutputs(
        group=group,
        folder=folder,
        summary=summary,
        errors=[error for part in parts for error in part.errors],
        rows=sum(part.rows for part in parts),
        parts=tuple(part.folder for part in parts),
        part_summaries=tuple(part.summary for part in parts),
        window_seconds=parts[0].window_seconds,
        windows=sum(part.windows for part in parts),
    )


def _check_host_shares(parts: Sequence[GroupOutputs], group: str) -> None:
    """Every host share of the group there, each once: a share missing would drop its records silently."""
    shares: list[tuple[int, int]] = []
    for part in parts:
        index, count = part.summary.get(SUMMARY_HOST_INDEX), part.summary.get(SUMMARY_HOST_COUNT)
        if not (_is_count(index) and _is_count(count) and index < count):
            where = f"{part.folder.name}/" if len(parts) > 1 else ""
            raise GroupOutputError(
                group,
                f"{where}{SUMMARY_FILE}: {SUMMARY_HOST_INDEX} {shown(index)} and {SUMMARY_HOST_COUNT} "
                f"{shown(count)} do not name a host share",
            )
        shares.append((index, count))
    counts = {count for _, count in shares}
    if len(counts) > 1:
        raise GroupOutputError(group, f"host shares of runs on {sorted(counts)} instances: {RERUN}")
    [count] = counts
    indexes = sorted(index for index, _ in shares)
    if indexes != list(range(count)):
        missing = sorted(set(range(count)) - set(indexes))
        raise GroupOutputError(
            group,
            f"the step ran on {count} instances but the outputs hold shares {[i + 1 for i in indexes]}"
            + (f"; share {', '.join(str(i + 1) for i in missing)} is missing" if missing else "")
            + (f": {RERUN}" if not missing else ""),
        )


def _read_part(folder: Path, group: str, where: str) -> GroupOutputs:
    """The outputs in ``folder`` (``where`` names it in messages: empty, or ``algo-2/`` for a host share)."""
    for file in (FEATURES_FILE, ERRORS_FILE, SUMMARY_FILE):
        if not (folder / file).is_file():
            raise GroupOutputError(group, f"{where}{file} is missing from {folder}")
    summary = _read_summary(folder / SUMMARY_FILE, group, where)
    if summary["group"] != group:
        raise GroupOutputError(
            group,
            f"{folder} holds the outputs of group {summary['group']!r} ({where}{SUMMARY_FILE}), not {group}",
        )
    window_seconds = summary_window_seconds(summary, group, where)
    counted_windows = summary_windows(summary, window_seconds, group, where)
    digested = (*DIGESTED_FILES, WINDOWS_FILE) if window_seconds else DIGESTED_FILES
    check_windows_present(folder, window_seconds, group, where, RERUN)
    _check_digests(folder, summary, group, where, digested)
    errors = _read_errors(folder / ERRORS_FILE, group, where)
    rows = _check_features(folder / FEATURES_FILE, group, where)
    _check_counts(summary, rows, len(errors), where)
    windows = check_windows_file(folder / WINDOWS_FILE, group, where) if window_seconds else 0
    if windows != counted_windows:
        raise GroupOutputError(
            group, f"{where}{SUMMARY_FILE} counts {counted_windows} windows, {WINDOWS_FILE} holds {windows}"
        )
    return GroupOutputs(
        group=group,
        folder=folder,
        summary=summary,
        errors=errors,
        rows=rows,
        parts=(folder,),
        part_summaries=(summary,),
        window_seconds=window_seconds,
        windows=windows,
    )


def read_features(outputs: GroupOutputs) -> pa.Table:
    """The group's whole features table (already checked for schema and group)."""
    try:
        tables = [pq.read_table(path, schema=FEATURE_SCHEMA) for path in outputs.features_paths]
        for table in tables:
            table.validate(full=True)  # e.g. that every string is UTF-8, which reading does not check
    except (OSError, pa.ArrowException) as exc:
        raise GroupOutputError(outputs.group, f"{FEATURES_FILE} cannot be read: {exc}") from exc
    return pa.concat_tables(tables)


def _read_summary(path: Path, group: str, where: str) -> dict[str, Any]:
    try:
        if path.stat().st_size > MAX_SUMMARY_BYTES:
            raise NotJsonError(f"it is more than {MAX_SUMMARY_BYTES:,} bytes long")
        summary = strict_json(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        problem = json_problem(exc)
        raise GroupOutputError(group, f"{where}{SUMMARY_FILE} is not readable JSON: {problem}") from exc
    if not isinstance(summary, dict) or not isinstance(summary.get("group"), str) or not summary["group"]:
        raise GroupOutputError(group, f"{where}{SUMMARY_FILE} does not name its group")
    wrong = [key for key in SUMMARY_COUNTS if not _is_count(summary.get(key))]
    if wrong:
        raise GroupOutputError(group, f"{where}{SUMMARY_FILE} lacks counts: {', '.join(wrong)}")
    return summary


def _is_count(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_digests(
    folder: Path, summary: dict[str, Any], group: str, where: str, names: tuple[str, ...]
) -> None:
    """Each file the summary describes (``names``: the features and errors, and the windows when it records
    windows) is that file: the same size (checked first, cheaply), the same SHA-256."""
    described = summary.get(SUMMARY_FILES_KEY)
    if not isinstance(described, dict):
        listed = ", ".join(names[:-1]) + f" and {names[-1]}"
        raise GroupOutputError(
            group,
            f"{where}{SUMMARY_FILE} has no {SUMMARY_FILES_KEY!r} describing {listed} "
            f"(it has {shown(described)}): it is not one the extract step wrote with its outputs; "
            "run the extract step again",
        )
    for name in names:
        entry = described.get(name)
        if not _is_digest(entry):
            raise GroupOutputError(
                group,
                f"{where}{SUMMARY_FILE}: {SUMMARY_FILES_KEY}[{name!r}] is {shown(entry)}, not "
                '{"bytes": size, "sha256": hex digest}; run the extract step again',
            )
        path = folder / name
        try:
            size = path.stat().st_size
            if size != entry["bytes"]:
                detail = f"it is {size:,} bytes, {SUMMARY_FILE} says {entry['bytes']:,}"
            elif file_digest(path)["sha256"] != entry["sha256"].lower():
                detail = "its SHA-256 differs"
            else:
                continue
        except OSError as exc:
            raise GroupOutputError(group, f"{where}{name} cannot be read: {exc}") from exc
        raise GroupOutputError(
            group, f"{where}{name} is not the file {SUMMARY_FILE} describes ({detail}): {RERUN}"
        )


def _is_digest(entry: object) -> TypeGuard[dict[str, Any]]:
    return (
        isinstance(entry, dict)
        and _is_count(entry.get("bytes"))
        and isinstance(entry.get("sha256"), str)
        and re.fullmatch(r"[0-9a-fA-F]{64}", entry["sha256"]) is not None
    )


def _read_errors(path: Path, group: str, where: str) -> list[dict[str, str]]:
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise GroupOutputError(group, f"{where}{ERRORS_FILE} is not readable: {exc}") from exc
    lines = content.split(b"\n")  # only \n ends a line: U+2028, \x1c, \r... may be in a record's name
    if lines[-1] == b"":
        lines.pop()  # what follows the last line's \n
    return [_parse_error_line(line, number, group, where) for number, line in enumerate(lines, start=1)]


def _parse_error_line(line: bytes, number: int, group: str, where: str) -> dict[str, str]:
    at = f"{where}{ERRORS_FILE} line {number}"
    if len(line) > MAX_ERROR_LINE_BYTES:
        raise GroupOutputError(
            group, f"{at} is {len(line):,} bytes long, more than the {MAX_ERROR_LINE_BYTES:,} a line may be"
        )
    try:
        error = strict_json(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise GroupOutputError(group, f"{at} is not a JSON object: {json_problem(exc)}") from exc
    if (
        not isinstance(error, dict)
        or tuple(sorted(error)) != tuple(sorted(ERROR_FIELDS))
        or not all(isinstance(value, str) for value in error.values())
    ):
        fields = ", ".join(ERROR_FIELDS)
        raise GroupOutputError(group, f"{at} is not a JSON object of {fields}: {shown(error)}")
    for key, value in error.items():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            bad = value[exc.start]
            raise GroupOutputError(group, f"{at}: {key} holds {bad!r}, which is not text") from exc
    if error["group"] != group:
        raise GroupOutputError(group, f"{at} names group {error['group']!r}")
    return error


def _check_features(path: Path, group: str, where: str) -> int:
    """The number of rows, after checking the schema, that every row names ``group`` and no row lacks its
    key columns."""
    try:
        with pq.ParquetFile(path) as parquet:
            schema = parquet.schema_arrow
            if not schema.equals(FEATURE_SCHEMA):  # metadata is not compared: only names, types, nullability
                difference = schema_difference(schema, FEATURE_SCHEMA)
                raise GroupOutputError(
                    group, f"{where}{FEATURES_FILE} does not have the extract step's schema: {difference}"
                )
            rows = parquet.metadata.num_rows
            keys = parquet.read(columns=list(KEY_COLUMNS))
    except (OSError, pa.ArrowException) as exc:
        raise GroupOutputError(
            group, f"{where}{FEATURES_FILE} is not a readable Parquet file: {exc}"
        ) from exc
    for column in KEY_COLUMNS:
        nulls = keys.column(column).null_count
        if nulls:
            raise GroupOutputError(group, f"{where}{FEATURES_FILE}: {column} is null in {nulls:,} row(s)")
    others = set(pc.unique(keys.column(GROUP_COLUMN)).to_pylist()) - {group}
    if others:
        named = ", ".join(sorted(shown(other) for other in others))
        raise GroupOutputError(group, f"{where}{FEATURES_FILE} holds rows of group {named}")
    return int(rows)


def _check_counts(summary: dict[str, Any], rows: int, errors: int, where: str) -> None:
    group = summary["group"]
    discovered, summarised, failed = (
        summary["records_discovered"],
        summary["records_summarised"],
        summary["records_failed"],
    )
    if discovered != summarised + failed:
        raise GroupOutputError(
            group,
            f"{where}{SUMMARY_FILE}: {discovered} records discovered but {summarised} summarised, "
            f"{failed} failed",
        )
    if summary["rows"] != rows:
        raise GroupOutputError(
            group, f"{where}{SUMMARY_FILE} counts {summary['rows']} rows, {FEATURES_FILE} holds {rows}"
        )
    if summary["errors_reported"] != errors:
        raise GroupOutputError(
            group,
            f"{where}{SUMMARY_FILE} counts {summary['errors_reported']} errors, {ERRORS_FILE} holds {errors}",
        )
