"""MIMIC-IV numerics tables (``<record>n.csv.gz``): one row per measurement column, its statistics exact
against pandas and numpy over the values present, streamed in bounded memory; and every malformed table fails
its record alone, in one clear line."""

from __future__ import annotations

import gzip
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from steps.extract.float_statistics import MAX_DISTINCT
from steps.extract.numerics_csv import BLOCK_BYTES, MIMIC4_COUNTER_FREQUENCY, measurement_name
from tests.paths import ROOT
from tests.steps.extract_runs import Extract

RECORD = "81739927"
MASTER = f"{RECORD}/2 6 62.4725/999.56 2000 15:38:56.250 12/03/2150\n{RECORD}_0000 0\n{RECORD}_0001 2000\n"


def table(
    rows: int,
    rng: np.random.Generator,
    first_tick: int = 123_456_789,
    columns: tuple[str, ...] = ("HR [bpm]", "SpO2 [%]", "NBPs [mmHg]", "Noise", "Empty [mmHg]"),
) -> pd.DataFrame:
    """A table of numerics as MIMIC-IV writes them: ticks, rounded readings, a rare one, gaps; ``Noise`` has
    as many distinct values as rows (so the percentiles need the radix passes), ``Empty`` none."""
    frame = pd.DataFrame({"time": first_tick + np.cumsum(rng.integers(1000, 1050, rows)) - 1000})
    makers = {
        "HR [bpm]": lambda: np.round(rng.normal(80, 9, rows)),
        "SpO2 [%]": lambda: np.round(rng.normal(97, 1.5, rows), 1),
        "NBPs [mmHg]": lambda: np.where(
            np.arange(rows) % 15 == 0, np.round(rng.normal(120, 12, rows)), np.nan
        ),
        "Noise": lambda: rng.standard_cauchy(rows) * 1e3,
        "Empty [mmHg]": lambda: np.full(rows, np.nan),
    }
    for column in columns:
        values = makers[column]()
        values[rng.random(rows) < 0.04] = np.nan
        frame[column] = values
    return frame


def write_table(path: Path, frame: pd.DataFrame) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8", newline="") as stream:
        frame.to_csv(stream, index=False, float_format="%.17g")
    return path


def expected_row(values: pd.Series) -> dict[str, float]:
    present = values.dropna().to_numpy()
    if present.size == 0:
        return {"n_valid": 0}
    p05, p50, p95 = np.percentile(present, [5, 50, 95])
    return {
        "n_valid": present.size,
        "mean": float(pd.Series(present).mean()),
        "std": float(np.std(present)),
        "min": present.min(),
        "max": present.max(),
        "p05": p05,
        "p50": p50,
        "p95": p95,
    }


def test_each_column_is_a_numerics_row_exact_against_pandas_and_numpy(
    tmp_path: Path, extract: Extract
) -> None:
    rng = np.random.default_rng(12)
    frame = table(
        60_000, rng
    )  # several of pyarrow's blocks, and more distinct noise values than one pass keeps
    assert frame["Noise"].nunique() > MAX_DISTINCT and len(frame.to_csv()) > 2 * BLOCK_BYTES
    folder = tmp_path / "p100" / "p10014354" / RECORD
    write_table(folder / f"{RECORD}n.csv.gz", frame)
    (folder / f"{RECORD}.hea").write_text(MASTER)
    run = extract(tmp_path / "p100", group="p100")
    assert run.exit_code == 0, run.stderr
    errors = {error["record"]: error["error"] for error in run.errors}
    # the master's segments are not there: reported as for MIMIC-III; the table is summarised all the same
    assert errors == {f"{RECORD}_0000": "missing_segment", f"{RECORD}_0001": "missing_segment"}
    rows = run.features.set_index("signal")
    assert list(rows.index) == ["HR", "SpO2", "NBPs", "Noise", "Empty"]
    assert list(rows["units"]) == ["bpm", "%", "mmHg", "", "mmHg"]
    assert list(rows["signal_index"]) == [0, 1, 2, 3, 4]
    assert set(rows["kind"]) == {"numerics"} and set(rows["record"]) == {f"{RECORD}n"}
    assert set(rows["record_set"]) == {f"p10014354/{RECORD}"}
    assert rows["fs"].isna().all() and (rows["n_samples"] == len(frame)).all()
    ticks = frame["time"].to_numpy()
    assert (rows["duration_s"] == (ticks[-1] - ticks[0]) / 999.56).all()  # the master's counter frequency
    assert set(rows["start_time"]) == {pd.Timestamp("2150-03-12 15:38:56.250")}
    assert set(rows["start_time_of_day"]) == {"15:38:56.250"}
    assert rows["clip_fraction"].isna().all() and rows["flat_fraction"].isna().all()
    for column in frame.columns[1:]:
        signal = measurement_name(column)[0]
        expected = expected_row(frame[column])
        got = rows.loc[signal]
        assert got["n_valid"] == expected["n_valid"], column
        if not expected["n_valid"]:
            assert got[["mean", "std", "min", "max", "p05", "p50", "p95"]].isna().all()
            continue
        for statistic in ("min", "max", "p05", "p50", "p95"):  # order statistics: exactly numpy's
            assert got[statistic] == expected[statistic], (column, statistic)
        assert math.isclose(got["mean"], expected["mean"], rel_tol=1e-12, abs_tol=1e-12), column
        assert math.isclose(got["std"], expected["std"], rel_tol=1e-9), column


