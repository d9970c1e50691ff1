"""The combined dataset's columns: the features plus ``signal_std``, partitioned by group; and their Glue /
Athena types, so no column's type is guessed from its values.

Each group's rows are in a folder named for the group, ``<group>/part-0.parquet``, with the group column
*inside* the files, not hive-style ``patient_group=<group>/`` folders: readers infer a hive value's type from
the folder names, so pandas, pyarrow, Polars and DuckDB would read ``30`` as a number and ``p00`` as text, and
each would filter the two datasets differently. Stored in the files, the column is text for every reader with
its default call, whatever the group's name. The Glue table still partitions by it: each partition is
registered with its folder's location, which is all Athena needs.
"""

from __future__ import annotations

import pyarrow as pa

from steps.contract.outputs import FEATURE_SCHEMA, GROUP_COLUMN

PARTITION_COLUMN = GROUP_COLUMN
DATASET_SCHEMA = FEATURE_SCHEMA.insert(
    FEATURE_SCHEMA.get_field_index("signal") + 1, pa.field("signal_std", pa.string())
)
ATHENA_TYPES = {
    field.name: {
        "string": "string",
        "int32": "int",
        "int64": "bigint",
        "double": "double",
        "timestamp[ms]": "timestamp",
    }[str(field.type)]
    for field in DATASET_SCHEMA
}
