"""The combined dataset: every group's features plus ``signal_std``, as Parquet partitioned by group.

Written group by group (one group in memory at a time), each into a folder of its own (``30/…``, the group
column inside the files: see ``dataset_schema``), snappy-compressed:
locally with pyarrow into a staging folder that replaces the target only once complete (only a folder this
step wrote: see ``dataset_folder``; the staging and retired folders a killed run left beside it are removed
first; files and folders get the umask's modes), or to S3 with awswrangler, encrypted with the given KMS
key (else SSE-S3) and optionally registered in the Glue catalog: the table is pointed at the dataset and its
partitions made exactly the dataset's groups only once every group is written (each pipeline execution writes
a new URI; the table follows the newest).
"""

from __future__ import annotations

import logging
import os
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds

from steps.contract.atomic import PARTIAL_SUFFIX, remove_leftovers, temporary_folder

from . import glue_table
from .dataset_folder import check_replaceable, real_path, write_marker
from .dataset_schema import ATHENA_TYPES, DATASET_SCHEMA, PARTITION_COLUMN, STANDARD_NAME_COLUMN
from .destination import S3Dataset
from .errors import DatasetWriteError
from .signal_names import standardise_signals

log = logging.getLogger("steps.combine")

GroupWriter = Callable[[pa.Table], None]
RETIRED_SUFFIX = ".old"  # the previous dataset, moved aside while the new one takes its place


def dataset_table(features: pa.Table) -> tuple[pa.Table, Counter[str]]:
    """A group's features with ``signal_std`` beside ``signal``; and the rows per unknown signal name."""
    names, unknown = standardise_signals(
        features.column("signal").to_pylist(), features.column("kind").to_pylist()
    )
    index = DATASET_SCHEMA.get_field_index(STANDARD_NAME_COLUMN)
    table = features.add_column(index, DATASET_SCHEMA.field(index), pa.array(names, pa.string()))
    return table, unknown


@contextmanager
def local_dataset(target: Path) -> Iterator[GroupWriter]:
    """A writer of groups into a staging folder beside ``target``; it replaces ``target`` once complete (the
    caller has checked that ``target`` is a dataset of ours, or new, or empty)."""
    with staged_folder(target, DATASET_SCHEMA) as staging:
        yield lambda table: _write_local_partition(table, staging)


@contextmanager
def staged_folder(target: Path, schema: pa.Schema) -> Iterator[Path]:
    """A staging folder beside ``target`` to write a dataset of ``schema`` into; once the block completes, it
    gets the marker and replaces ``target`` (removed if the block fails)."""
    target = real_path(target)  # a symbolic link to the dataset stays one; the folder it names is replaced
    remove_leftovers(target.parent, [target.name], (PARTIAL_SUFFIX, RETIRED_SUFFIX))
    staging = temporary_folder(target)
    try:
        yield staging
        write_marker(staging, schema)
        _replace_folder(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def _write_local_partition(table: pa.Table, root: Path) -> None:
    if table.num_rows == 0:
        return  # an empty group has no partition
    ds.write_dataset(
        table,
        root / group_of(table),
        format="parquet",
        file_options=ds.ParquetFileFormat().make_write_options(compression="snappy"),
        basename_template="part-{i}.parquet",
    )


def group_of(table: pa.Table) -> str:
    """The group whose rows ``table`` holds (one group per table: the group outputs were checked)."""
    return str(table.column(PARTITION_COLUMN)[0].as_py())


def remove_dataset(target: Path, label: str) -> None:
    """Remove the dataset folder ``target`` (one this step wrote: checked again here), if there is one: a run
    without windows leaves no windows dataset of an earlier run behind."""
    target = real_path(target)
    remove_leftovers(target.parent, [target.name], (PARTIAL_SUFFIX, RETIRED_SUFFIX))
    if not os.path.lexists(target):
        return
    check_replaceable(target, label)
    retired = temporary_folder(target, RETIRED_SUFFIX)
    os.replace(target, retired)  # one rename: a reader sees the folder whole, or none
    shutil.rmtree(retired)


def _replace_folder(staging: Path, target: Path) -> None:
    """Put ``staging`` where ``target`` is; a previous ``target`` is moved aside first, then removed."""
    check_replaceable(target, "the dataset folder")  # again: it may have changed while the groups were read
    if not os.path.lexists(target):
        os.replace(staging, target)
        return
    retired = temporary_folder(target, RETIRED_SUFFIX)
    os.replace(target, retired)  # onto the empty folder just made: allowed by rename(2)
    os.replace(staging, target)
    shutil.rmtree(retired)


@contextmanager
def s3_dataset(destination: S3Dataset) -> Iterator[GroupWriter]:
    """A writer of groups to S3, each call replacing that group's partition under the URI; once every group is
    written, the Glue table (if asked) is switched to this dataset. A Glue table that is not one this step may
    update is refused before anything is written."""
    # imported here: awswrangler is slow to import and only the S3 destination needs it
    import awswrangler as wr
    import boto3

    session = boto3.Session(region_name=destination.region or None)  # one session for every call
    glue = session.client("glue") if destination.catalogued else None
    if glue is not None:
        with aws_failure(f"reading Glue table {glue_table.table_name(destination)}"):
            glue_table.updatable_table(glue, destination, ATHENA_TYPES)
    partitions: dict[str, str] = {}  # group -> the folder its rows went to

    def write_group(table: pa.Table) -> None:
        if table.num_rows == 0:
            return  # awswrangler cannot write an empty partition; the group is still in quality.json
        group = group_of(table)
        location = f"{destination.uri.rstrip('/')}/{group}/"
        with aws_failure(f"writing group {group} to {location}"):
            wr.s3.to_parquet(
                df=table.to_pandas(),
                path=location,
                dataset=True,
                mode="overwrite",  # this group's folder only
                compression="snappy",
                dtype=ATHENA_TYPES,
                # the files as the local dataset's (pyarrow's defaults), not awswrangler's: its "spark"
                # flavour stores timestamps as INT96, which pandas, pyarrow and Polars read as nanoseconds,
                # wrapping MIMIC's years (2100-2900) round to others without an error
                pyarrow_additional_kwargs={"flavor": None, "version": "2.6", "coerce_timestamps": "ms"},
                s3_additional_kwargs=destination.s3_additional_kwargs(),
                boto3_session=session,
            )
        partitions[group] = location
        log.info("group %s: %d rows written under %s", group, table.num_rows, destination.uri)

    yield write_group
    if glue is not None:
        with aws_failure(f"pointing Glue table {glue_table.table_name(destination)} at {destination.uri}"):
            glue_table.switch_table(glue, destination, partitions, ATHENA_TYPES)
        log.info(
            "Glue table %s: %d partitions under %s",
            glue_table.table_name(destination),
            len(partitions),
            destination.uri,
        )


@contextmanager
def aws_failure(action: str) -> Iterator[None]:
    """Turn what boto3 or awswrangler raise into one line naming the action."""
    import awswrangler as wr
    from botocore.exceptions import BotoCoreError, ClientError

    wrangler_errors = tuple(
        kind
        for kind in vars(wr.exceptions).values()
        if isinstance(kind, type)
        and issubclass(kind, Exception)
        and kind.__module__ == wr.exceptions.__name__
    )
    try:
        yield
    except (BotoCoreError, ClientError, *wrangler_errors) as exc:
        raise DatasetWriteError(f"{action} failed: {' '.join(str(exc).split())}") from exc
