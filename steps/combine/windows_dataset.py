"""The windows dataset: every group's windows plus ``signal_std``, as Parquet partitioned by group, streamed.

A MIMIC group holds tens of millions of windows, so a group's windows are never in memory whole: they are read
from its ``windows.parquet`` a batch at a time (``group_windows.window_batches``), given their standard signal
names, and written a batch at a time, each batch one row group of the group's file ``<group>/part-0.parquet``
(the group column inside the files, as in the records dataset: ``dataset_schema``). The same pyarrow writer
makes the file wherever it goes: locally into a staging folder that replaces the target only once every group
is written, as the records dataset's does (``dataset.staged_folder``; a run without windows makes none, and
removes an earlier run's); for S3 into a scratch file beside the reports, which awswrangler uploads (encrypted
with the given KMS key, else SSE-S3) into the group's folder, replacing what that folder held, before the next
group is read. The Glue table, if asked, is switched to the
dataset once every group is written, as the records' table is; it records the window length
(``window_seconds`` among its parameters). A run without windows creates no table, and empties one that is
there (it points it at this run's dataset, with no partitions), so the table never outlives the windows of
the dataset it describes.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from steps.contract.atomic import PARTIAL_SUFFIX

from . import glue_table
from .dataset import aws_failure, remove_dataset, staged_folder
from .dataset_schema import STANDARD_NAME_COLUMN, WINDOWS_ATHENA_TYPES, WINDOWS_DATASET_SCHEMA
from .destination import S3Dataset
from .output_names import WINDOWS_FOLDER
from .signal_names import standardise_signals

log = logging.getLogger("steps.combine")

PART_FILE = "part-0.parquet"  # a group's one file, named as the records dataset's
WINDOW_SECONDS_TABLE_PARAMETER = "window_seconds"  # the windows' Glue table records their length under it
# Writes one group's windows (its name, its batches of rows with their standard names); returns the rows.
WindowsWriter = Callable[[str, Iterable[pa.RecordBatch]], int]


def with_standard_names(batch: pa.RecordBatch) -> pa.RecordBatch:
    """A batch of windows with ``signal_std`` beside ``signal``: each distinct (signal, kind) looked up once,
    so the cost is that of a ``take`` per batch, not of a lookup per window."""
    signals = pc.dictionary_encode(batch.column("signal"))
    names = signals.dictionary.to_pylist()
    kinds = batch.column("kind")
    standard: pa.Array | None = None
    for kind in pc.unique(kinds).to_pylist():
        of_kind = pa.array(standardise_signals(names, [kind] * len(names))[0], pa.string()).take(
            signals.indices
        )
        standard = of_kind if standard is None else pc.if_else(pc.equal(kinds, kind), of_kind, standard)
    if standard is None:
        standard = pa.array([], pa.string())
    index = WINDOWS_DATASET_SCHEMA.get_field_index(STANDARD_NAME_COLUMN)
    columns = batch.columns
    return pa.RecordBatch.from_arrays(
        [*columns[:index], standard, *columns[index:]], schema=WINDOWS_DATASET_SCHEMA
    )


def write_batches(batches: Iterable[pa.RecordBatch], path: Path) -> int:
    """Write ``batches`` to the Parquet file ``path``, one row group each, holding one batch at a time; no
    file if there are no rows. Returns the rows written."""
    rows = 0
    writer: pq.ParquetWriter | None = None
    try:
        for batch in batches:
            if batch.num_rows == 0:
                continue
            if writer is None:
                path.parent.mkdir(parents=True, exist_ok=True)
                writer = pq.ParquetWriter(path, WINDOWS_DATASET_SCHEMA, compression="snappy")
            writer.write_batch(batch)
            rows += batch.num_rows
    finally:
        if writer is not None:
            writer.close()
    return rows


@contextmanager
def local_windows(target: Path, window_seconds: float | None) -> Iterator[WindowsWriter]:
    """A writer of groups' windows into a staging folder beside ``target``; it replaces ``target`` once
    complete (the caller has checked that ``target`` is a dataset of ours, or new, or empty). Without windows
    (``window_seconds`` None) there is no windows dataset: an earlier run's at ``target`` is removed."""
    if not window_seconds:
        yield _no_windows
        remove_dataset(target, "the windows dataset folder")
        return
    with staged_folder(target, WINDOWS_DATASET_SCHEMA) as staging:
        yield lambda group, batches: write_batches(batches, staging / group / PART_FILE)


def _no_windows(group: str, batches: Iterable[pa.RecordBatch]) -> int:
    raise AssertionError(f"group {group}: windows given to a run without windows")


@contextmanager
def s3_windows(
    destination: S3Dataset, scratch: Path, window_seconds: float | None
) -> Iterator[WindowsWriter]:
    """A writer of groups' windows to S3, each call replacing that group's folder under the URI, through a
    scratch file in ``scratch``; once every group is written, the Glue table (if asked) is switched to this
    dataset. A Glue table that is not one this step may update is refused before anything is written. The
    caller has made sure there is a URI if any group has windows."""
    # imported here: awswrangler is slow to import and only the S3 destination needs it
    import awswrangler as wr
    import boto3

    session = boto3.Session(region_name=destination.region or None)
    glue = session.client("glue") if destination.catalogued else None
    existing = None
    if glue is not None:
        with aws_failure(f"reading Glue table {glue_table.table_name(destination)}"):
            existing = glue_table.updatable_table(glue, destination, WINDOWS_ATHENA_TYPES)
    partitions: dict[str, str] = {}  # group -> the folder its windows went to

    def write_group(group: str, batches: Iterable[pa.RecordBatch]) -> int:
        scratch.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=f".{WINDOWS_FOLDER}.", suffix=PARTIAL_SUFFIX, dir=scratch)
        os.close(handle)
        try:
            rows = write_batches(batches, Path(name))
            if rows == 0:
                return 0  # no windows, no partition; the group is still in quality.json
            location = f"{destination.uri.rstrip('/')}/{group}/"
            with aws_failure(f"writing the windows of group {group} to {location}"):
                wr.s3.delete_objects(location, boto3_session=session)  # this group's folder only
                wr.s3.upload(
                    local_file=name,
                    path=f"{location}{PART_FILE}",
                    boto3_session=session,
                    s3_additional_kwargs=destination.s3_additional_kwargs(),
                )
        finally:
            os.unlink(name)
        partitions[group] = location
        log.info("group %s: %d windows written under %s", group, rows, destination.uri)
        return rows

    yield write_group
    if glue is not None and destination.uri and (window_seconds or existing is not None):
        parameters = {WINDOW_SECONDS_TABLE_PARAMETER: f"{window_seconds or 0:g}"}
        with aws_failure(f"pointing Glue table {glue_table.table_name(destination)} at {destination.uri}"):
            glue_table.switch_table(glue, destination, partitions, WINDOWS_ATHENA_TYPES, parameters)
        log.info(
            "Glue table %s: %d partitions under %s",
            glue_table.table_name(destination),
            len(partitions),
            destination.uri,
        )
