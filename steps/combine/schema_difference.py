"""How a Parquet file's schema differs from the one the extract step writes, said in one line."""

from __future__ import annotations

import pyarrow as pa


def schema_difference(actual: pa.Schema, expected: pa.Schema) -> str:
    """How ``actual`` differs from ``expected`` in names, types, nullability or order, in one line."""
    repeated = sorted({name for name in actual.names if actual.names.count(name) > 1})
    if repeated:
        return f"columns named more than once: {', '.join(repeated)}"
    missing = [name for name in expected.names if name not in actual.names]
    extra = [name for name in actual.names if name not in expected.names]
    retyped, renulled = [], []
    for field in expected:
        if field.name not in actual.names:
            continue
        found = actual.field(field.name)
        if not found.type.equals(field.type):
            retyped.append(f"{field.name} is {found.type}, expected {field.type}")
        elif found.nullable != field.nullable:
            renulled.append(f"{field.name} is {_nullability(found)}, expected {_nullability(field)}")
    parts = [
        *([f"missing columns {', '.join(missing)}"] if missing else []),
        *([f"unexpected columns {', '.join(extra)}"] if extra else []),
        *retyped,
        *renulled,
    ]
    if not parts and actual.names != expected.names:
        parts = [f"columns in another order: {', '.join(actual.names)}"]
    return "; ".join(parts) or f"it is {actual}, expected {expected}".replace("\n", "; ")


def _nullability(field: pa.Field) -> str:
    return "nullable" if field.nullable else "not null"
