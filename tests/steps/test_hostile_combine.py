"""The combine step on hostile inputs and after faults: nothing silently dropped or deleted, no mixed output.

Group outputs are built here by hand, as the extract step writes them (``summary.json`` last, describing the
other two files), then damaged one way at a time. Every refusal is one line, with its exit code, and leaves
the inputs and any earlier outputs as they were.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import re
import stat
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from steps.combine import command as combine_step
from steps.combine.dataset_folder import EARLIER_MARKER_FILE, MARKER_FILE
from steps.contract.outputs import (
    DIGESTED_FILES,
    ERRORS_FILE,
    FEATURE_SCHEMA,
    FEATURES_FILE,
    SUMMARY_FILE,
    SUMMARY_FILES_KEY,
    file_digest,
)
from tests.paths import ROOT
from tests.report_pages import images, table_dicts
from tests.steps.container import container_command
from tests.steps.extract_runs import seal

PLOTS = 5
RERUN = "the outputs mix two extract runs, or an extract run was interrupted; run the extract step again"
REPORTS = ["quality.json", "report.html", "signal_stats.csv"]
NOT_A_GROUP_NAME = (
    "{} cannot be a group's name: letters, digits, '.', '_' and '-', starting with a letter or digit (the "
    "dataset's readers skip a folder starting with '.' or '_')"
)


def feature_row(group: str, record: str, signal: str, index: int = 0, hours: float = 1.0) -> dict[str, Any]:
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
        "clip_fraction": 0.0,
        "flat_fraction": 0.0,
        "start_time": dt.datetime(2150, 1, 1),
        "start_time_of_day": "00:00:00.000",
    }


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
    **summary_fields: Any,
) -> Path:
    """A group's three output files in ``folder``, consistent with each other, as the extract step writes
    them (from host share ``host``: index, count); ``errors`` are the lines of errors.jsonl, as they are;
    ``summary_fields`` more fields of summary.json (bytes_read, seconds, job...)."""
    folder.mkdir(parents=True, exist_ok=True)
    if table is None:
        rows = [feature_row(group, f"{group}00001_0001", "II")] if rows is None else rows
        table = pa.Table.from_pylist(rows, schema=FEATURE_SCHEMA)
    pq.write_table(table, folder / FEATURES_FILE, compression="snappy")
    errors = [] if errors is None else errors
    (folder / ERRORS_FILE).write_bytes(b"".join(line + b"\n" for line in errors))
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
        SUMMARY_FILES_KEY: {name: file_digest(folder / name) for name in DIGESTED_FILES},
        **summary_fields,
    }
    (folder / SUMMARY_FILE).write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return folder


@pytest.fixture
def groups(tmp_path: Path) -> Path:
    """An input folder of two good groups, 30 and 31 (31 with one failed record)."""
    root = tmp_path / "groups"
    write_group(root / "30", "30")
    write_group(
        root / "31",
        "31",
        [feature_row("31", "3100001_0001", "II"), feature_row("31", "3100001_0001", "V", 1)],
        [error_line("31", "3100001_0002")],
    )
    return root


def combine(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str]:
    """The step's exit code and what it printed on stderr."""
    code = combine_step.main([str(arg) for arg in argv])
    return code, capsys.readouterr().err


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every file (its bytes) and folder (None) under ``folder``: what "untouched" is compared with."""
    return {
        path.relative_to(folder).as_posix(): None if path.is_dir() else path.read_bytes()
        for path in sorted(folder.rglob("*"))
    }


# 1. The three files of a group are one set -------------------------------------------------------------


def test_a_file_of_another_run_is_refused_by_its_size_then_by_its_hash(
    groups: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    features = groups / "30" / FEATURES_FILE
    described = features.stat().st_size
    other = write_group(tmp_path / "other", "30", [feature_row("30", "3000009_0001", "PLETH", hours=2)])
    features.write_bytes((other / FEATURES_FILE).read_bytes())  # another run's file, of another size
    code, err = combine(capsys, "--input-dir", groups, "--output-dir", tmp_path / "out")
    size = features.stat().st_size
    assert size != described
    assert (code, err) == (
        1,
        f"error: group 30: features.parquet is not the file summary.json describes (it is {size:,} bytes, "
        f"summary.json says {described:,}): {RERUN}\n",
    )

    errors = groups / "31" / ERRORS_FILE  # the same size, other bytes: only the hash tells
    errors.write_bytes(errors.read_bytes().replace(b"WFDB", b"wfdb"))
    write_group(groups / "30", "30")
    code, err = combine(capsys, "--input-dir", groups, "--output-dir", tmp_path / "out")
    assert (code, err) == (
        1,
        "error: group 31: errors.jsonl is not the file summary.json describes (its SHA-256 differs): "
        f"{RERUN}\n",
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            None,
            "summary.json has no 'files' describing features.parquet and errors.jsonl (it has nothing): it "
            "is not one the extract step wrote with its outputs; run the extract step again",
        ),
        (
            {"errors.jsonl": {"bytes": 0, "sha256": "0" * 64}},
            "summary.json: files['features.parquet'] is nothing, not "
            '{"bytes": size, "sha256": hex digest}; run the extract step again',
        ),
        (
            {"features.parquet": {"bytes": -1, "sha256": "0" * 64}},
            "summary.json: files['features.parquet'] is {'bytes': -1, 'sha256': '" + "0" * 34 + "…, "
            'not {"bytes": size, "sha256": hex digest}; run the extract step again',
        ),
        (
            {"features.parquet": {"bytes": 1, "sha256": "not hex"}},
            "summary.json: files['features.parquet'] is {'bytes': 1, 'sha256': 'not hex'}, not "
            '{"bytes": size, "sha256": hex digest}; run the extract step again',
        ),
        (
            ["features.parquet"],
            "summary.json has no 'files' describing features.parquet and errors.jsonl (it has "
            "['features.parquet']): it is not one the extract step wrote with its outputs; run the extract "
            "step again",
        ),
    ],
    ids=["missing", "a file left out", "negative size", "not a digest", "not an object"],
)
def test_a_summary_that_does_not_describe_its_files_is_refused(
    files: Any, expected: str, groups: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary_path = groups / "30" / SUMMARY_FILE
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    if files is None:
        del summary[SUMMARY_FILES_KEY]
    else:
        summary[SUMMARY_FILES_KEY] = files
    summary_path.write_text(json.dumps(summary))
    code, err = combine(capsys, "--input-dir", groups, "--output-dir", tmp_path / "out")
    assert (code, err) == (1, f"error: group 30: {expected}\n")
    assert not (tmp_path / "out").exists()


# 2. Nothing deleted that this step did not write -------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("groups", "is --input-dir {groups}: replacing it would delete the groups' outputs"),
        (
            "groups/30/dataset",
            "is inside --input-dir {groups}: the dataset would be read as a group's outputs",
        ),
        (".", "holds --input-dir {groups}: replacing it would delete the groups' outputs"),
        ("link", "is --input-dir {groups}: replacing it would delete the groups' outputs"),
    ],
    ids=["the input", "inside it", "holding it", "a link to it"],
)
def test_a_dataset_folder_over_the_input_is_refused_before_anything_is_read(
    where: str, message: str, groups: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "link").symlink_to(groups)
    before = snapshot(tmp_path)
    dataset = tmp_path / where
    code, err = combine(
        capsys, "--input-dir", groups, "--output-dir", tmp_path / "out", "--dataset-dir", dataset
    )
    assert (code, err) == (
        2,
        f"error: --dataset-dir {dataset} {message.format(groups=groups)}; give a dataset folder outside the "
        "input\n",
    )
    assert snapshot(tmp_path) == before  # the input untouched, byte for byte; no output


@pytest.mark.parametrize("where", ["groups", "groups/out"])
def test_an_output_folder_in_the_input_is_refused(
    where: str, groups: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(tmp_path)
    output = tmp_path / where
    code, err = combine(capsys, "--input-dir", groups, "--output-dir", output)
    relation = "is" if output == groups else "is inside"
    assert (code, err) == (
        2,
        f"error: --output-dir {output} {relation} --input-dir {groups}: the reports would land among the "
        "groups' outputs; give an output folder outside the input\n",
    )
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("where", ["out", "."])
def test_a_dataset_folder_over_the_reports_is_refused(
    where: str, groups: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output, dataset = tmp_path / "out", tmp_path / where
    if where == ".":
        groups.rename(tmp_path.parent / f"{tmp_path.name}-groups")  # the input elsewhere: only the output
        groups = tmp_path.parent / f"{tmp_path.name}-groups"
    code, err = combine(capsys, "--input-dir", groups, "--output-dir", output, "--dataset-dir", dataset)
    relation = "is" if where == "out" else "holds"
    assert (code, err) == (
        2,
        f"error: --dataset-dir {dataset} {relation} --output-dir {output}: the reports would be written "
        "inside the dataset; give a dataset folder inside the output folder, or apart from it\n",
    )
    assert not output.exists()


def test_a_group_output_folder_is_an_input_too(
    groups: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(groups)
    code, err = combine(
        capsys,
        "--input-dir",
        tmp_path / "fetched",
        "--output-dir",
        tmp_path / "out",
        "--group-output",
        "30",
        groups / "30",
        "--dataset-dir",
        groups / "30",
    )
    assert (code, err) == (
        2,
        f"error: --dataset-dir {groups / '30'} is --group-output 30 {groups / '30'}: replacing it would "
        "delete the groups' outputs; give a dataset folder outside the input\n",
    )
    assert snapshot(groups) == before


def make_foreign(dataset: Path, case: str) -> None:
    if case == "a file":
        dataset.parent.mkdir(parents=True, exist_ok=True)
        dataset.write_text("not a folder")
        return
    dataset.mkdir(parents=True, exist_ok=True)
    if case == "a user's file":
        (dataset / "notes.txt").write_text("mine")
    elif case == "another hive dataset":
        (dataset / "group=1").mkdir()
        (dataset / "group=1" / "data.parquet").write_bytes(b"PAR1")
    elif case == "a forged marker":
        (dataset / MARKER_FILE).write_text("{}")
    elif case == "a link inside":
        (dataset / "link").symlink_to(dataset.parent)


@pytest.mark.parametrize(
    ("case", "problem"),
    [
        ("a user's file", "it holds 'notes.txt'"),
        ("another hive dataset", "it holds 'group=1/data.parquet'"),
        ("a forged marker", f"its {MARKER_FILE} is not one this step writes"),
        ("a link inside", "it holds the symbolic link 'link'"),
        ("a file", "it is not a folder"),
    ],
)
def test_an_existing_folder_that_is_not_our_dataset_is_never_replaced(
    case: str, problem: str, groups: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = tmp_path / "mine" / "dataset"
    make_foreign(dataset, case)
    before = snapshot(tmp_path)
    code, err = combine(
        capsys, "--input-dir", groups, "--output-dir", tmp_path / "out", "--dataset-dir", dataset
    )
    assert (code, err) == (
        2,
        f"error: --dataset-dir {dataset} is not a dataset this step wrote ({problem}), and a run replaces "
        "its dataset whole: give a new or empty folder, or move that one away yourself\n",
    )
    assert snapshot(tmp_path) == before


def test_a_file_added_to_our_dataset_keeps_it_from_being_replaced(
    groups: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out"
    assert combine(capsys, "--input-dir", groups, "--output-dir", output)[0] == 0
    (output / "dataset" / "30" / "notes.txt").write_text("mine")
    before = snapshot(tmp_path)
    code, err = combine(capsys, "--input-dir", groups, "--output-dir", output)
    assert (code, err) == (
        2,
        f"error: the dataset folder {output / 'dataset'} is not a dataset this step wrote (it holds "
        "'30/notes.txt'), and a run replaces its dataset whole: give a new or empty folder, or move "
        "that one away yourself\n",
    )
    assert snapshot(tmp_path) == before


def test_a_rerun_replaces_its_own_dataset_and_clears_what_a_killed_run_left(
    groups: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out"
    assert combine(capsys, "--input-dir", groups, "--output-dir", output)[0] == 0
    assert sorted(p.name for p in (output / "dataset").iterdir()) == ["30", "31", MARKER_FILE]
    # what a combine run killed while writing leaves beside its outputs ...
    (output / ".dataset.k1ll3d_0.partial" / "group=30").mkdir(parents=True)
    (output / ".dataset.k1ll3d_1.old" / "group=31").mkdir(parents=True)
    (output / ".quality.json.k1ll3d_2.partial").write_text("{")
    # ... and files of the user's, even of a name like those: kept
    (output / ".notes.txt.k1ll3d_3.partial").write_text("mine")
    (output / "notes.txt").write_text("mine")
    assert combine(capsys, "--input-dir", groups, "--output-dir", output, "--groups", "31")[0] == 0
    assert sorted(p.name for p in output.iterdir()) == [
        ".notes.txt.k1ll3d_3.partial",
        "dataset",
        "notes.txt",
        *REPORTS,
    ]
    assert sorted(p.name for p in (output / "dataset").iterdir()) == ["31", MARKER_FILE]
    assert json.loads((output / "quality.json").read_text(encoding="utf-8"))["totals"]["groups"] == 1


def test_a_dataset_with_the_earlier_json_marker_is_replaced(
    groups: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = tmp_path / "out" / "dataset"
    (dataset / "group=30").mkdir(parents=True)
    (dataset / "group=30" / "part-0.parquet").write_bytes(b"PAR1")
    marker = {"written_by": "the combine step of waveform-pipeline", "files": ["group=30/part-0.parquet"]}
    (dataset / EARLIER_MARKER_FILE).write_text(json.dumps(marker))
    assert combine(capsys, "--input-dir", groups, "--output-dir", tmp_path / "out") == (0, "")
    assert sorted(p.name for p in dataset.iterdir()) == ["30", "31", MARKER_FILE]


def test_a_dataset_of_the_earlier_shape_without_the_marker_is_replaced(
    groups: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = tmp_path / "out" / "dataset"
    for partition in ("group=30", "group=99"):
        (dataset / partition).mkdir(parents=True)
        (dataset / partition / "part-0.parquet").write_bytes(b"PAR1")
    assert combine(capsys, "--input-dir", groups, "--output-dir", tmp_path / "out") == (0, "")
    assert sorted(p.name for p in dataset.iterdir()) == ["30", "31", MARKER_FILE]
    assert pq.read_table(dataset).num_rows == 3


def test_a_report_name_taken_by_a_folder_is_refused_before_anything_is_written(
    groups: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out"
    (output / "quality.json").mkdir(parents=True)
    code, err = combine(capsys, "--input-dir", groups, "--output-dir", output)
    assert (code, err) == (2, f"error: --output-dir {output} holds quality.json, which is not a file\n")
    assert [p.name for p in output.iterdir()] == ["quality.json"]


# 3. A folder holds the group it is named for -----------------------------------------------------------


def test_a_folder_holding_another_groups_outputs_is_refused_whether_or_not_groups_are_named(
    groups: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_group(groups / "32", "30")  # a copy of group 30's outputs under 32
    for named in ([], ["--groups", "30", "32"]):
        code, err = combine(capsys, "--input-dir", groups, "--output-dir", tmp_path / "out", *named)
        assert (code, err) == (
            1,
            f"error: group 32: {groups / '32'} holds the outputs of group '30' (summary.json), not 32\n",
        )
    assert not (tmp_path / "out").exists()


def test_a_host_share_belongs_to_its_folders_group(
    groups: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("30", "31"):
        for path in (groups / name).iterdir():
            path.unlink()
    write_group(groups / "30" / "algo-1", "30", host=(0, 2))
    write_group(groups / "30" / "algo-2", "30", [feature_row("30", "3000002_0001", "V")], host=(1, 2))
    write_group(groups / "31" / "algo-1", "31", host=(0, 2))
    write_group(groups / "31" / "algo-2", "32", host=(1, 2))
    code, err = combine(capsys, "--input-dir", groups, "--output-dir", tmp_path / "out")
    assert (code, err) == (
        1,
        f"error: group 31: {groups / '31' / 'algo-2'} holds the outputs of group '32' (algo-2/summary.json), "
        "not 31\n",
    )
    (groups / "31" / "algo-2" / SUMMARY_FILE).unlink()  # now group 31 has one share of its two
    assert combine(capsys, "--input-dir", groups, "--output-dir", tmp_path / "out") == (
        1,
        "error: group 31: the step ran on 2 instances but the outputs hold shares [1]; share 2 is missing\n",
    )
    write_group(groups / "31" / "algo-2", "31", [feature_row("31", "3100002_0001", "V")], host=(1, 2))
    assert combine(capsys, "--input-dir", groups, "--output-dir", tmp_path / "out") == (0, "")
    assert pq.read_table(tmp_path / "out" / "dataset").num_rows == 4


def test_a_folder_with_both_whole_outputs_and_host_shares_is_refused(
    groups: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_group(groups / "30" / "algo-1", "30")
    code, err = combine(capsys, "--input-dir", groups, "--output-dir", tmp_path / "out")
    assert (code, err) == (
        1,
        f"error: group 30: {groups / '30'} holds both a whole group's outputs and host shares (algo-1): "
        f"{RERUN}\n",
    )


def test_groups_may_be_listed_with_commas(
    groups: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_group(groups / "32", "32")
    for index, listed in enumerate((["30,32"], ["30", "32"], ["30, 32", "30"])):
        output = tmp_path / f"out{index}"
        assert combine(capsys, "--input-dir", groups, "--output-dir", output, "--groups", *listed) == (0, "")
        assert [
            group["group"]
            for group in json.loads((output / "quality.json").read_text(encoding="utf-8"))["groups"]
        ] == [
            "30",
            "32",
        ]


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        (
            ["--groups", ""],
            "--groups '' names an empty group: give names, as in --groups 30 31 or --groups 30,31",
        ),
        (
            ["--groups", "30,,31"],
            "--groups '30,,31' names an empty group: give names, as in --groups 30 31 or --groups 30,31",
        ),
        (["--groups", ".."], "--groups: " + NOT_A_GROUP_NAME.format("'..'")),
        (
            ["--group-output", "../30", "s3://bucket/x"],
            "--group-output: " + NOT_A_GROUP_NAME.format("'../30'"),
        ),
        (["--groups", "_hidden"], "--groups: " + NOT_A_GROUP_NAME.format("'_hidden'")),
        (["--groups", "a=b"], "--groups: " + NOT_A_GROUP_NAME.format("'a=b'")),
    ],
)
def test_a_group_name_that_is_no_folder_name_is_refused(
    option: list[str], expected: str, groups: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = combine(capsys, "--input-dir", groups, "--output-dir", tmp_path / "out", *option)
    assert (code, err) == (2, f"error: {expected}\n")
    assert not (tmp_path / "out").exists()


def test_a_path_with_a_line_break_still_gives_one_line(
    groups: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_group(groups / "3\n3\u2028", "33")
    code, err = combine(capsys, "--input-dir", groups, "--output-dir", tmp_path / "out")
    folder = str(groups / "3\\n3\\u2028")
    assert (code, err) == (
        1,
        f"error: group 3\\n3\\u2028: {folder} holds the outputs of group '33' (summary.json), "
        "not 3\\n3\\u2028\n",
    )


# 4. errors.jsonl, read line by line --------------------------------------------------------------------


def test_line_separators_in_a_records_name_do_not_split_its_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names = [
        "30\u2028a",
        "30\x85b",
        "30\u2029c",
    ]  # JSON lets these stand raw in a string; splitlines() splits
    lines = [error_line("30", record=name) for name in names]
    assert all(b"\\u" not in line for line in lines)
    write_group(tmp_path / "groups" / "30", "30", errors=lines)
    output = tmp_path / "out"
    assert combine(capsys, "--input-dir", tmp_path / "groups", "--output-dir", output) == (0, "")
    quality = json.loads((output / "quality.json").read_text(encoding="utf-8"))
    assert quality["totals"]["errors_reported"] == 3
    assert [example["path"] for example in quality["errors"][0]["examples"]] == [
        f"{name}/{name}.hea" for name in names
    ]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b"[" * 100_000 + b"]" * 100_000, " is not a JSON object: it is nested too deeply"),
        (b'{"group": NaN}', " is not a JSON object: NaN is not a JSON number"),
        (b'{"group": -Infinity}', " is not a JSON object: -Infinity is not a JSON number"),
        (b"1" * 5000, " is not a JSON object: a number of 5,000 digits (111111111111…)"),
        (b'{"group": 1e999}', " is not a JSON object: the number '1e999' is out of range"),
        (b'["30"]', " is not a JSON object of group, path, record, error, message: ['30']"),
        (b'"' + b"x" * (10 << 20) + b'"', " is 10,485,762 bytes long, more than the 1,048,576 a line may be"),
        (b'{"group": "\xff"}', " is not a JSON object: byte 0xff at offset 11 is not UTF-8"),
        (error_line("30")[:-1] + b', "group": "31"}', " is not a JSON object: key 'group' is given twice"),
        (
            error_line("30").replace(b"record line is not WFDB syntax", b"\\ud800"),  # JSON's lone surrogate
            ": message holds '\\ud800', which is not text",
        ),
        (b"", " is not a JSON object: Expecting value: line 1 column 1 (char 0)"),
    ],
    ids=[
        "deeply nested",
        "NaN",
        "Infinity",
        "a huge integer",
        "a huge float",
        "not an object",
        "10 MB",
        "not UTF-8",
        "a key twice",
        "a lone surrogate",
        "empty",
    ],
)
def test_a_pathological_error_line_is_one_line_naming_its_number(
    line: bytes, problem: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_group(tmp_path / "groups" / "30", "30", errors=[error_line("30"), line, error_line("30")])
    code, err = combine(capsys, "--input-dir", tmp_path / "groups", "--output-dir", tmp_path / "out")
    assert (code, err) == (1, f"error: group 30: errors.jsonl line 2{problem}\n")
    assert not (tmp_path / "out").exists()


def test_a_pathological_summary_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_group(tmp_path / "groups" / "30", "30")
    (folder / SUMMARY_FILE).write_text('{"group": ' * 50_000)
    code, err = combine(capsys, "--input-dir", tmp_path / "groups", "--output-dir", tmp_path / "out")
    assert (code, err) == (1, "error: group 30: summary.json is not readable JSON: it is nested too deeply\n")


# 5. Schema messages ------------------------------------------------------------------------------------


def features_with(schema: pa.Schema, group: str = "30") -> pa.Table:
    rows = [feature_row(group, f"{group}00001_0001", "II")]
    return pa.Table.from_pylist(rows, schema=FEATURE_SCHEMA).select(schema.names).cast(schema)


@pytest.mark.parametrize(
    ("schema", "difference"),
    [
        (
            FEATURE_SCHEMA.set(2, pa.field("record", pa.string(), nullable=False)),
            "record is not null, expected nullable",
        ),
        (
            pa.schema([FEATURE_SCHEMA.field(1), FEATURE_SCHEMA.field(0), *list(FEATURE_SCHEMA)[2:]]),
            f"columns in another order: record_set, patient_group, {', '.join(FEATURE_SCHEMA.names[2:])}",
        ),
    ],
    ids=["nullability", "order"],
)
def test_a_schema_difference_is_named(
    schema: pa.Schema, difference: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_group(tmp_path / "groups" / "30", "30", table=features_with(schema))
    code, err = combine(capsys, "--input-dir", tmp_path / "groups", "--output-dir", tmp_path / "out")
    assert (code, err) == (
        1,
        f"error: group 30: features.parquet does not have the extract step's schema: {difference}\n",
    )


def test_a_column_named_twice_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = features_with(FEATURE_SCHEMA)
    table = table.append_column("mean", table.column("mean"))
    write_group(tmp_path / "groups" / "30", "30", table=table)
    code, err = combine(capsys, "--input-dir", tmp_path / "groups", "--output-dir", tmp_path / "out")
    assert (code, err) == (
        1,
        "error: group 30: features.parquet does not have the extract step's schema: columns named more than "
        "once: mean\n",
    )


def test_schema_metadata_alone_is_no_difference(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    field = FEATURE_SCHEMA.field("mean").with_metadata({"unit": "physical"})
    schema = FEATURE_SCHEMA.set(FEATURE_SCHEMA.get_field_index("mean"), field).with_metadata({"by": "else"})
    write_group(tmp_path / "groups" / "30", "30", table=features_with(schema))
    assert combine(capsys, "--input-dir", tmp_path / "groups", "--output-dir", tmp_path / "out") == (0, "")
    assert pq.read_table(tmp_path / "out" / "dataset").num_rows == 1


def test_a_row_without_its_signal_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [
        feature_row("30", "3000001_0001", "II"),
        {**feature_row("30", "3000001_0001", "V", 1), "signal": None},
    ]
    write_group(tmp_path / "groups" / "30", "30", rows)
    code, err = combine(capsys, "--input-dir", tmp_path / "groups", "--output-dir", tmp_path / "out")
    assert (code, err) == (1, "error: group 30: features.parquet: signal is null in 1 row(s)\n")


# 6. The report shows every name as it is ---------------------------------------------------------------

HOSTILE_NAMES = ["$x^2$", "$", "\\", r"$\foo$", "_hidden", "L" * 300, "new\nline", "", "<b>&amp;</b>", "漢字"]


def test_signal_names_matplotlib_would_interpret_are_shown_as_they_are(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        {**feature_row("30", "3000001_0001", name, index), "units": name}  # units come from headers too
        for index, name in enumerate(HOSTILE_NAMES)
    ]
    write_group(tmp_path / "groups" / "30", "30", rows)
    output = tmp_path / "out"
    assert combine(capsys, "--input-dir", tmp_path / "groups", "--output-dir", output) == (0, "")
    page = (output / "report.html").read_text(encoding="utf-8")
    unknown = re.search(r'<table id="unknown-signal-names">(.*?)</table>', page, re.S)
    assert unknown is not None
    shown = re.findall(r"<tr><td>(.*?)</td><td", unknown.group(1), re.S)
    assert sorted(shown) == sorted(html.escape(name) for name in HOSTILE_NAMES)
    assert sorted(row["units"] for row in table_dicts(page, "signal-means")) == sorted(HOSTILE_NAMES)
    assert len(images(page)) == PLOTS
    quality = json.loads((output / "quality.json").read_text(encoding="utf-8"))
    assert sorted(quality["unknown_signal_names"]) == sorted(HOSTILE_NAMES)


def test_a_plot_of_very_many_signals_shows_those_with_the_most_hours(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [feature_row("30", "3000001_0001", f"S{index:03}", index, hours=index + 1) for index in range(300)]
    write_group(tmp_path / "groups" / "30", "30", rows)
    output = tmp_path / "out"
    assert combine(capsys, "--input-dir", tmp_path / "groups", "--output-dir", output) == (0, "")
    page = (output / "report.html").read_text(encoding="utf-8")
    # under the plots of hours, valid fraction and record means
    assert page.count("<p>The 60 signals with the most hours, of 300; the table lists them all.</p>") == 3
    assert page.count("<tr><td>S") == 3 * 300  # the tables of unknown names, of signals, of record means


# 6b. The report at any scale, and with what summaries do not say -----------------------------------------


def period_label(start: dt.datetime, period: str) -> str:
    size = {"year": 1, "10 years": 10, "100 years": 100}.get(period, 0)
    first = start.year // max(size, 1) * max(size, 1)
    labels = {"month": f"{start:%Y-%m}", "year": str(first), "10 years": f"{first}s"}
    return labels.get(period, f"{first}-{first + size - 1}")


def record_at(
    group: str, serial: int, start: dt.datetime | None, hours: float, kind: str = "waveform"
) -> Any:
    record = f"{group}{serial:05}_0001"
    return {**feature_row(group, record, "II", hours=hours), "kind": kind, "start_time": start}


@pytest.mark.parametrize(
    ("starts", "period", "columns"),
    [
        ([dt.datetime(2704, 5, 4, 10, 44)], "day", ["2704-05-04", "2704-05-05"]),  # ends after midnight
        ([dt.datetime(2704, 1, 31), dt.datetime(2705, 6, 1)], "month", ["2704-01", "2704-02", "2705-06"]),
        ([dt.datetime(2100, 1, 1), dt.datetime(2150, 12, 31)], "year", ["2100", "2101", "2150"]),
        (
            [dt.datetime(2100, 1, 1), dt.datetime(2704, 5, 4), dt.datetime(2900, 12, 31)],
            "10 years",
            ["2100s", "2700s", "2900s"],
        ),
        ([dt.datetime(1800, 6, 1), dt.datetime(2900, 1, 1)], "100 years", ["1800-1899", "2900-2999"]),
    ],
)
def test_coverage_is_binned_by_the_span_of_the_dates_mimic_s_years_included(
    starts: list[dt.datetime],
    period: str,
    columns: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Hours go to the periods they fall in, a record crossing an edge split at it; undated ones are counted
    apart. Years past pandas' nanosecond calendar (2262) are handled like any other."""
    hours = 14.0
    rows = [record_at("30", index, start, hours) for index, start in enumerate(starts)]
    rows.append(record_at("30", len(starts), None, 3.0))
    write_group(tmp_path / "groups" / "30", "30", rows)
    write_group(tmp_path / "groups" / "31", "31", [record_at("31", 0, None, 2.0, "numerics")])
    output = tmp_path / "out"
    assert combine(capsys, "--input-dir", tmp_path / "groups", "--output-dir", output) == (0, "")
    quality = json.loads((output / "quality.json").read_text())
    coverage = quality["coverage"]
    assert coverage["period"] == period and len(coverage["columns"]) <= 100
    assert [column for column in columns if column in coverage["columns"]] == columns
    assert list(coverage["hours"]) == ["waveform"]  # no numerics record is dated
    assert coverage["hours"]["waveform"]["31"] == [0.0] * len(coverage["columns"])
    by_column = dict(zip(coverage["columns"], coverage["hours"]["waveform"]["30"], strict=True))
    assert sum(by_column.values()) == pytest.approx(hours * len(starts))
    filled = {column: h for column, h in by_column.items() if h}
    if period == "day":  # 10:44 + 14 h: 13 h 16 min that day, 44 min the next
        assert filled == pytest.approx({"2704-05-04": 13 + 16 / 60, "2704-05-05": 44 / 60})
    else:  # each record within one period
        assert filled == pytest.approx({period_label(start, period): hours for start in starts})
    groups = {group["group"]: group for group in quality["groups"]}
    assert (groups["30"]["records_dated"], groups["30"]["records_undated"]) == (len(starts), 1)
    assert groups["30"]["undated_hours"] == 3.0 and groups["31"]["hours"] == {"numerics": 2.0}
    page = (output / "report.html").read_text()
    assert "Not shown, for want of a date: group 30: 1 record, 3 h; group 31: 1 record, 2 h." in page
    assert len(images(page)) == PLOTS


