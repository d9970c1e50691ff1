"""The combine step given each group's outputs as ``--group-output NAME LOCATION``: S3 prefixes fetched (as
in a pipeline execution, where they are the group steps' output URIs), local folders read in place."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from steps.combine import command as combine_step
from steps.extract.extraction import extract_group
from tests.aws import MotoAws
from tests.paths import REAL_DATA

BUCKET = "waveform-outputs"


@pytest.fixture(scope="module")
def groups_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Extract outputs of the real records of groups 30 and 32."""
    root = tmp_path_factory.mktemp("group-sources")
    for group in ("30", "32"):
        extract_group(REAL_DATA / group, root / group, group, workers=1)
    return root


def upload_folder(aws: MotoAws, folder: Path, prefix: str) -> str:
    s3 = aws.client("s3")
    for file in sorted(folder.rglob("*")):
        if file.is_file():
            s3.upload_file(str(file), BUCKET, f"{prefix}/{file.relative_to(folder).as_posix()}")
    return f"s3://{BUCKET}/{prefix}"


def combine(tmp_path: Path, *options: str) -> int:
    return combine_step.main(
        ["--input-dir", str(tmp_path / "fetched"), "--output-dir", str(tmp_path / "out"), *options]
    )


def test_s3_group_outputs_are_fetched_and_combined(
    aws: MotoAws, groups_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    aws.create_bucket(BUCKET)
    thirty = upload_folder(aws, groups_dir / "30", "exec-a/groups/30")
    # a group whose name continues another's: fetching group 30 must not take group 300's objects
    upload_folder(aws, groups_dir / "32", "exec-a/groups/300")
    options = ["--group-output", "30", thirty, "--group-output", "32", str(groups_dir / "32")]
    assert combine(tmp_path, *options, "--region", aws.region) == 0, capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "fetched" / "30").iterdir()) == [
        "errors.jsonl",
        "features.parquet",
        "summary.json",
    ]
    assert not (tmp_path / "fetched" / "32").exists()  # a local folder is read where it is
    rows = pq.read_table(tmp_path / "out" / "dataset").num_rows
    assert rows == 2 + 45
    assert "combined 2 groups: 47 rows" in capsys.readouterr().out


def test_the_region_comes_from_aws_region_when_not_given(
    aws: MotoAws, groups_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_REGION", aws.region)
    aws.create_bucket(BUCKET)
    uri = upload_folder(aws, groups_dir / "30", "exec-b/groups/30")
    assert combine(tmp_path, "--group-output", "30", uri) == 0


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("empty prefix", "error: group 30: no outputs under s3://waveform-outputs/exec-c/groups/30\n"),
        ("missing bucket", "error: group 30: cannot fetch the outputs under s3://no-such-bucket/x/30: "),
        ("wrong group", "error: group 31: "),
        ("twice", "error: group 30: given twice with --group-output\n"),
    ],
)
def test_bad_group_outputs_end_in_one_line(
    aws: MotoAws,
    groups_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    case: str,
    expected: str,
) -> None:
    aws.create_bucket(BUCKET)
    local = str(groups_dir / "30")
    options = {
        "empty prefix": ["--group-output", "30", f"s3://{BUCKET}/exec-c/groups/30"],
        "missing bucket": ["--group-output", "30", "s3://no-such-bucket/x/30"],
        "wrong group": ["--group-output", "31", local],  # a folder holding group 30's outputs
        "twice": ["--group-output", "30", local, "--group-output", "30", local],
    }[case]
    code = combine(tmp_path, *options, "--region", aws.region)
    err = capsys.readouterr().err
    assert code == 1 and err.startswith(expected) and err.count("\n") == 1, err
    assert "Traceback" not in err
    assert not (tmp_path / "out" / "dataset").exists()


def test_group_output_and_groups_do_not_mix(
    groups_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "groups"
    shutil.copytree(groups_dir, copy)
    options = ["--input-dir", str(copy), "--output-dir", str(tmp_path / "out"), "--groups", "30"]
    code = combine_step.main([*options, "--group-output", "32", str(copy / "32")])
    assert code == 2 and capsys.readouterr().err == "error: give --group-output or --groups, not both\n"


def test_group_outputs_from_the_environment_as_the_pipeline_gives_them(
    aws: MotoAws,
    groups_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    aws.create_bucket(BUCKET)
    thirty = upload_folder(aws, groups_dir / "30", "exec-d/groups/30")
    pairs = [("30", thirty), ("32", str(groups_dir / "32"))]
    environment = combine_step.group_output_environment(pairs, lambda on, values: on.join(values))
    assert environment == {
        "WAVEFORM_GROUP_OUTPUT_1": f"30={thirty}",
        "WAVEFORM_GROUP_OUTPUT_2": f"32={groups_dir / '32'}",
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("WAVEFORM_GROUP_OUTPUT", "not one of them: no number")  # nor is this one
    code = combine(tmp_path, "--group-outputs-from-environment", "--region", aws.region)
    assert code == 0, capsys.readouterr().err
    assert "combined 2 groups: 47 rows" in capsys.readouterr().out


def test_a_hundred_group_outputs_keep_their_order_past_the_ninth() -> None:
    pairs = [(f"p{group}", f"s3://b/out/exec/groups/p{group}") for group in range(100, 200)]
    environment = combine_step.group_output_environment(pairs, lambda on, values: on.join(values))
    assert len(environment) == 100 and list(environment)[:2] == [
        "WAVEFORM_GROUP_OUTPUT_001",
        "WAVEFORM_GROUP_OUTPUT_002",
    ]
    shuffled = dict(reversed(list(environment.items())))
    assert combine_step.group_outputs_from_environment(shuffled) == [list(pair) for pair in pairs]


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({}, "error: --group-outputs-from-environment: no WAVEFORM_GROUP_OUTPUT_<n> variable is set\n"),
        (
            {"WAVEFORM_GROUP_OUTPUT_1": "s3://b/exec/groups/30"},
            "error: environment variable WAVEFORM_GROUP_OUTPUT_1: 's3://b/exec/groups/30' is not "
            "WAVEFORM_GROUP_OUTPUT_<number> = NAME=LOCATION\n",
        ),
        (
            {"WAVEFORM_GROUP_OUTPUT_x": "30=s3://b/exec/groups/30"},
            "error: environment variable WAVEFORM_GROUP_OUTPUT_x: '30=s3://b/exec/groups/30' is not "
            "WAVEFORM_GROUP_OUTPUT_<number> = NAME=LOCATION\n",
        ),
        (
            {"WAVEFORM_GROUP_OUTPUT_1": "3 0=/x"},
            "error: --group-output: ",
        ),
    ],
)
def test_bad_group_output_variables_end_in_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variables: dict[str, str],
    expected: str,
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    code = combine(tmp_path, "--group-outputs-from-environment")
    err = capsys.readouterr().err
    assert code == 2 and err.startswith(expected) and err.count("\n") == 1, err
