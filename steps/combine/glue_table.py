"""A dataset's Glue table (the records', the windows'): created, or switched to the newest dataset with its
partitions, through the Glue API itself (awswrangler refuses to write a catalogued table anywhere but the
table's own location, and its partition calls keep a partition that exists, at its old location). Each
function is given the dataset's columns with their Athena types (``dataset_schema``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .dataset_schema import PARTITION_COLUMN
from .destination import S3Dataset
from .errors import DatasetWriteError

# What a reader (an Athena query) sees while a run updates the table: until every group is written, the table
# and its partitions still name the previous run's dataset, which stays whole (each run writes a new URI and
# never deletes another's objects). Then the table's location and columns are updated (a partitioned table is
# read through its partitions, so queries still see the previous run), then this run's groups' partitions are
# created or re-pointed, and last the partitions of groups this run lacks are dropped. Glue has no transaction
# over partitions, so a query planned during those last calls may mix the two runs' groups, each group whole;
# none ever sees a half-written group.

PARQUET_INPUT_FORMAT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
TABLE_PARAMETERS = {"classification": "parquet", "compressionType": "snappy", "typeOfData": "file"}
PARTITION_TYPE = "string"
PARTITION_KEYS = [{"Name": PARTITION_COLUMN, "Type": PARTITION_TYPE}]
# Glue's batch calls take at most this many partitions each
CREATE_BATCH = UPDATE_BATCH = 100
DELETE_BATCH = 25


def table_name(destination: S3Dataset) -> str:
    return f"{destination.glue_database}.{destination.glue_table}"


def column_types(athena_types: Mapping[str, str]) -> dict[str, str]:
    """The table's columns: the dataset's, less the partition column (a partition key, in the files too)."""
    return {name: kind for name, kind in athena_types.items() if name != PARTITION_COLUMN}


def updatable_table(
    glue: Any, destination: S3Dataset, athena_types: Mapping[str, str]
) -> dict[str, Any] | None:
    """The Glue table as it is, or None if there is none yet (its database must exist).

    A table that is there but is not this dataset's -- not an external Parquet table partitioned by group, or
    declaring a column the dataset does not have or with another type -- is refused: it belongs to someone
    else, and re-pointing it would silently break its readers' queries (dropping it would lose its grants
    too). A table this step made, or one identical to it, is updated; a column the dataset has gained since is
    added."""
    try:
        table: dict[str, Any] = glue.get_table(
            DatabaseName=destination.glue_database, Name=destination.glue_table
        )["Table"]
    except glue.exceptions.EntityNotFoundException:
        glue.get_database(Name=destination.glue_database)  # a missing database fails here, before any write
        return None
    problem = _incompatibility(table, column_types(athena_types))
    if problem:
        raise DatasetWriteError(
            f"Glue table {table_name(destination)} is not this dataset's table: {problem}; "
            "drop it or give another --glue-table"
        )
    return table


def _incompatibility(table: dict[str, Any], columns: Mapping[str, str]) -> str:
    """Why this step must not update ``table``; empty if it may."""
    if table.get("TableType") != "EXTERNAL_TABLE":
        return f"its type is {table.get('TableType') or 'not given'}, not EXTERNAL_TABLE"
    parameters = {key.lower(): value for key, value in (table.get("Parameters") or {}).items()}
    if parameters.get("table_type"):
        return f"its table_type is {parameters['table_type']}"
    if str(parameters.get("projection.enabled", "")).lower() == "true":
        return "it uses partition projection, so Athena would not read the partitions this step registers"
    descriptor = table.get("StorageDescriptor") or {}
    serde = (descriptor.get("SerdeInfo") or {}).get("SerializationLibrary")
    if descriptor.get("InputFormat") != PARQUET_INPUT_FORMAT or serde != PARQUET_SERDE:
        return f"it is not stored as Parquet (input format {descriptor.get('InputFormat')}, serde {serde})"
    keys = [(key["Name"], key.get("Type", "").lower()) for key in table.get("PartitionKeys") or []]
    if keys != [(key["Name"], key["Type"]) for key in PARTITION_KEYS]:
        listed = ", ".join(f"{name} {kind}" for name, kind in keys) or "nothing"
        return f"it is partitioned by {listed}, not {PARTITION_COLUMN} {PARTITION_TYPE}"
    for column in descriptor.get("Columns") or []:
        name, kind = column["Name"], column.get("Type", "").lower()
        if name not in columns:
            return f"it has a column {name} the dataset does not have"
        if kind != columns[name]:
            return f"its column {name} is {kind}, the dataset's is {columns[name]}"
    return ""


def switch_table(
    glue: Any,
    destination: S3Dataset,
    partitions: dict[str, str],
    athena_types: Mapping[str, str],
    parameters: Mapping[str, str] | None = None,
) -> None:
    """Point the table at this dataset (creating it if there is none) and make its partitions exactly
    ``partitions`` (group -> folder); ``parameters``: the table's own, beside the format's."""
    # again: the table may have changed while the data went up
    existing = updatable_table(glue, destination, athena_types)
    table_input = _table_input(glue, destination, existing, column_types(athena_types), parameters or {})
    database, name = destination.glue_database, destination.glue_table
    if existing is None:
        glue.create_table(DatabaseName=database, TableInput=table_input)
        current: set[str] = set()
    else:
        glue.update_table(DatabaseName=database, TableInput=table_input)
        pages = glue.get_paginator("get_partitions").paginate(DatabaseName=database, TableName=name)
        current = {partition["Values"][0] for page in pages for partition in page["Partitions"]}
    descriptor = table_input["StorageDescriptor"]
    inputs = {group: _partition_input(descriptor, group, location) for group, location in partitions.items()}
    updated = [
        {"PartitionValueList": [group], "PartitionInput": inputs[group]}
        for group in inputs
        if group in current
    ]
    for batch in _batches(updated, UPDATE_BATCH):
        response = glue.batch_update_partition(DatabaseName=database, TableName=name, Entries=batch)
        _raise_batch_errors("updating", destination, response)
    created = [inputs[group] for group in inputs if group not in current]
    for batch in _batches(created, CREATE_BATCH):
        response = glue.batch_create_partition(
            DatabaseName=database, TableName=name, PartitionInputList=batch
        )
        _raise_batch_errors("creating", destination, response)
    dropped = [{"Values": [group]} for group in sorted(current - inputs.keys())]
    for batch in _batches(dropped, DELETE_BATCH):
        response = glue.batch_delete_partition(
            DatabaseName=database, TableName=name, PartitionsToDelete=batch
        )
        _raise_batch_errors("dropping", destination, response)


def _table_input(
    glue: Any,
    destination: S3Dataset,
    existing: dict[str, Any] | None,
    types: Mapping[str, str],
    parameters: Mapping[str, str],
) -> dict[str, Any]:
    """The table as this dataset declares it; an existing table keeps what else it has (description, owner,
    parameters), copied through the fields UpdateTable accepts."""
    if existing is None:
        base: dict[str, Any] = {
            "Name": destination.glue_table,
            "TableType": "EXTERNAL_TABLE",
            "StorageDescriptor": {
                "InputFormat": PARQUET_INPUT_FORMAT,
                "OutputFormat": PARQUET_OUTPUT_FORMAT,
                "SerdeInfo": {
                    "SerializationLibrary": PARQUET_SERDE,
                    "Parameters": {"serialization.format": "1"},
                },
                "Compressed": True,
                "NumberOfBuckets": -1,
                "StoredAsSubDirectories": False,
            },
        }
    else:
        accepted = glue.meta.service_model.shape_for("TableInput").members
        base = {key: value for key, value in existing.items() if key in accepted}
    comments = {
        column["Name"]: column["Comment"]
        for column in base["StorageDescriptor"].get("Columns") or []
        if column.get("Comment")
    }
    columns = [
        {"Name": name, "Type": kind, **({"Comment": comments[name]} if name in comments else {})}
        for name, kind in types.items()
    ]
    return {
        **base,
        "Parameters": {**(base.get("Parameters") or {}), **TABLE_PARAMETERS, **parameters},
        "PartitionKeys": PARTITION_KEYS,
        "StorageDescriptor": {
            **base["StorageDescriptor"],
            "Location": _folder(destination.uri),
            "Columns": columns,
        },
    }


def _partition_input(descriptor: dict[str, Any], group: str, location: str) -> dict[str, Any]:
    """A group's partition: the table's format and columns, at the group's folder."""
    shared = ("Columns", "InputFormat", "OutputFormat", "SerdeInfo", "Compressed")
    return {
        "Values": [group],
        "StorageDescriptor": {
            **{key: descriptor[key] for key in shared if key in descriptor},
            "Location": _folder(location),
        },
    }


def _raise_batch_errors(action: str, destination: S3Dataset, response: dict[str, Any]) -> None:
    """Glue's batch calls report a partition they refused in the answer rather than raising."""
    errors = response.get("Errors") or []
    if errors:
        error = errors[0]
        values = error.get("PartitionValues") or error.get("PartitionValueList") or []
        detail = error.get("ErrorDetail") or {}
        raise DatasetWriteError(
            f"{action} {len(errors)} partition(s) of Glue table {table_name(destination)} failed: "
            f"group {'/'.join(values)}: {detail.get('ErrorCode')}: {detail.get('ErrorMessage')}"
        )


def _batches(items: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _folder(uri: str) -> str:
    return f"{uri.rstrip('/')}/"