@pytest.mark.parametrize(
    ("master", "frequency", "time_of_day"),
    [
        (None, MIMIC4_COUNTER_FREQUENCY, None),  # no master: MIMIC-IV's counter, no start
        (f"{RECORD}/1 6 125 2000 10:00:00\n{RECORD}_0001 2000\n", 125.0, "10:00:00.000"),  # as WFDB: fs
        (f"{RECORD}/1 6 62.4725/250 2000\n{RECORD}_0001 2000\n", 250.0, None),
    ],
    ids=["no master", "a master without a counter frequency", "a master's counter frequency"],
)
def test_the_time_column_counts_ticks_of_the_records_counter(
    tmp_path: Path, extract: Extract, master: str | None, frequency: float, time_of_day: str | None
) -> None:
    folder = tmp_path / "p100" / "p1" / RECORD
    frame = table(50, np.random.default_rng(3), columns=("HR [bpm]",))
    write_table(folder / f"{RECORD}n.csv.gz", frame)
    if master:
        (folder / f"{RECORD}.hea").write_text(master)
    features = extract(tmp_path / "p100", group="p100").features
    ticks = frame["time"].to_numpy()
    assert features["duration_s"].tolist() == [(ticks[-1] - ticks[0]) / frequency]
    assert features["start_time"].isna().all()  # undated masters: no date
    assert features["start_time_of_day"].fillna("none").tolist() == [time_of_day or "none"]


@pytest.mark.parametrize(
    ("column", "signal", "units"),
    [
        ("HR [bpm]", "HR", "bpm"),
        (" Tblood [°C] ", "Tblood", "°C"),
        ("Pulse (SpO2) [bpm]", "Pulse (SpO2)", "bpm"),
        ("ST II", "ST II", ""),
        ("[mmHg]", "[mmHg]", ""),  # units alone: no name to take them from
        ("NBP [sys] [mmHg]", "NBP [sys]", "mmHg"),
    ],
)
def test_signal_names_and_units_come_from_the_column_name(column: str, signal: str, units: str) -> None:
    assert measurement_name(column) == (signal, units)


GOOD = "time,HR [bpm]\n1000,80\n2024,81\n"


def gz(text: str) -> bytes:
    return gzip.compress(text.encode("utf-8"), mtime=0)


