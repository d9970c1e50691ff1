"""Where a local run may write: the folders it refuses, and how it knows a dataset folder it wrote itself.

A local dataset (the records', the windows') is replaced whole by each run, so before it reads any group the
step refuses (exit 2, in one line):

- a dataset folder that is an input folder (``--input-dir``, a local ``--group-output``), is inside one or
  holds one: replacing it would delete the groups' outputs, or the dataset would be read as a group next time;
- an output folder that is an input folder or inside one, or a dataset folder that is the output folder or
  holds it (the reports would land among the groups' outputs, or inside the dataset); the default dataset
  folder, ``<output-dir>/dataset``, is inside the output folder, which is fine; an output folder where a
  report's name is taken by something other than a file;
- an existing dataset folder that is not one this step wrote. Ours are recognised by the file
  :data:`MARKER_FILE` the step writes in every dataset it makes, listing every file the run wrote: the folder
  may hold those files, the folders leading to them and the marker, nothing else. The marker is a Parquet
  file of the dataset's schema and no rows, the list in its key-value metadata: pyarrow, pandas and Spark skip
  it (its name starts with ``_``), and Polars and DuckDB, which read every file a folder or a glob gives
  them, read it as what it is, an empty part of the same dataset (a file of another kind, even a hidden one,
  makes Polars refuse the folder). Datasets of earlier versions of the step are recognised too: by their
  JSON marker, :data:`EARLIER_MARKER_FILE`, or without one if they hold nothing but ``group=<value>/``
  folders of ``part-<n>.parquet`` files. An empty folder may be replaced too. Paths are compared with
  symbolic links resolved.

Anything else in the folder (a file the user put there, a symbolic link) makes it not ours: the step stops
rather than delete it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath

import pyarrow as pa
import pyarrow.parquet as pq

from steps.contract.atomic import atomic_path

from .errors import OutputFolderError

MARKER_FILE = "_combined_dataset.parquet"
EARLIER_MARKER_FILE = "_combined_dataset.json"
MARKER_KEY = b"waveform_pipeline"  # the marker's key-value metadata entry: JSON, as below
WRITTEN_BY = "the combine step of waveform-pipeline"
MAX_MARKER_BYTES = 64 << 20
MARKERS = (MARKER_FILE, EARLIER_MARKER_FILE)
_LEGACY_PARTITION = re.compile(r"group=.+")
_LEGACY_PART = re.compile(r"part-[0-9]+\.parquet")


def real_path(path: Path) -> Path:
    """``path`` absolute, with symbolic links resolved (whether or not it exists yet)."""
    return Path(os.path.realpath(path))


def check_local_folders(
    inputs: Sequence[tuple[str, Path]],
    output_dir: Path,
    report_files: Sequence[str],
    datasets: Sequence[tuple[str, Path]],
) -> None:
    """Refuse (:class:`OutputFolderError`) folders that overlap as the module's docstring says; ``inputs``
    and ``datasets`` (the records' and the windows' local folders; none when they go to S3) are (how the
    command line names it, folder) pairs. Two datasets must not overlap either: replacing one would delete the
    other, or a reader of one would read the other's files."""
    output = real_path(output_dir)
    for option, folder in inputs:
        source = real_path(folder)
        if output == source or output.is_relative_to(source):
            where = "is" if output == source else "is inside"
            raise OutputFolderError(
                f"--output-dir {output_dir} {where} {option} {folder}: the reports would land among the "
                "groups' outputs; give an output folder outside the input"
            )
    if os.path.lexists(output) and not output.is_dir():
        raise OutputFolderError(f"--output-dir {output_dir} is not a folder")
    for name in report_files:
        report = output / name
        if os.path.lexists(report) and (report.is_dir() or not report.is_file()):
            raise OutputFolderError(f"--output-dir {output_dir} holds {name}, which is not a file")
    for index, (label, folder) in enumerate(datasets):
        _check_dataset_folder(inputs, output_dir, label, folder)
        for other_label, other in datasets[:index]:
            one, two = real_path(folder), real_path(other)
            if one == two or one.is_relative_to(two) or two.is_relative_to(one):
                where = "is" if one == two else "is inside" if one.is_relative_to(two) else "holds"
                raise OutputFolderError(
                    f"{label} {folder} {where} {other_label} {other}: give the two datasets folders apart"
                )


def _check_dataset_folder(
    inputs: Sequence[tuple[str, Path]], output_dir: Path, label: str, folder: Path
) -> None:
    output = real_path(output_dir)
    target = real_path(folder)
    for option, source_folder in inputs:
        source = real_path(source_folder)
        if target == source:
            problem = f"is {option} {source_folder}: replacing it would delete the groups' outputs"
        elif target.is_relative_to(source):
            problem = f"is inside {option} {source_folder}: the dataset would be read as a group's outputs"
        elif source.is_relative_to(target):
            problem = f"holds {option} {source_folder}: replacing it would delete the groups' outputs"
        else:
            continue
        raise OutputFolderError(f"{label} {folder} {problem}; give a dataset folder outside the input")
    if target == output or output.is_relative_to(target):
        where = "is" if target == output else "holds"
        raise OutputFolderError(
            f"{label} {folder} {where} --output-dir {output_dir}: the reports would be written inside the "
            "dataset; give a dataset folder inside the output folder, or apart from it"
        )
    check_replaceable(folder, label)


