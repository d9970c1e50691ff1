"""A group's extract outputs written by hand, as the extract step writes them: ``features.parquet``,
``errors.jsonl``, with windows ``windows.parquet``, and ``summary.json`` last, describing the others (their
sizes and SHA-256, their counts). Built on the contract's names only (``steps.contract.outputs``), so the
tests hold for the real extract step's files as for these."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from steps.contract.outputs import (
    DIGESTED_FILES,
    ERRORS_FILE,
    FEATURE_SCHEMA,
    FEATURES_FILE,
    SUMMARY_FILE,
    SUMMARY_FILES_KEY,
    SUMMARY_WINDOW_SECONDS,
    SUMMARY_WINDOWS,
    WINDOW_SCHEMA,
    WINDOWS_FILE,
    file_digest,
)


def feature_row(
    group: str,
    record: str,
    signal: str,
    index: int = 0,
    hours: float = 1.0,
    clip: float = 0.0,
    flat: float = 0.0,
) -> dict[str, Any]:
    return {
        "patient_group": group,
        "record_set": record.split("_")[0],
        "record": record,
        "kind": "waveform",
        "signal_index": index,
        "signal": signal,
        "units": "mV",
        "fs": 125.0,
        "n_samples": int(125 * 3600 * hours),
        "duration_s": 3600.0 * hours,
        "n_valid": int(125 * 3600 * hours),
        "mean": 0.1,
        "std": 1.0,
        "min": -1.0,
        "max": 1.0,
        "p05": -0.9,
        "p50": 0.0,
        "p95": 0.9,
        "clip_fraction": clip,
        "flat_fraction": flat,
        "start_time": dt.datetime(2150, 1, 1),
        "start_time_of_day": "00:00:00.000",
    }


def windows_of(
    rows: list[dict[str, Any]],
    window_seconds: float = 60.0,
    clip: float | None = None,
    flat: float | None = None,
) -> pa.Table:
    """The windows of feature rows (a record's signal of ``duration_s`` cut into windows of
    ``window_seconds``), each with its row's statistics and, unless given, its row's fractions."""
    columns: dict[str, list[Any]] = {name: [] for name in WINDOW_SCHEMA.names}
    for row in rows:
        length = max(1, round(window_seconds * row["fs"]))
        count = -(-row["n_samples"] // length)
        for index in range(count):
            samples = min(length, row["n_samples"] - index * length)
            window = {
                **{name: row[name] for name in WINDOW_SCHEMA.names if name in row},
                "window_index": index,
                "window_start_s": index * length / row["fs"],
                "n_samples": samples,
                "n_valid": samples,
                "clip_fraction": row["clip_fraction"] if clip is None else clip,
                "flat_fraction": row["flat_fraction"] if flat is None else flat,
            }
            for name in WINDOW_SCHEMA.names:
                columns[name].append(window[name])
    return pa.table(columns, schema=WINDOW_SCHEMA)


def many_windows(group: str, rows: int, seed: int = 0) -> pa.Table:
    """``rows`` windows of three signals of one record each 1,440 windows (a day of minutes), with varied
    statistics and fractions: as many as a test of memory needs, made without a Python object per row."""
    rng = np.random.default_rng(seed)
    index = np.arange(rows)
    record = index // 4320
    signal = index // 1440 % 3
    fractions = {
        name: np.where(rng.random(rows) < share, rng.random(rows), 0.0)
        for name, share in (("clip_fraction", 0.05), ("flat_fraction", 0.1))
    }
    statistics = dict(
        zip(
            ["mean", "std", "min", "max", "p05", "p50", "p95"],
            np.round(rng.normal(0.0, 1.0, (7, rows)) * 50) / 100,
            strict=True,
        )
    )
    columns: dict[str, Any] = {
        "patient_group": pa.array(np.full(rows, group)),
        "record_set": pa.array(np.char.add(group, (record // 10).astype(str))),
        "record": pa.array(np.char.add(f"{group}_", record.astype(str))),
        "kind": pa.array(np.full(rows, "waveform")),
        "signal_index": pa.array(signal.astype(np.int32)),
        "signal": pa.array(np.array(["II", "V", "PLETH"])[signal]),
        "window_index": pa.array(index % 1440),
        "window_start_s": pa.array((index % 1440) * 60.0),
        "n_samples": pa.array(np.full(rows, 7500)),
        "n_valid": pa.array(np.full(rows, 7500)),
        **{name: pa.array(values) for name, values in statistics.items()},
        **{name: pa.array(values) for name, values in fractions.items()},
    }
    return pa.table(columns, schema=WINDOW_SCHEMA)


def error_line(group: str, record: str = "3000001_0002", **fields: str) -> bytes:
    error = {
        "group": group,
        "path": f"{record.split('_')[0]}/{record}.hea",
        "record": record,
        "error": "header_unparsable",
        "message": "record line is not WFDB syntax",
        **fields,
    }
    return json.dumps(error, ensure_ascii=False).encode("utf-8")


def write_group(
    folder: Path,
    group: str,
    rows: list[dict[str, Any]] | None = None,
    errors: list[bytes] | None = None,
    table: pa.Table | None = None,
    host: tuple[int, int] = (0, 1),
    windows: pa.Table | None = None,
    window_seconds: float | None = None,
    row_group_size: int | None = None,
    **summary_fields: Any,
) -> Path:
    """A group's output files in ``folder``, consistent with each other, as the extract step writes them
    (from host share ``host``: index, count); ``errors`` are the lines of errors.jsonl, as they are;
    ``windows`` the rows of windows.parquet (in row groups of ``row_group_size``), cut with ``window_seconds``
    (default 60 with windows; without, the summary says nothing of windows, as an extract step before them);
    ``summary_fields`` more fields of summary.json (bytes_read, seconds, job...)."""
    folder.mkdir(parents=True, exist_ok=True)
    if table is None:
        rows = [feature_row(group, f"{group}00001_0001", "II")] if rows is None else rows
        table = pa.Table.from_pylist(rows, schema=FEATURE_SCHEMA)
    pq.write_table(table, folder / FEATURES_FILE, compression="snappy")
    errors = [] if errors is None else errors
    (folder / ERRORS_FILE).write_bytes(b"".join(line + b"\n" for line in errors))
    digested = list(DIGESTED_FILES)
    window_fields: dict[str, Any] = {}
    if windows is not None:
        pq.write_table(windows, folder / WINDOWS_FILE, compression="snappy", row_group_size=row_group_size)
        digested.append(WINDOWS_FILE)
        window_fields = {SUMMARY_WINDOW_SECONDS: 60.0 if window_seconds is None else window_seconds}
        window_fields[SUMMARY_WINDOWS] = windows.num_rows
    elif window_seconds is not None:
        window_fields = {SUMMARY_WINDOW_SECONDS: window_seconds, SUMMARY_WINDOWS: 0}
    records = len(set(table.column("record").to_pylist()))
    summary = {
        "group": group,
        "records_discovered": records + len(errors),
        "records_summarised": records,
        "records_failed": len(errors),
        "rows": table.num_rows,
        "errors_reported": len(errors),
        "host_index": host[0],
        "host_count": host[1],
        SUMMARY_FILES_KEY: {name: file_digest(folder / name) for name in digested},
        **window_fields,
        **summary_fields,
    }
    (folder / SUMMARY_FILE).write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return folder
