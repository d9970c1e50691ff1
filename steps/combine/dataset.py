"""The combined dataset: every group's features plus ``signal_std``, as Parquet partitioned by group.

Written group by group (one group in memory at a time), hive style (``group=30/…``), snappy-compressed:
locally with pyarrow into a staging folder that replaces the target only once complete, or to S3 with
awswrangler, encrypted with the given KMS key (else SSE-S3) and optionally registered in the Glue catalog.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds

from steps.contract.outputs import FEATURE_SCHEMA

from .destination import S3Dataset
from .errors import DatasetWriteError
from .signal_names import standardise_signals

log = logging.getLogger("steps.combine")

PARTITION_COLUMN = "group"
DATASET_SCHEMA = FEATURE_SCHEMA.insert(
    FEATURE_SCHEMA.get_field_index("signal") + 1, pa.field("signal_std", pa.string())
)
# Glue / Athena types of the dataset's columns, so no column's type is guessed from its values
ATHENA_TYPES = {
    field.name: {"string": "string", "int32": "int", "int64": "bigint", "double": "double"}[str(field.type)]
    for field in DATASET_SCHEMA
}

GroupWriter = Callable[[pa.Table], None]


def dataset_table(features: pa.Table) -> tuple[pa.Table, Counter[str]]:
    """A group's features with ``signal_std`` beside ``signal``; and the rows per unknown signal name."""
    names, unknown = standardise_signals(
        features.column("signal").to_pylist(), features.column("kind").to_pylist()
    )
    index = DATASET_SCHEMA.get_field_index("signal_std")
    table = features.add_column(index, DATASET_SCHEMA.field(index), pa.array(names, pa.string()))
    return table, unknown


@contextmanager
def local_dataset(target: Path) -> Iterator[GroupWriter]:
    """A writer of groups into a staging folder beside ``target``; it replaces ``target`` once complete."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    try:
        yield lambda table: _write_local_partition(table, staging)
        _replace_folder(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def _write_local_partition(table: pa.Table, root: Path) -> None:
    if table.num_rows == 0:
        return  # an empty group has no partition
    ds.write_dataset(
        table,
        root,
        format="parquet",
        partitioning=[PARTITION_COLUMN],
        partitioning_flavor="hive",
        file_options=ds.ParquetFileFormat().make_write_options(compression="snappy"),
        basename_template="part-{i}.parquet",
        existing_data_behavior="overwrite_or_ignore",  # each call writes another group's folder
    )


def _replace_folder(staging: Path, target: Path) -> None:
    """Put ``staging`` where ``target`` is; a previous ``target`` is moved aside first, then removed."""
    if not target.exists():
        os.replace(staging, target)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
    os.replace(target, retired)  # onto the empty folder just made: allowed by rename(2)
    os.replace(staging, target)
    shutil.rmtree(retired)


@contextmanager
def s3_dataset(destination: S3Dataset) -> Iterator[GroupWriter]:
    """A writer of groups to S3, each call replacing that group's partition; Glue table updated if asked."""
    # imported here: awswrangler is slow to import and only the S3 destination needs it
    import awswrangler as wr
    from botocore.exceptions import BotoCoreError, ClientError

    written = 0

    def write_group(table: pa.Table) -> None:
        nonlocal written
        if table.num_rows == 0:
            return  # awswrangler cannot write an empty partition; the group is still in quality.json
        group = table.column(PARTITION_COLUMN)[0].as_py()
        try:
            wr.s3.to_parquet(
                df=table.to_pandas(),
                path=destination.uri,
                dataset=True,
                partition_cols=[PARTITION_COLUMN],
                mode="overwrite_partitions",
                compression="snappy",
                dtype=ATHENA_TYPES,
                s3_additional_kwargs=destination.s3_additional_kwargs(),
                database=destination.glue_database or None,
                table=destination.glue_table or None,
            )
        except (BotoCoreError, ClientError) as exc:
            raise DatasetWriteError(f"writing group {group} to {destination.uri} failed: {exc}") from exc
        written += table.num_rows
        log.info("group %s: %d rows written under %s", group, table.num_rows, destination.uri)

    yield write_group
    if written == 0 and destination.catalogued:
        try:
            _create_empty_table(destination)
        except (BotoCoreError, ClientError) as exc:
            raise DatasetWriteError(f"creating Glue table {destination.glue_table} failed: {exc}") from exc


def _create_empty_table(destination: S3Dataset) -> None:
    """No group has rows: still give Athena a table of the right columns, unless one exists."""
    import awswrangler as wr

    if wr.catalog.does_table_exist(database=destination.glue_database, table=destination.glue_table):
        return
    columns = {name: kind for name, kind in ATHENA_TYPES.items() if name != PARTITION_COLUMN}
    wr.catalog.create_parquet_table(
        database=destination.glue_database,
        table=destination.glue_table,
        path=destination.uri,
        columns_types=columns,
        partitions_types={PARTITION_COLUMN: ATHENA_TYPES[PARTITION_COLUMN]},
        compression="snappy",
    )
