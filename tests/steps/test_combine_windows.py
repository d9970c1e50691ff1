"""The combine step's windows dataset, on group outputs written by hand as the extract step writes them
(``windows.parquet`` beside the features, ``summary.json`` naming its window length, rows and digest): every
window lands once, with its standard signal name, partitioned by group; a group's windows stream through in
bounded batches; and the windows are checked as the other outputs are."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from steps.combine import command as combine_step
from steps.combine.dataset_folder import MARKER_FILE
from steps.combine.dataset_schema import WINDOWS_DATASET_SCHEMA
from steps.combine.group_windows import WINDOW_BATCH_ROWS
from steps.contract.outputs import (
    SUMMARY_FILE,
    SUMMARY_FILES_KEY,
    SUMMARY_WINDOW_SECONDS,
    SUMMARY_WINDOWS,
    WINDOW_SCHEMA,
    WINDOWS_FILE,
)
from tests.paths import ROOT
from tests.report_pages import table_dicts
from tests.steps.extract_runs import seal
from tests.steps.outputs_by_hand import feature_row, many_windows, windows_of, write_group

RERUN = "the outputs mix two extract runs, or an extract run was interrupted; run the extract step again"


def combine(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str]:
    code = combine_step.main([str(arg) for arg in argv])
    return code, capsys.readouterr().err


def rows_30() -> list[dict[str, Any]]:
    return [
        feature_row("30", "3000001_0001", "II", 0, hours=0.5, clip=0.01, flat=0.2),
        feature_row("30", "3000001_0001", "PLETH", 1, hours=0.5, clip=0.7, flat=float("nan")),
    ]


def rows_31() -> list[dict[str, Any]]:
    return [feature_row("31", "3100001_0001", "II", hours=0.25, flat=0.9)]


@pytest.fixture
def groups(tmp_path: Path) -> Path:
    """Group 30 with windows of two signals; 31 with windows, from two instances; 32 cut with a window length
    of 0; 33 from an extract step older than windows (its summary says nothing of them)."""
    root = tmp_path / "groups"
    write_group(root / "30", "30", rows_30(), windows=windows_of(rows_30()))
    shares = [rows_31(), [feature_row("31", "3100002_0001", "ABP", hours=0.1)]]
    for index, rows in enumerate(shares):
        write_group(root / "31" / f"algo-{index + 1}", "31", rows, host=(index, 2), windows=windows_of(rows))
    write_group(root / "32", "32", window_seconds=0)
    write_group(root / "33", "33")
    return root


def expected_windows(groups: Path) -> pd.DataFrame:
    """Every window of the input, as the dataset should hold it."""
    files = sorted(groups.rglob(WINDOWS_FILE))
    frame = pd.concat([pd.read_parquet(path) for path in files], ignore_index=True)
    names = {"II": "ECG_II", "PLETH": "PPG", "ABP": "ABP"}
    return frame.assign(signal_std=frame["signal"].map(names))[WINDOWS_DATASET_SCHEMA.names]


def ordered(frame: pd.DataFrame) -> pd.DataFrame:
    keys = ["patient_group", "record", "signal_index", "window_index"]
    return frame.sort_values(keys).reset_index(drop=True)


def test_every_window_lands_once_with_its_standard_name_partitioned_by_group(
    groups: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out"
    code = combine_step.main(["--input-dir", str(groups), "--output-dir", str(output)])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    windows = output / "windows"
    assert sorted(p.name for p in windows.iterdir()) == ["30", "31", MARKER_FILE]  # 32, 33: none
    assert [p.name for p in (windows / "30").iterdir()] == ["part-0.parquet"]
    assert pq.read_schema(windows / "30" / "part-0.parquet").equals(WINDOWS_DATASET_SCHEMA)
    dataset = pd.read_parquet(windows)
    expected = expected_windows(groups)
    assert len(expected) == 30 + 30 + 15 + 6  # half an hour of minutes a signal, a quarter, six minutes
    pd.testing.assert_frame_equal(ordered(dataset), ordered(expected))
    assert f"; 81 windows of 60 s -> {windows}; reports -> " in printed.out

    quality = json.loads((output / "quality.json").read_text())
    assert quality["windows"] == {"window_seconds": 60.0, "rows": 81, "groups_without_windows": ["32", "33"]}
    by_group = {group["group"]: (group["window_seconds"], group["windows"]) for group in quality["groups"]}
    assert by_group == {"30": (60.0, 60), "31": (60.0, 21), "32": (0.0, 0), "33": (None, 0)}
    assert quality["totals"]["windows"] == 81
    page = (output / "report.html").read_text()
    assert "cut into windows of 60 s" in page and "81 windows in the windows dataset" in page
    assert "Groups without windows, so not in it: 32 (length 0), 33 (no length recorded)." in page
    groups_table = {
        row["group"]: (row["window seconds"], row["windows"]) for row in table_dicts(page, "groups")
    }
    assert groups_table == {
        "30": ("60", "60"),
        "31": ("60", "21"),
        "32": ("0", "0"),
        "33": ("not recorded", "0"),
    }


def test_without_windows_there_is_no_windows_dataset_and_an_earlier_one_goes(
    groups: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out"
    assert combine(capsys, "--input-dir", groups, "--output-dir", output)[0] == 0
    assert (output / "windows").is_dir()
    assert combine(capsys, "--input-dir", groups, "--output-dir", output, "--groups", "32", "33")[0] == 0
    assert sorted(p.name for p in output.iterdir()) == [
        "dataset",
        "quality.json",
        "report.html",
        "signal_stats.csv",
    ]
    quality = json.loads((output / "quality.json").read_text())
    assert quality["windows"] == {"window_seconds": None, "rows": 0, "groups_without_windows": ["32", "33"]}
    assert "No windows: the groups were extracted without them" in (output / "report.html").read_text()


def test_a_rerun_replaces_the_windows_dataset_whole(
    groups: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out"
    assert combine(capsys, "--input-dir", groups, "--output-dir", output)[0] == 0
    assert combine(capsys, "--input-dir", groups, "--output-dir", output, "--groups", "31")[0] == 0
    assert sorted(p.name for p in (output / "windows").iterdir()) == ["31", MARKER_FILE]
    assert sorted(pd.read_parquet(output / "windows")["patient_group"].unique()) == ["31"]


def test_a_windows_folder_that_is_not_ours_or_overlaps_is_refused_before_anything_is_read(
    groups: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out"
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    code, err = combine(capsys, "--input-dir", groups, "--output-dir", output, "--windows-dir", foreign)
    assert (code, err) == (
        2,
        f"error: --windows-dir {foreign} is not a dataset this step wrote (it holds 'notes.txt'), and a run "
        "replaces its dataset whole: give a new or empty folder, or move that one away yourself\n",
    )
    inside = output / "dataset" / "w"
    code, err = combine(capsys, "--input-dir", groups, "--output-dir", output, "--windows-dir", inside)
    assert (code, err) == (
        2,
        f"error: --windows-dir {inside} is inside the dataset folder {output / 'dataset'}: give the two "
        "datasets folders apart\n",
    )
    code, err = combine(capsys, "--input-dir", groups, "--output-dir", output, "--windows-dir", groups / "w")
    assert code == 2 and err.startswith(f"error: --windows-dir {groups / 'w'} is inside --input-dir ")
    assert not output.exists() and (foreign / "notes.txt").read_text() == "keep me"


def test_windows_s3_options_need_the_dataset_on_s3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for options, message in [
        (["--windows-s3-uri", "s3://b/w"], "--windows-s3-uri only apply with --dataset-s3-uri"),
        (["--glue-windows-table", "w"], "--glue-windows-table only apply with --dataset-s3-uri"),
        (["--dataset-s3-uri", "s3://b/d", "--windows-dir", "w"], "give --windows-dir or --dataset-s3-uri"),
        (["--dataset-s3-uri", "s3://b/d", "--windows-s3-uri", "b/w"], "--windows-s3-uri must be s3://"),
        (["--dataset-s3-uri", "s3://b/d", "--glue-windows-table", "w"], "goes with --glue-database and"),
        (
            ["--dataset-s3-uri", "s3://b/d", "--glue-database", "d", "--glue-table", "t" * 250],
            "the windows' Glue table name (--glue-table + '_windows') is 258 characters long; Glue takes at",
        ),
    ]:
        code, err = combine(capsys, "--input-dir", tmp_path, "--output-dir", tmp_path / "o", *options)
        assert code == 2 and err.count("\n") == 1 and message in err, (options, err)


# Streaming: a group's windows are never in memory whole ------------------------------------------------

PEAK = """
import json, sys
import pyarrow as pa
from steps.combine import command
code = command.main(["--input-dir", sys.argv[1], "--output-dir", sys.argv[2]])
print(json.dumps([code, pa.default_memory_pool().max_memory()]))
"""


def peak_arrow_bytes(groups: Path, output: Path) -> int:
    """The most memory Arrow held at once while a fresh interpreter combined ``groups``."""
    result = subprocess.run(
        [sys.executable, "-c", PEAK, str(groups), str(output)], capture_output=True, text=True, cwd=ROOT
    )
    code, peak = json.loads(result.stdout.splitlines()[-1])
    assert code == 0, result.stderr
    return int(peak)


def test_a_group_s_windows_stream_through_in_bounded_batches(tmp_path: Path) -> None:
    """Two groups of windows in row groups of 8,192 rows, one four times the other: combining the larger
    holds hardly more in memory than the smaller, and a small part of what its windows take whole; every row
    group written holds at most a batch."""
    sizes = {"small": 400_000, "large": 1_600_000}
    peaks, whole = {}, 0
    for name, rows in sizes.items():
        windows = many_windows("30", rows)
        whole = windows.nbytes
        write_group(tmp_path / name / "30", "30", windows=windows, row_group_size=8_192)
        del windows
        peaks[name] = peak_arrow_bytes(tmp_path / name, tmp_path / f"out-{name}")
    assert peaks["large"] - peaks["small"] < 16e6, peaks  # the input's footer: a few kB a row group
    assert peaks["large"] < whole / 3, (peaks, whole)  # the large group's windows whole: ~240 MB
    written = pq.ParquetFile(tmp_path / "out-large" / "windows" / "30" / "part-0.parquet").metadata
    batches = [written.row_group(index).num_rows for index in range(written.num_row_groups)]
    assert sum(batches) == sizes["large"] and max(batches) <= WINDOW_BATCH_ROWS
    assert len(batches) == -(-sizes["large"] // WINDOW_BATCH_ROWS)


# The windows are checked as the other outputs are --------------------------------------------------------


@pytest.fixture
def one_group(tmp_path: Path) -> Path:
    root = tmp_path / "groups"
    write_group(root / "30", "30", rows_30(), windows=windows_of(rows_30()))
    return root


def summary_of(folder: Path) -> dict[str, Any]:
    return dict(json.loads((folder / SUMMARY_FILE).read_text()))


def rewrite_summary(folder: Path, **fields: Any) -> None:
    summary = summary_of(folder)
    summary.update(fields)
    (folder / SUMMARY_FILE).write_text(json.dumps(summary))


def refusal(capsys: pytest.CaptureFixture[str], groups: Path, output: Path) -> str:
    code, err = combine(capsys, "--input-dir", groups, "--output-dir", output)
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err, err
    assert not output.exists()
    return err.removeprefix("error: ").removesuffix("\n")


def test_a_windows_file_of_another_run_is_refused(
    one_group: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = one_group / "30"
    other = windows_of(rows_30(), window_seconds=60, clip=0.5)  # the same size, other values
    pq.write_table(other, folder / WINDOWS_FILE, compression="snappy")
    assert refusal(capsys, one_group, tmp_path / "out").startswith(
        "group 30: windows.parquet is not the file summary.json describes ("
    )


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            {SUMMARY_WINDOW_SECONDS: "sixty"},
            "summary.json: window_seconds is 'sixty', not a number of seconds (0: no windows)",
        ),
        (
            {SUMMARY_WINDOW_SECONDS: -1},
            "summary.json: window_seconds is -1, not a number of seconds (0: no windows)",
        ),
        (
            {SUMMARY_WINDOW_SECONDS: True},
            "summary.json: window_seconds is True, not a number of seconds (0: no windows)",
        ),
        ({SUMMARY_WINDOWS: None}, "summary.json: windows is nothing, not a count of window rows"),
        ({SUMMARY_WINDOWS: 7}, "summary.json counts 7 windows, windows.parquet holds 60"),
        (
            {SUMMARY_FILES_KEY: "omit windows"},
            "summary.json: files['windows.parquet'] is nothing, not "
            '{"bytes": size, "sha256": hex digest}; run the extract step again',
        ),
    ],
)
def test_what_the_summary_says_of_windows_is_checked(
    one_group: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    change: dict[str, Any],
    problem: str,
) -> None:
    folder = one_group / "30"
    if change.get(SUMMARY_FILES_KEY) == "omit windows":
        files = summary_of(folder)[SUMMARY_FILES_KEY]
        del files[WINDOWS_FILE]
        change = {SUMMARY_FILES_KEY: files}
    rewrite_summary(folder, **change)
    assert refusal(capsys, one_group, tmp_path / "out") == f"group 30: {problem}"


def test_a_missing_windows_file_and_one_the_summary_does_not_vouch_for_are_refused(
    one_group: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = one_group / "30"
    windows = (folder / WINDOWS_FILE).read_bytes()
    (folder / WINDOWS_FILE).unlink()
    assert refusal(capsys, one_group, tmp_path / "out") == (
        f"group 30: windows.parquet is missing from {folder} (summary.json records windows of 60 s)"
    )
    write_group(folder, "30", rows_30(), window_seconds=0)  # a later run without windows...
    (folder / WINDOWS_FILE).write_bytes(windows)  # ...beside an earlier run's windows
    assert refusal(capsys, one_group, tmp_path / "out") == (
        f"group 30: windows.parquet is in {folder}, but summary.json records no windows "
        f"(window_seconds 0.0): {RERUN}"
    )


def windows_with(schema: pa.Schema) -> pa.Table:
    table = windows_of(rows_30())
    return pa.table(
        {name: table.column(name).cast(schema.field(name).type) for name in schema.names}, schema=schema
    )


@pytest.mark.parametrize(
    ("schema", "difference"),
    [
        (
            WINDOW_SCHEMA.remove(WINDOW_SCHEMA.get_field_index("flat_fraction")),
            "missing columns flat_fraction",
        ),
        (
            WINDOW_SCHEMA.set(
                WINDOW_SCHEMA.get_field_index("window_index"), pa.field("window_index", pa.int32())
            ),
            "window_index is int32, expected int64",
        ),
    ],
)
def test_a_windows_schema_difference_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], schema: pa.Schema, difference: str
) -> None:
    write_group(tmp_path / "groups" / "30", "30", rows_30(), windows=windows_with(schema))
    assert refusal(capsys, tmp_path / "groups", tmp_path / "out") == (
        f"group 30: windows.parquet does not have the extract step's schema: {difference}"
    )


def test_windows_of_another_group_or_without_their_signal_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    windows = windows_of(rows_30())
    groups = windows.column("patient_group").to_pylist()
    groups[5] = "31"
    stray = windows.set_column(0, "patient_group", pa.array(groups))
    write_group(tmp_path / "groups" / "30", "30", rows_30(), windows=stray)
    assert (
        refusal(capsys, tmp_path / "groups", tmp_path / "out")
        == "group 30: windows.parquet holds windows of group '31'"
    )

    index = WINDOW_SCHEMA.get_field_index("signal")
    nameless = windows.set_column(index, "signal", pa.array([None] * windows.num_rows, pa.string()))
    write_group(tmp_path / "groups" / "30", "30", rows_30(), windows=nameless)
    assert (
        refusal(capsys, tmp_path / "groups", tmp_path / "out")
        == "group 30: windows.parquet: signal is null in 60 row(s)"
    )


def test_host_shares_cut_with_different_lengths_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "groups"
    for index, length in enumerate([60.0, 30.0]):
        rows = [feature_row("30", f"300000{index}_0001", "II", hours=0.1)]
        write_group(
            root / "30" / f"algo-{index + 1}", "30", rows, host=(index, 2), windows=windows_of(rows, length),
            window_seconds=length,
        )  # fmt: skip
    assert refusal(capsys, root, tmp_path / "out") == (
        f"group 30: host shares with windows of different lengths (algo-1/ 60.0, algo-2/ 30.0): {RERUN}"
    )


def test_groups_cut_with_different_lengths_are_one_line_and_nothing_is_written(
    groups: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [feature_row("34", "3400001_0001", "II", hours=0.1)]
    write_group(groups / "34", "34", rows, windows=windows_of(rows, 30.0), window_seconds=30.0)
    assert refusal(capsys, groups, tmp_path / "out") == (
        "the groups' windows are of different lengths (30 s in group(s) 34; 60 s in group(s) 30, 31): one "
        "windows dataset holds windows of one length; extract these groups again with one window length (the "
        "pipeline's WindowSeconds, the extract step's --window-seconds), or combine them apart"
    )
    assert (
        combine(capsys, "--input-dir", groups, "--output-dir", tmp_path / "out", "--groups", "34", "32")[0]
        == 0
    )


def test_a_sealed_alteration_of_the_windows_reaches_the_checks_after_the_digests(
    one_group: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = one_group / "30"
    windows = pq.read_table(folder / WINDOWS_FILE)
    pq.write_table(windows.slice(0, 10), folder / WINDOWS_FILE)
    seal(folder)
    assert refusal(capsys, one_group, tmp_path / "out") == (
        "group 30: summary.json counts 60 windows, windows.parquet holds 10"
    )
