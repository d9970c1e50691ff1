"""The three files the extract step writes for a group, the features schema, and the summary's counts."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa

FEATURES_FILE = "features.parquet"
WINDOWS_FILE = "windows.parquet"  # written only when windows are asked for (a window length above 0)
ERRORS_FILE = "errors.jsonl"
SUMMARY_FILE = "summary.json"

# The group column's name: not ``group``, a reserved word in SQL (Athena, DuckDB, ...).
GROUP_COLUMN = "patient_group"
# A record's start: date and time to the millisecond (no time zone: WFDB's base time is the local time of the
# recording, and MIMIC's shifted years, 2100-2900, fit a millisecond timestamp); null when the header has no
# date. Its time of day alone is in its own column, as ISO text (SQL engines such as Athena have no
# time-of-day type), whenever the header gives a time, dated or not.
START_TIME_TYPE = pa.timestamp("ms")
FEATURE_SCHEMA = pa.schema(
    [
        (GROUP_COLUMN, pa.string()),
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
        ("clip_fraction", pa.float64()),
        ("flat_fraction", pa.float64()),
        ("start_time", START_TIME_TYPE),
        ("start_time_of_day", pa.string()),
    ]
)
FEATURE_COLUMNS = tuple(FEATURE_SCHEMA.names)
# The signal-quality columns, of records and of windows, both over the valid samples (NaN when none):
# clip_fraction, the share equal to the lowest or highest valid digital value of the signal's storage format;
# flat_fraction, the share lying in runs of at least max(2, round(fs)) consecutive equal digital samples.
QUALITY_COLUMNS = ("clip_fraction", "flat_fraction")

# One row per record x signal x window. Window k of a signal holds its samples [k*L, (k+1)*L), with
# L = max(1, round(window_seconds * fs)) for that signal's fs, the last one partial; window_start_s = k*L/fs.
# Statistics as for records; runs for flat_fraction are cut at the window's edges.
WINDOW_SCHEMA = pa.schema(
    [
        (GROUP_COLUMN, pa.string()),
        ("record_set", pa.string()),
        ("record", pa.string()),
        ("kind", pa.string()),
        ("signal_index", pa.int32()),
        ("signal", pa.string()),
        ("window_index", pa.int64()),
        ("window_start_s", pa.float64()),
        ("n_samples", pa.int64()),
        ("n_valid", pa.int64()),
        ("mean", pa.float64()),
        ("std", pa.float64()),
        ("min", pa.float64()),
        ("max", pa.float64()),
        ("p05", pa.float64()),
        ("p50", pa.float64()),
        ("p95", pa.float64()),
        ("clip_fraction", pa.float64()),
        ("flat_fraction", pa.float64()),
    ]
)
WINDOW_COLUMNS = tuple(WINDOW_SCHEMA.names)
# summary.json records the window length the windows were cut with (0: no windows, and no windows file) and
# how many window rows the windows file holds; its ``files`` key (below) then names windows.parquet too.
SUMMARY_WINDOW_SECONDS = "window_seconds"
SUMMARY_WINDOWS = "windows"

# The counts of summary.json that add up across host shares and groups, and that the combine step checks
# against the other two files: discovered = summarised + failed; rows and errors as the files hold them.
SUMMARY_COUNTS = ("records_discovered", "records_summarised", "records_failed", "rows", "errors_reported")
# Which share of the group's record sets the outputs hold, when the step ran on several instances: index
# (from 0) and count. The combine step takes a group only with every share there, each once.
SUMMARY_HOST_INDEX = "host_index"
SUMMARY_HOST_COUNT = "host_count"

# The extract step writes its three files as one set: summary.json last, naming the size and SHA-256 of the
# other two under this key. A reader takes the files only if they are the ones the summary names, so a set
# that a killed or failed run left half-replaced is never read as a whole one.
SUMMARY_FILES_KEY = "files"
DIGESTED_FILES = (FEATURES_FILE, ERRORS_FILE)  # and WINDOWS_FILE, when windows were written


def file_digest(path: Path) -> dict[str, int | str]:
    """``{"bytes": size, "sha256": hex digest}`` of one output file."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return {"bytes": size, "sha256": digest.hexdigest()}
