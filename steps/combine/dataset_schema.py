"""The combined datasets' columns: the features plus ``signal_std``, and the windows plus ``signal_std``,
both partitioned by group; and their Glue / Athena types, so no column's type is guessed from its values.

Each group's rows are in a folder named for the group, ``<group>/part-0.parquet``, with the group column
*inside* the files, not hive-style ``patient_group=<group>/`` folders: readers infer a hive value's type from
the folder names, so pandas, pyarrow, Polars and DuckDB would read ``30`` as a number and ``p00`` as text, and
each would filter the two datasets differently. Stored in the files, the column is text for every reader with
its default call, whatever the group's name. The Glue table still partitions by it: each partition is
registered with its folder's location, which is all Athena needs.
"""

from __future__ import annotations

import pyarrow as pa

from steps.contract.outputs import FEATURE_SCHEMA, GROUP_COLUMN, WINDOW_SCHEMA

PARTITION_COLUMN = GROUP_COLUMN
STANDARD_NAME_COLUMN = "signal_std"


def with_standard_names(schema: pa.Schema) -> pa.Schema:
    """``schema`` with ``signal_std`` (the signal's standard name) right after ``signal``."""
    return schema.insert(schema.get_field_index("signal") + 1, pa.field(STANDARD_NAME_COLUMN, pa.string()))


def athena_types(schema: pa.Schema) -> dict[str, str]:
    """Each column's Glue / Athena type."""
    return {
        field.name: {
            "string": "string",
            "int32": "int",
            "int64": "bigint",
            "double": "double",
            "timestamp[ms]": "timestamp",
        }[str(field.type)]
        for field in schema
    }


DATASET_SCHEMA = with_standard_names(FEATURE_SCHEMA)
ATHENA_TYPES = athena_types(DATASET_SCHEMA)
# The windows dataset: every group's windows, and each signal's standard name, as in the records dataset.
WINDOWS_DATASET_SCHEMA = with_standard_names(WINDOW_SCHEMA)
WINDOWS_ATHENA_TYPES = athena_types(WINDOWS_DATASET_SCHEMA)
