"""The three files the extract step writes for a group, the features schema, and the summary's counts."""

from __future__ import annotations

import pyarrow as pa

FEATURES_FILE = "features.parquet"
ERRORS_FILE = "errors.jsonl"
SUMMARY_FILE = "summary.json"

FEATURE_SCHEMA = pa.schema(
    [
        ("group", pa.string()),
        ("record_set", pa.string()),
        ("record", pa.string()),
        ("kind", pa.string()),
        ("signal_index", pa.int32()),
        ("signal", pa.string()),
        ("units", pa.string()),
        ("fs", pa.float64()),
        ("n_samples", pa.int64()),
        ("duration_s", pa.float64()),
        ("n_valid", pa.int64()),
        ("mean", pa.float64()),
        ("std", pa.float64()),
        ("min", pa.float64()),
        ("max", pa.float64()),
        ("p05", pa.float64()),
        ("p50", pa.float64()),
        ("p95", pa.float64()),
        ("start_time", pa.string()),
    ]
)
FEATURE_COLUMNS = tuple(FEATURE_SCHEMA.names)

# The counts of summary.json that add up across host shares and groups, and that the combine step checks
# against the other two files: discovered = summarised + failed; rows and errors as the files hold them.
SUMMARY_COUNTS = ("records_discovered", "records_summarised", "records_failed", "rows", "errors_reported")
