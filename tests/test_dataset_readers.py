"""The combined dataset reads back alike in pandas, pyarrow, Polars and DuckDB, with their default calls:
the group column is text whether the groups are named like MIMIC-III's folders (``30``) or its matched
subset's (``p00``), so one filter works on both; ``start_time`` is a timestamp holding MIMIC's shifted years.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from scripts.sample_data.mimic_sample import generate
from steps.combine import command as combine_step
from steps.extract.extraction import extract_group

PRESETS = {"MIMIC-III groups": ["30", "31"], "matched subset": ["p00", "p01"]}
GROUP = "patient_group"


@pytest.fixture(scope="module", params=list(PRESETS), ids=list(PRESETS))
def dataset(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    groups = PRESETS[request.param]
    root = tmp_path_factory.mktemp("readers")
    generate(root / "input", size_mb=0.4, seed=3, groups=groups)
    for group in groups:
        extract_group(root / "input" / group, root / "groups" / group, group, workers=1)
    arguments = ["--input-dir", str(root / "groups"), "--output-dir", str(root / "out")]
    assert combine_step.main(arguments) == 0
    return root / "out" / "dataset"


def expected_rows(dataset: Path) -> dict[str, int]:
    """Rows per group, counted from the files themselves."""
    return {part.parent.name: pq.ParquetFile(part).metadata.num_rows for part in dataset.glob("*/*.parquet")}


def with_pandas(dataset: Path, group: str) -> tuple[str, int, str]:
    frame = pd.read_parquet(dataset)
    return str(frame[GROUP].dtype), len(frame[frame[GROUP] == group]), str(frame["start_time"].dtype)


def with_pyarrow(dataset: Path, group: str) -> tuple[str, int, str]:
    table = pq.read_table(dataset)
    selected = table.filter(pc.field(GROUP) == group)
    return str(table.schema.field(GROUP).type), selected.num_rows, str(table.schema.field("start_time").type)


def with_polars(dataset: Path, group: str) -> tuple[str, int, str]:
    frame = pl.read_parquet(dataset)
    selected = frame.filter(pl.col(GROUP) == group)
    return str(frame.schema[GROUP]), selected.height, str(frame.schema["start_time"])


def with_duckdb(dataset: Path, group: str) -> tuple[str, int, str]:
    query = f"""
        select typeof({GROUP}), count(*), typeof(any_value(start_time))
        from read_parquet('{dataset}/*/*.parquet') where {GROUP} = ? group by all
    """
    found = duckdb.execute(query, [group]).fetchall()
    (kind, rows, start_kind) = found[0]
    return str(kind), int(rows), str(start_kind)


READERS: dict[str, Callable[[Path, str], tuple[str, int, str]]] = {
    "pandas": with_pandas,
    "pyarrow": with_pyarrow,
    "polars": with_polars,
    "duckdb": with_duckdb,
}
TEXT = {
    "pandas": {"object", "str", "string"},
    "pyarrow": {"string"},
    "polars": {"String"},
    "duckdb": {"VARCHAR"},
}
TIMESTAMP = {
    "pandas": "datetime64[ms]",
    "pyarrow": "timestamp[ms]",
    "polars": "Datetime(time_unit='ms', time_zone=None)",
    "duckdb": "TIMESTAMP",
}


@pytest.mark.parametrize("reader", list(READERS))
def test_every_reader_filters_on_a_group_as_text(dataset: Path, reader: str) -> None:
    rows = expected_rows(dataset)
    assert len(rows) == 2 and all(rows.values())
    for group, count in rows.items():
        kind, selected, start_kind = READERS[reader](dataset, group)
        assert kind in TEXT[reader]
        assert selected == count
        assert start_kind == TIMESTAMP[reader]


def test_start_times_hold_the_headers_dates_and_times(dataset: Path) -> None:
    table = pq.read_table(dataset, columns=["record", "start_time", "start_time_of_day"])
    starts = table.column("start_time")
    assert starts.type == pa.timestamp("ms") and starts.null_count == 0  # the sample dates every record
    for start, time_of_day in zip(
        starts.to_pylist(), table.column("start_time_of_day").to_pylist(), strict=True
    ):
        assert isinstance(start, dt.datetime)
        assert time_of_day == start.time().isoformat(timespec="milliseconds")


def test_the_group_column_is_no_reserved_word_in_sql(dataset: Path) -> None:
    """Unquoted, as people write it: ``group`` would be a syntax error."""
    found = duckdb.execute(
        f"select {GROUP}, count(*) from read_parquet('{dataset}/*/*.parquet') group by {GROUP} order by 1"
    ).fetchall()
    assert dict(found) == expected_rows(dataset)
