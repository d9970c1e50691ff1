"""The windows dataset on S3 and in the Glue catalog, on a real moto server (every request checked against
botocore's service model), from group outputs written by hand as the extract step writes them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import awswrangler as wr
import pytest

from steps.combine import command as combine_step
from steps.combine.dataset_schema import PARTITION_COLUMN, WINDOWS_ATHENA_TYPES
from steps.combine.destination import FROM_JOB_OUTPUT, S3Dataset, windows_destination
from tests.aws import MotoAws
from tests.steps.outputs_by_hand import feature_row, windows_of, write_group

GLUE = ["--glue-database", "waveforms", "--glue-table", "features"]
WINDOW_COLUMNS = {name: kind for name, kind in WINDOWS_ATHENA_TYPES.items() if name != PARTITION_COLUMN}


@pytest.fixture
def groups(tmp_path: Path) -> Path:
    """Groups 30 and 31 with windows (60 and 15 of them), 32 without."""
    root = tmp_path / "groups"
    for group, hours in (("30", 1.0), ("31", 0.25)):
        rows = [feature_row(group, f"{group}00001_0001", "II", hours=hours, flat=0.3)]
        write_group(root / group, group, rows, windows=windows_of(rows))
    write_group(root / "32", "32", window_seconds=0)
    return root


def combine(groups: Path, output: Path, *options: str) -> int:
    return combine_step.main(["--input-dir", str(groups), "--output-dir", str(output), *options])


def objects(aws: MotoAws, bucket: str, prefix: str) -> list[dict[str, Any]]:
    s3 = aws.client("s3")
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]
    return [{"Key": key, **s3.head_object(Bucket=bucket, Key=key)} for key in keys]


def partitions(aws: MotoAws, table: str) -> dict[str, str]:
    paginator = aws.client("glue").get_paginator("get_partitions")
    return {
        partition["Values"][0]: partition["StorageDescriptor"]["Location"]
        for page in paginator.paginate(DatabaseName="waveforms", TableName=table)
        for partition in page["Partitions"]
    }


def test_the_windows_go_to_s3_under_kms_and_into_their_own_glue_table(
    aws: MotoAws, groups: Path, tmp_path: Path
) -> None:
    bucket = aws.create_bucket("features-bucket")
    key_id = aws.create_kms_key()
    aws.client("glue").create_database(DatabaseInput={"Name": "waveforms"})
    dataset, windows = f"s3://{bucket}/run/dataset/", f"s3://{bucket}/run/windows/"
    options = ["--dataset-s3-uri", dataset, "--windows-s3-uri", windows, "--kms-key-id", key_id, *GLUE]
    assert combine(groups, tmp_path / "out", *options) == 0

    stored = objects(aws, bucket, "run/windows/")
    assert [obj["Key"] for obj in stored] == [
        "run/windows/30/part-0.parquet",
        "run/windows/31/part-0.parquet",
    ]
    for obj in stored:
        assert obj["ServerSideEncryption"] == "aws:kms"
        assert obj["SSEKMSKeyId"] in (key_id, aws.kms_key_arn(key_id))
    read = wr.s3.read_parquet(windows, dataset=True)
    assert read.groupby("patient_group", observed=True).size().to_dict() == {"30": 60, "31": 15}
    assert set(read["signal_std"]) == {"ECG_II"} and set(read["flat_fraction"]) == {0.3}

    table = aws.client("glue").get_table(DatabaseName="waveforms", Name="features_windows")["Table"]
    assert table["StorageDescriptor"]["Location"] == windows
    assert table["PartitionKeys"] == [{"Name": "patient_group", "Type": "string"}]
    columns = {column["Name"]: column["Type"] for column in table["StorageDescriptor"]["Columns"]}
    assert columns == WINDOW_COLUMNS and columns["window_index"] == "bigint"
    assert table["Parameters"]["window_seconds"] == "60"
    assert partitions(aws, "features_windows") == {"30": f"{windows}30/", "31": f"{windows}31/"}
    assert set(partitions(aws, "features")) == {"30", "31", "32"}  # the records' table, as before
    assert not (tmp_path / "out" / "windows").exists()  # no scratch file left beside the reports
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "quality.json",
        "report.html",
        "signal_stats.csv",
    ]


def test_a_dataset_uri_of_its_own_needs_one_for_the_windows_before_anything_is_written(
    aws: MotoAws, groups: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bucket = aws.create_bucket("features-bucket")
    assert combine(groups, tmp_path / "out", "--dataset-s3-uri", f"s3://{bucket}/run/dataset/") == 2
    assert capsys.readouterr().err == (
        "error: group(s) 30, 31 have windows and the dataset goes to S3: give --windows-s3-uri, where the "
        "windows dataset goes\n"
    )
    assert objects(aws, bucket, "") == [] and not (tmp_path / "out").exists()
    # a group without windows needs no place for them
    assert combine(groups, tmp_path / "out", "--dataset-s3-uri", f"s3://{bucket}/d/", "--groups", "32") == 0


def test_a_named_windows_table_is_used_and_one_that_is_not_ours_is_refused_first(
    aws: MotoAws, groups: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bucket = aws.create_bucket("features-bucket")
    glue = aws.client("glue")
    glue.create_database(DatabaseInput={"Name": "waveforms"})
    place = ["--dataset-s3-uri", f"s3://{bucket}/d/", "--windows-s3-uri", f"s3://{bucket}/w/", *GLUE]
    assert combine(groups, tmp_path / "1", *place, "--glue-windows-table", "minutes") == 0
    assert set(partitions(aws, "minutes")) == {"30", "31"}
    assert "features_windows" not in {
        t["Name"] for t in glue.get_tables(DatabaseName="waveforms")["TableList"]
    }

    glue.create_table(
        DatabaseName="waveforms",
        TableInput={"Name": "features_windows", "TableType": "VIRTUAL_VIEW", "StorageDescriptor": {}},
    )
    second = ["--dataset-s3-uri", f"s3://{bucket}/d2/", "--windows-s3-uri", f"s3://{bucket}/w2/", *GLUE]
    assert combine(groups, tmp_path / "2", *second) == 1
    err = capsys.readouterr().err
    assert err.startswith(
        "error: Glue table waveforms.features_windows is not this dataset's table: its type is "
    )
    assert objects(aws, bucket, "d2/") == objects(aws, bucket, "w2/") == []


def test_a_run_without_windows_empties_the_windows_table_and_creates_none(
    aws: MotoAws, groups: Path, tmp_path: Path
) -> None:
    bucket = aws.create_bucket("features-bucket")
    glue = aws.client("glue")
    glue.create_database(DatabaseInput={"Name": "waveforms"})

    def place(run: str) -> list[str]:
        return ["--dataset-s3-uri", f"s3://{bucket}/{run}/d/", "--windows-s3-uri", f"s3://{bucket}/{run}/w/"]

    other = ["--glue-database", "waveforms", "--glue-table", "other"]
    assert combine(groups, tmp_path / "0", *place("0"), *other, "--groups", "32") == 0
    assert {t["Name"] for t in glue.get_tables(DatabaseName="waveforms")["TableList"]} == {"other"}

    assert combine(groups, tmp_path / "1", *place("1"), *GLUE) == 0
    assert set(partitions(aws, "features_windows")) == {"30", "31"}
    assert combine(groups, tmp_path / "2", *place("2"), *GLUE, "--groups", "32") == 0
    table = glue.get_table(DatabaseName="waveforms", Name="features_windows")["Table"]
    assert table["StorageDescriptor"]["Location"] == f"s3://{bucket}/2/w/"
    assert table["Parameters"]["window_seconds"] == "0" and partitions(aws, "features_windows") == {}


def test_from_job_output_puts_the_windows_beside_the_dataset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "processingjobconfig.json"
    output = {"S3Uri": "s3://bucket/root/exec-1/combined", "LocalPath": "/opt/ml/processing/output"}
    config.write_text(json.dumps({"ProcessingOutputConfig": {"Outputs": [{"S3Output": output}]}}))
    args = combine_step.build_parser().parse_args(["--dataset-s3-uri", FROM_JOB_OUTPUT, *GLUE])
    assert windows_destination(args, job_config=config) == S3Dataset(
        "s3://bucket/root/exec-1/combined/windows/", "", "waveforms", "features_windows"
    )
    args = combine_step.build_parser().parse_args(["--dataset-s3-uri", "s3://b/d/"])
    destination = windows_destination(args, job_config=config)
    assert isinstance(destination, S3Dataset) and destination.uri == ""  # none unless given: asked if needed