def check_replaceable(folder: Path, label: str) -> None:
    """Refuse (:class:`OutputFolderError`) an existing ``folder`` that is not a dataset this step wrote."""
    problem = _not_ours(real_path(folder))
    if problem:
        raise OutputFolderError(
            f"{label} {folder} is not a dataset this step wrote ({problem}), and a run replaces its dataset "
            "whole: give a new or empty folder, or move that one away yourself"
        )


def write_marker(folder: Path, schema: pa.Schema) -> None:
    """Write :data:`MARKER_FILE` into a dataset of ``schema`` just written to ``folder``, listing every
    file in it."""
    files = sorted(path.as_posix() for path, is_folder in _entries(folder) if not is_folder)
    content = json.dumps({"written_by": WRITTEN_BY, "files": files}).encode("utf-8")
    with atomic_path(folder / MARKER_FILE) as temporary:
        pq.write_table(schema.empty_table().replace_schema_metadata({MARKER_KEY: content}), temporary)


def _not_ours(folder: Path) -> str:
    """Why ``folder`` is not a dataset this step may replace; empty if it is one (or is not there)."""
    if not os.path.lexists(folder):
        return ""
    if not folder.is_dir():
        return "it is not a folder"
    try:
        listed = _listed_files(folder)
        leading = {parent for file in listed or () for parent in file.parents}
        for path, is_folder in _entries(folder):
            if listed is None:
                ours = _legacy_entry(path, is_folder)
            else:
                ours = path in leading if is_folder else path in listed or path.as_posix() in MARKERS
            if not ours:
                return f"it holds {path.as_posix()!r}"
    except _NotOurs as exc:
        return str(exc)
    except OSError as exc:
        return f"it cannot be read: {exc}"
    return ""


class _NotOurs(Exception):
    pass


def _listed_files(folder: Path) -> set[PurePosixPath] | None:
    """The files the marker in ``folder`` lists; None if there is no marker."""
    for name in (MARKER_FILE, EARLIER_MARKER_FILE):
        marker = folder / name
        if os.path.lexists(marker):
            break
    else:
        return None
    problem = f"its {name} is not one this step writes"
    if marker.is_symlink() or not marker.is_file() or marker.stat().st_size > MAX_MARKER_BYTES:
        raise _NotOurs(problem)
    try:
        content = json.loads(_marker_text(marker))
    except (ValueError, RecursionError, pa.ArrowException) as exc:
        raise _NotOurs(problem) from exc
    if not isinstance(content, dict) or content.get("written_by") != WRITTEN_BY:
        raise _NotOurs(problem)
    files = content.get("files")
    if not isinstance(files, list):
        raise _NotOurs(problem)
    listed = set()
    for file in files:
        path = PurePosixPath(file) if isinstance(file, str) else None
        if path is None or path.is_absolute() or not path.parts or ".." in path.parts:
            raise _NotOurs(problem)
        listed.add(path)
    return listed


def _marker_text(marker: Path) -> bytes:
    """What the marker says: a JSON file's bytes, or the metadata entry of a Parquet one."""
    if marker.name == EARLIER_MARKER_FILE:
        return marker.read_bytes()
    metadata = pq.read_metadata(marker).metadata or {}
    if MARKER_KEY not in metadata:
        raise ValueError(f"no {MARKER_KEY!r} entry")
    return metadata[MARKER_KEY]


def _legacy_entry(path: PurePosixPath, is_folder: bool) -> bool:
    """Whether ``path`` fits a dataset written before the marker: ``group=<value>/part-<n>.parquet``."""
    if len(path.parts) == 1:
        return is_folder and bool(_LEGACY_PARTITION.fullmatch(path.name))
    return len(path.parts) == 2 and not is_folder and bool(_LEGACY_PART.fullmatch(path.name))


def _entries(folder: Path) -> Iterator[tuple[PurePosixPath, bool]]:
    """Every file and folder under ``folder`` (relative, and whether it is a folder); a symbolic link is
    neither (we never write one), so it raises :class:`_NotOurs`; an unreadable folder raises OSError."""

    def fail(error: OSError) -> None:
        raise error

    for root, folders, files in os.walk(folder, onerror=fail):
        base = PurePosixPath(Path(root).relative_to(folder).as_posix())
        for name in [*folders, *files]:
            path = base / name
            if os.path.islink(os.path.join(root, name)):
                raise _NotOurs(f"it holds the symbolic link {path.as_posix()!r}")
            yield path, name in folders