def test_a_record_of_an_absurd_duration_is_counted_to_a_bound(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A broken header can give a record of millions of years: its hours are counted up to ~31,700 years,
    in two entries, not one per day, and the coverage is drawn in millennia."""
    rows = [
        record_at("30", 0, dt.datetime(2704, 5, 4), 1e12),
        record_at("30", 1, dt.datetime(2704, 5, 4), 1.0),
    ]
    write_group(tmp_path / "groups" / "30", "30", rows)
    output = tmp_path / "out"
    assert combine(capsys, "--input-dir", tmp_path / "groups", "--output-dir", output) == (0, "")
    coverage = json.loads((output / "quality.json").read_text())["coverage"]
    assert coverage["period"] == "1000 years" and coverage["columns"][0] == "2000-2999"
    assert sum(coverage["hours"]["waveform"]["30"]) == pytest.approx(1e15 / 3.6e6 + 1.0)


def test_the_spread_of_more_means_than_are_kept_is_that_of_a_uniform_sample(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """50,000 records of one signal in mV, 100 in uV: the count, smallest and largest are exact, the
    percentiles those of a uniform sample of 20,000, the other units counted apart."""
    count = 50_000
    means = np.random.default_rng(5).permutation(count).astype(float)
    row = feature_row("30", "3000001_0001", "II")
    columns = {name: [row[name]] * (count + 100) for name in FEATURE_SCHEMA.names}
    columns["record"] = [f"3000001_{index:05}" for index in range(count + 100)]
    columns["mean"] = [*means, *([1e6] * 100)]
    columns["units"] = ["mV"] * count + ["uV"] * 100
    write_group(tmp_path / "groups" / "30", "30", table=pa.table(columns, schema=FEATURE_SCHEMA))
    output = tmp_path / "out"
    assert combine(capsys, "--input-dir", tmp_path / "groups", "--output-dir", output) == (0, "")
    [spread] = json.loads((output / "quality.json").read_text())["signal_means"]
    assert (spread["units"], spread["means"], spread["sampled"]) == ("mV", count, True)
    assert (spread["min"], spread["max"], spread["other_units"]) == (0.0, count - 1.0, {"uV": 100})
    for name, quantile in [("p05", 0.05), ("p25", 0.25), ("p50", 0.5), ("p75", 0.75), ("p95", 0.95)]:
        assert abs(spread[name] - quantile * count) < 0.02 * count, name  # ~5 standard errors
    page = (output / "report.html").read_text()
    assert table_dicts(page, "signal-means")[0]["in other units"] == "uV: 100"


def test_what_a_summary_does_not_say_is_not_recorded_and_shares_add_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Group 30's summary has no bytes, seconds or job (as an earlier extract step wrote it); group 31 ran
    on two instances (bytes add up, the group took its slowest share's time); group 32's job is garbled."""
    root = tmp_path / "groups"
    write_group(root / "30", "30")
    write_group(root / "31" / "algo-1", "31", host=(0, 2), bytes_read=1000, seconds=2.5)
    write_group(root / "31" / "algo-2", "31", [feature_row("31", "3100002_0001", "V")], host=(1, 2),
                bytes_read=500, seconds=4.0)  # fmt: skip
    garbled = {"name": "<b>\udc80job\n</b>", "inputs": {"records": 5, "x": "s3://b/$x^2$"}, "arguments": "-"}
    write_group(root / "32", "32", bytes_read=7, seconds=True, job=garbled, input_version=["v"])
    output = tmp_path / "out"
    assert combine(capsys, "--input-dir", root, "--output-dir", output) == (0, "")
    quality = json.loads((output / "quality.json").read_text())
    groups = {group["group"]: group for group in quality["groups"]}
    assert (groups["30"]["bytes_read"], groups["30"]["extract_seconds"]) == (None, None)
    assert (groups["31"]["bytes_read"], groups["31"]["extract_seconds"]) == (1500, 4.0)
    assert (groups["32"]["bytes_read"], groups["32"]["extract_seconds"]) == (7, None)
    assert quality["totals"]["bytes_read"] is None  # not every group says
    page = (output / "report.html").read_text()
    table = {row["group"]: row for row in table_dicts(page, "groups")}
    assert table["30"]["MB read"] == table["30"]["extract seconds"] == "not recorded"
    assert (table["31"]["MB read"], table["31"]["extract seconds"]) == ("0.0015", "4")
    sources = {row["group"]: row for row in table_dicts(page, "group-sources")}
    assert sources["30"]["extract job"] == sources["30"]["input version"] == "not recorded"
    assert sources["32"]["extract job"] == "<b>\\x80job\\n</b>"  # escaped on the page, made printable
    assert sources["32"]["records read from"] == "s3://b/$x^2$"
    assert "<b>\\x80" not in page and "&lt;b&gt;" in page
    assert groups["32"]["source"]["extract_job"]["arguments"] is None


# 7. Modes ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("umask", "file", "folder"), [(0o022, 0o644, 0o755), (0o027, 0o640, 0o750)])
def test_outputs_get_the_modes_of_the_umask(
    umask: int, file: int, folder: int, groups: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out"
    previous = os.umask(umask)
    try:
        assert combine(capsys, "--input-dir", groups, "--output-dir", output) == (0, "")
    finally:
        os.umask(previous)
    modes = {
        path.relative_to(output).as_posix(): stat.S_IMODE(path.stat().st_mode)
        for path in [output, *output.rglob("*")]
    }
    assert modes == {
        ".": folder,
        "dataset": folder,  # tempfile would make it 0700
        "dataset/30": folder,
        "dataset/31": folder,
        "dataset/30/part-0.parquet": file,
        "dataset/31/part-0.parquet": file,
        f"dataset/{MARKER_FILE}": file,
        **{name: file for name in REPORTS},  # tempfile would make them 0600
    }


def test_a_sealed_alteration_reaches_the_checks_after_the_digests(
    groups: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the helper the other tests use to alter a file on purpose keeps the set whole
    with (groups / "30" / ERRORS_FILE).open("ab") as stream:
        stream.write(error_line("31") + b"\n")
    seal(groups / "30")
    code, err = combine(capsys, "--input-dir", groups, "--output-dir", tmp_path / "out")
    assert (code, err) == (1, "error: group 30: errors.jsonl line 1 names group '31'\n")


def test_the_container_command_refuses_in_one_line_without_a_traceback(groups: Path, tmp_path: Path) -> None:
    """The step's own process, as the Processing job runs it: a deeply nested error line (a RecursionError
    inside the JSON parser), then a dataset folder over the input."""
    write_group(groups / "30", "30", errors=[b"[" * 100_000 + b"]" * 100_000])
    before = snapshot(groups)
    base = [*container_command("combine"), "--input-dir", str(groups), "--output-dir", str(tmp_path / "out")]
    for extra, code, line in [
        ([], 1, "error: group 30: errors.jsonl line 1 is not a JSON object: it is nested too deeply\n"),
        (
            ["--dataset-dir", str(groups)],
            2,
            f"error: --dataset-dir {groups} is --input-dir {groups}: replacing it would delete the groups' "
            "outputs; give a dataset folder outside the input\n",
        ),
    ]:
        result = subprocess.run([*base, *extra], capture_output=True, text=True, cwd=ROOT, check=False)
        assert (result.returncode, result.stderr, result.stdout) == (code, line, "")
    assert snapshot(groups) == before and not (tmp_path / "out").exists()
