"""The combined dataset's columns: the features plus ``signal_std``, partitioned by group; and their Glue /
Athena types, so no column's type is guessed from its values."""

from __future__ import annotations

import pyarrow as pa

from steps.contract.outputs import FEATURE_SCHEMA

PARTITION_COLUMN = "group"
DATASET_SCHEMA = FEATURE_SCHEMA.insert(
    FEATURE_SCHEMA.get_field_index("signal") + 1, pa.field("signal_std", pa.string())
)
ATHENA_TYPES = {
    field.name: {"string": "string", "int32": "int", "int64": "bigint", "double": "double"}[str(field.type)]
    for field in DATASET_SCHEMA
}
