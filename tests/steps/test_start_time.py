"""A record's start in the features: ``start_time`` a timestamp when the header (or its master) dates it, null
otherwise; ``start_time_of_day`` its time of day as ISO text whenever a time is known, dated or not."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from scripts.sample_data.records import digital_signals, write_master_header, write_record
from tests.steps.extract_runs import Extract


def test_each_kind_of_start_is_typed_and_one_format_per_column(tmp_path: Path, extract: Extract) -> None:
    folder = tmp_path / "33" / "3300001"
    samples = digital_signals("16", 250, 1, seed=1)
    write_record(
        folder, "dated", "16", samples, base_time=dt.time(23, 59, 59, 999_999), base_date=dt.date(2701, 1, 2)
    )
    write_record(folder, "clock", "16", samples, base_time=dt.time(8, 30, 0, 250_000))
    write_record(folder, "bare", "16", samples)
    # a segment with no time of its own, dated by its master: 2 s (250 samples at 125 Hz) after it starts
    write_record(folder, "seg_0002", "16", samples)
    write_record(folder, "seg_0001", "16", samples)
    write_master_header(
        folder, "seg", 1, 125, dt.datetime(2150, 6, 30, 23, 59, 59), [("seg_0001", 250), ("seg_0002", 250)]
    )
    run = extract(tmp_path / "33", group="33")
    assert run.errors == []
    schema = pq.read_schema(run.output_dir / "features.parquet")
    assert schema.field("start_time").type == pa.timestamp("ms")
    assert schema.field("start_time_of_day").type == pa.string()
    starts = run.features.set_index("record")[["start_time", "start_time_of_day"]]
    expected = {
        "dated": (pd.Timestamp("2701-01-02T23:59:59.999"), "23:59:59.999"),  # truncated, as WFDB prints
        "clock": (pd.NaT, "08:30:00.250"),  # a time of day alone: no date is made up
        "bare": (pd.NaT, None),
        "seg_0001": (pd.Timestamp("2150-06-30T23:59:59"), "23:59:59.000"),
        "seg_0002": (pd.Timestamp("2150-07-01T00:00:01"), "00:00:01.000"),  # past midnight: the next day
    }
    for record, (start, time_of_day) in expected.items():
        found = starts.loc[record]
        assert (pd.isna(found["start_time"]) and pd.isna(start)) or found["start_time"] == start, record
        if time_of_day is None:
            assert pd.isna(found["start_time_of_day"]), record
        else:
            assert found["start_time_of_day"] == time_of_day, record