LONG = gz(GOOD + "".join(f"{3000 + 1024 * row},{row * 7919 % 211}\n" for row in range(20_000)))
HOSTILE = {
    "not gzip": (GOOD.encode(), "malformed_csv", "not gzip-compressed"),
    "cut short": (LONG[: len(LONG) // 2], "malformed_csv", "Truncated compressed stream"),
    "empty file": (b"", "empty_file", "is empty (0 bytes)"),
    "no rows at all": (gz(""), "malformed_csv", "no header row"),
    "no time column": (
        gz("clock,HR\n1,80\n"),
        "malformed_csv",
        "no time column in its header row ('clock', 'HR')",
    ),
    "a row too wide": (gz(GOOD + "3000,82,7\n"), "malformed_csv", "Expected 2 columns, got 3"),
    "a row too narrow": (gz(GOOD + "3000\n"), "malformed_csv", "Expected 2 columns, got 1"),
    "not a number": (gz(GOOD + "3000,eighty\n"), "malformed_csv", "column 'HR [bpm]': Row #4"),
    "an infinite value": (
        gz(GOOD + "3000,inf\n"),
        "malformed_csv",
        "line 4: 'HR [bpm]' is inf, not a finite number",
    ),
    "a missing time": (gz(GOOD + ",82\n"), "malformed_csv", "line 4: no time (a finite number)"),
    "a time going back": (gz(GOOD + "2000,82\n"), "malformed_csv", "line 4: time 2000 goes back (from 2024)"),
    "a column twice": (gz("time,HR,HR\n1,2,3\n"), "malformed_csv", "column 'HR' appears twice"),
    "an unnamed column": (gz("time,,HR\n1,2,3\n"), "malformed_csv", "column 2 of its header row has no name"),
    "a header not UTF-8": (gzip.compress(b"time,H\xe9\n1,2\n", mtime=0), "malformed_csv", "is not UTF-8"),
    "too many columns": (
        gz("time," + ",".join(f"c{i}" for i in range(1001)) + "\n"),
        "malformed_csv",
        "1001",
    ),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_a_malformed_table_fails_its_record_alone_in_one_line(
    tmp_path: Path, extract: Extract, case: str
) -> None:
    content, code, words = HOSTILE[case]
    folder = tmp_path / "p100" / "p1" / RECORD
    folder.mkdir(parents=True)
    (folder / f"{RECORD}n.csv.gz").write_bytes(content)
    write_table(
        tmp_path / "p100" / "p1" / "82000000" / "82000000n.csv.gz",
        pd.DataFrame({"time": [1, 2], "HR": [3, 4]}),
    )
    run = extract(tmp_path / "p100", group="p100")
    assert run.exit_code == 0, run.stderr
    (error,) = run.errors
    assert (error["path"], error["record"], error["error"]) == (
        f"p1/{RECORD}/{RECORD}n.csv.gz",
        f"{RECORD}n",
        code,
    )
    assert words in error["message"] and "\n" not in error["message"], error["message"]
    assert "Traceback" not in run.stderr
    assert run.features["record"].tolist() == ["82000000n"]  # the other table is summarised
    assert run.summary["records_discovered"] == 2 and run.summary["records_failed"] == 1


def test_a_table_that_is_not_a_regular_file_fails_alone(tmp_path: Path, extract: Extract) -> None:
    folder = tmp_path / "p100" / "p1" / RECORD
    folder.mkdir(parents=True)
    os.mkfifo(folder / f"{RECORD}n.csv.gz")
    (error,) = extract(tmp_path / "p100", group="p100").errors
    assert error["error"] == "unreadable_file" and "is not a regular file" in error["message"]


def test_a_table_with_only_its_header_has_rows_of_nothing(tmp_path: Path, extract: Extract) -> None:
    folder = tmp_path / "p100" / "p1" / RECORD
    folder.mkdir(parents=True)
    (folder / f"{RECORD}n.csv.gz").write_bytes(gz("time,HR [bpm],SpO2 [%]\n"))
    run = extract(tmp_path / "p100", group="p100")
    assert run.errors == []
    features = run.features
    assert features["signal"].tolist() == ["HR", "SpO2"] and (features["n_samples"] == 0).all()
    assert (features["n_valid"] == 0).all() and features[["duration_s", "mean", "p50"]].isna().all().all()


BOUNDED = """
import sys
from pathlib import Path

import pyarrow as pa

from steps.extract.numerics_csv import numerics_csv_task, summarise_numerics_csv
from steps.extract.record_summary import RecordStart

path = Path(sys.argv[1])
task = numerics_csv_task("p100", "p1/r", "p1/r/rn.csv.gz", path, None, RecordStart(None, None), 1)
rows, _ = summarise_numerics_csv(task)
print(rows[0]["n_samples"], pa.default_memory_pool().max_memory())
"""


def test_a_large_table_is_read_in_bounded_memory(tmp_path: Path) -> None:
    rows = 1_000_000
    rng = np.random.default_rng(5)
    path = tmp_path / "rn.csv.gz"
    with gzip.open(path, "wt", compresslevel=1, newline="") as stream:
        stream.write("time,HR [bpm],Noise,SpO2 [%]\n")
        columns = [
            np.arange(rows) * 1024,
            np.round(rng.normal(80, 9, rows)),
            rng.normal(0, 1, rows),  # all distinct: the radix passes read the table again
            np.round(rng.normal(97, 1.5, rows), 1),
        ]
        np.savetxt(stream, np.column_stack(columns), delimiter=",", fmt=["%d", "%g", "%.17g", "%g"])
    whole = rows * len(columns) * 8  # 32 MB as float64 columns, and the CSV text some 2.5 times that
    result = subprocess.run(
        [sys.executable, "-c", BOUNDED, str(path)], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert result.returncode == 0, result.stderr
    counted, arrow_peak = map(int, result.stdout.split())
    assert counted == rows
    assert arrow_peak < whole / 2, (arrow_peak, whole)  # some blocks at a time, never the table


def test_whatever_escapes_discovery_fails_the_table_too(
    tmp_path: Path, extract: Extract, monkeypatch: pytest.MonkeyPatch
) -> None:
    from steps.extract import discovery

    folder = tmp_path / "p100" / "p1" / RECORD
    write_table(folder / f"{RECORD}n.csv.gz", table(20, np.random.default_rng(1), columns=("HR [bpm]",)))

    def surprise(*_: object) -> object:
        raise KeyError("surprise")

    monkeypatch.setattr(discovery, "numerics_csv_task", surprise)
    run = extract(tmp_path / "p100", group="p100")
    assert [(e["path"], e["record"], e["error"]) for e in run.errors] == [
        (f"p1/{RECORD}/{RECORD}n.csv.gz", f"{RECORD}n", "unexpected_error")
    ]
    assert run.summary["records_discovered"] == 1 == run.summary["records_failed"]
