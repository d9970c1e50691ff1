"""The combine step writing its dataset to S3, on a real moto server: partitions, encryption, Glue."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import awswrangler as wr
import pytest

from steps.combine import command as combine_step
from steps.extract.extraction import extract_group
from tests.aws import MotoAws
from tests.paths import REAL_DATA

ROWS = {"30": 2, "32": 45}


@pytest.fixture(scope="module")
def groups_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Extract outputs of the real records (groups 30 and 32) and of an empty group (36)."""
    root = tmp_path_factory.mktemp("combine-s3")
    (root / "empty").mkdir()
    for group, folder in {"30": REAL_DATA / "30", "32": REAL_DATA / "32", "36": root / "empty"}.items():
        extract_group(folder, root / "groups" / group, group, workers=1)
    return root / "groups"


def combine(groups_dir: Path, output: Path, *options: str) -> int:
    return combine_step.main(["--input-dir", str(groups_dir), "--output-dir", str(output), *options])


def dataset_objects(aws: MotoAws, bucket: str, prefix: str) -> list[dict[str, Any]]:
    """Every object under the prefix, with its head_object answer."""
    s3 = aws.client("s3")
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]
    return [{"Key": key, **s3.head_object(Bucket=bucket, Key=key)} for key in keys]


def test_the_dataset_goes_to_s3_under_kms_and_into_the_glue_catalog(
    aws: MotoAws,
    groups_dir: Path,
    tmp_path: Path,
) -> None:
    bucket = aws.create_bucket("features-bucket")
    key_id = aws.create_kms_key()
    aws.client("glue").create_database(DatabaseInput={"Name": "waveforms"})
    uri = f"s3://{bucket}/runs/1/dataset/"
    options = ["--dataset-s3-uri", uri, "--kms-key-id", key_id, "--glue-database", "waveforms"]
    assert combine(groups_dir, tmp_path / "out", *options, "--glue-table", "features") == 0

    objects = dataset_objects(aws, bucket, "runs/1/dataset/")
    assert {obj["Key"].split("/")[3] for obj in objects} == {"group=30", "group=32"}  # no rows, no partition
    assert all(obj["Key"].endswith(".snappy.parquet") for obj in objects)
    for obj in objects:
        assert obj["ServerSideEncryption"] == "aws:kms"
        assert obj["SSEKMSKeyId"] in (key_id, aws.kms_key_arn(key_id))

    table = aws.client("glue").get_table(DatabaseName="waveforms", Name="features")["Table"]
    assert table["PartitionKeys"] == [{"Name": "group", "Type": "string"}]
    assert table["StorageDescriptor"]["Location"] == uri
    columns = {column["Name"]: column["Type"] for column in table["StorageDescriptor"]["Columns"]}
    assert (
        columns["signal_std"] == "string" and columns["n_samples"] == "bigint" and columns["mean"] == "double"
    )
    partitions = aws.client("glue").get_partitions(DatabaseName="waveforms", TableName="features")[
        "Partitions"
    ]
    assert sorted(partition["Values"] for partition in partitions) == [["30"], ["32"]]

    dataset = wr.s3.read_parquet(uri, dataset=True)
    assert dataset.groupby("group", observed=True).size().to_dict() == ROWS
    assert set(dataset["signal_std"]) == {"ECG_II", "ECG_V", "ABP", "HR", "PULSE", "RESP_RATE", "SPO2"} | {
        "NBP_SYS",
        "NBP_DIAS",
        "NBP_MEAN",
    }
    quality = json.loads((tmp_path / "out" / "quality.json").read_text())
    assert quality["totals"]["rows"] == sum(ROWS.values()) and not (tmp_path / "out" / "dataset").exists()


def test_without_a_kms_key_the_objects_use_sse_s3(aws: MotoAws, groups_dir: Path, tmp_path: Path) -> None:
    bucket = aws.create_bucket("features-bucket")
    assert (
        combine(groups_dir, tmp_path / "out", "--dataset-s3-uri", f"s3://{bucket}/d", "--kms-key-id", "") == 0
    )
    objects = dataset_objects(aws, bucket, "d/")
    assert len(objects) == 2
    assert {obj["ServerSideEncryption"] for obj in objects} == {"AES256"}
    assert not any("SSEKMSKeyId" in obj for obj in objects)


def test_a_rerun_replaces_each_group_partition(aws: MotoAws, groups_dir: Path, tmp_path: Path) -> None:
    bucket = aws.create_bucket("features-bucket")
    for run in ("a", "b"):
        assert combine(groups_dir, tmp_path / run, "--dataset-s3-uri", f"s3://{bucket}/d/") == 0
    assert len(dataset_objects(aws, bucket, "d/")) == 2
    assert len(wr.s3.read_parquet(f"s3://{bucket}/d/", dataset=True)) == sum(ROWS.values())


def test_only_empty_groups_still_create_the_glue_table(
    aws: MotoAws, groups_dir: Path, tmp_path: Path
) -> None:
    bucket = aws.create_bucket("features-bucket")
    aws.client("glue").create_database(DatabaseInput={"Name": "waveforms"})
    options = [
        "--dataset-s3-uri",
        f"s3://{bucket}/d/",
        "--glue-database",
        "waveforms",
        "--glue-table",
        "features",
    ]
    assert combine(groups_dir, tmp_path / "out", "--groups", "36", *options) == 0
    table = aws.client("glue").get_table(DatabaseName="waveforms", Name="features")["Table"]
    assert table["PartitionKeys"] == [{"Name": "group", "Type": "string"}]
    assert dataset_objects(aws, bucket, "d/") == []


def test_a_missing_bucket_ends_in_one_line(
    aws: MotoAws,
    groups_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert combine(groups_dir, tmp_path / "out", "--dataset-s3-uri", "s3://no-such-bucket/d/") == 1
    stderr = capsys.readouterr().err
    assert stderr.startswith("error: writing group 30 to s3://no-such-bucket/d/ failed: ")
    assert stderr.count("\n") == 1 and "NoSuchBucket" in stderr
    assert not (tmp_path / "out").exists()
