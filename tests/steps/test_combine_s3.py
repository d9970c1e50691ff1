"""The combine step writing its dataset to S3, on a real moto server: partitions, encryption, Glue."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import awswrangler as wr
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from steps.combine import command as combine_step
from steps.combine.dataset_schema import ATHENA_TYPES, PARTITION_COLUMN
from steps.extract.extraction import extract_group
from tests.aws import REGION, MotoAws
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
    assert {obj["Key"].split("/")[3] for obj in objects} == {"30", "32"}  # no rows, no partition
    assert all(obj["Key"].endswith(".snappy.parquet") for obj in objects)
    for obj in objects:
        assert obj["ServerSideEncryption"] == "aws:kms"
        assert obj["SSEKMSKeyId"] in (key_id, aws.kms_key_arn(key_id))

    table = aws.client("glue").get_table(DatabaseName="waveforms", Name="features")["Table"]
    assert table["PartitionKeys"] == [{"Name": "patient_group", "Type": "string"}]
    assert table["StorageDescriptor"]["Location"] == uri
    columns = {column["Name"]: column["Type"] for column in table["StorageDescriptor"]["Columns"]}
    assert (
        columns["signal_std"] == "string" and columns["n_samples"] == "bigint" and columns["mean"] == "double"
    )
    assert columns["start_time"] == "timestamp" and columns["start_time_of_day"] == "string"
    assert "patient_group" not in columns  # a partition key, though in the files too
    partitions = aws.client("glue").get_partitions(DatabaseName="waveforms", TableName="features")[
        "Partitions"
    ]
    assert sorted(partition["Values"] for partition in partitions) == [["30"], ["32"]]

    dataset = wr.s3.read_parquet(uri, dataset=True)
    assert dataset.groupby("patient_group", observed=True).size().to_dict() == ROWS
    assert set(dataset["start_time"].dropna().dt.year) == {2704}  # as the headers give it, not wrapped round
    body = aws.client("s3").get_object(Bucket=bucket, Key=objects[0]["Key"])["Body"].read()
    stored = pq.read_schema(io.BytesIO(body))
    assert stored.field("start_time").type == pa.timestamp("ms")  # MIMIC's years fit; nanoseconds would not
    assert stored.field("patient_group").type == pa.string()
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
    assert table["PartitionKeys"] == [{"Name": "patient_group", "Type": "string"}]
    assert dataset_objects(aws, bucket, "d/") == []


def test_a_missing_bucket_ends_in_one_line(
    aws: MotoAws,
    groups_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert combine(groups_dir, tmp_path / "out", "--dataset-s3-uri", "s3://no-such-bucket/d/") == 1
    stderr = capsys.readouterr().err
    assert stderr.startswith("error: writing group 30 to s3://no-such-bucket/d/30/ failed: ")
    assert stderr.count("\n") == 1 and "NoSuchBucket" in stderr
    assert not (tmp_path / "out").exists()


GLUE = ["--glue-database", "waveforms", "--glue-table", "features"]
COLUMNS = {name: kind for name, kind in ATHENA_TYPES.items() if name != PARTITION_COLUMN}


def execution_uri(bucket: str, execution: str) -> str:
    """Where the pipeline puts an execution's dataset: a new URI per execution."""
    return f"s3://{bucket}/root/{execution}/combined/dataset/"


def glue_table(aws: MotoAws) -> dict[str, Any]:
    return dict(aws.client("glue").get_table(DatabaseName="waveforms", Name="features")["Table"])


def glue_partitions(aws: MotoAws) -> dict[str, str]:
    """Each partition of the table: its group and location."""
    paginator = aws.client("glue").get_paginator("get_partitions")
    return {
        partition["Values"][0]: partition["StorageDescriptor"]["Location"]
        for page in paginator.paginate(DatabaseName="waveforms", TableName="features")
        for partition in page["Partitions"]
    }


def rows_through_the_catalog(aws: MotoAws) -> dict[str, int]:
    """What a reader of the table gets: the rows of each partition, read from the partition's location."""
    return {group: len(wr.s3.read_parquet(location)) for group, location in glue_partitions(aws).items()}


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    stderr = capsys.readouterr().err
    assert stderr.startswith("error: ") and stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
    return stderr


def test_each_execution_points_the_glue_table_at_its_own_dataset(
    aws: MotoAws, groups_dir: Path, tmp_path: Path
) -> None:
    bucket = aws.create_bucket("features-bucket")
    aws.client("glue").create_database(DatabaseInput={"Name": "waveforms"})
    first, second = execution_uri(bucket, "exec-1"), execution_uri(bucket, "exec-2")
    assert combine(groups_dir, tmp_path / "1", "--dataset-s3-uri", first, *GLUE) == 0
    assert glue_partitions(aws) == {"30": f"{first}30/", "32": f"{first}32/"}
    assert combine(groups_dir, tmp_path / "2", "--dataset-s3-uri", second, *GLUE) == 0

    table = glue_table(aws)
    assert table["StorageDescriptor"]["Location"] == second
    assert {column["Name"]: column["Type"] for column in table["StorageDescriptor"]["Columns"]} == COLUMNS
    assert table["PartitionKeys"] == [{"Name": "patient_group", "Type": "string"}]
    assert glue_partitions(aws) == {"30": f"{second}30/", "32": f"{second}32/"}
    wr.s3.delete_objects(first)  # the table no longer needs the first execution's dataset
    assert rows_through_the_catalog(aws) == ROWS
    assert (
        wr.s3.read_parquet(second, dataset=True).groupby("patient_group", observed=True).size().to_dict()
        == ROWS
    )


def test_a_group_the_next_execution_lacks_leaves_the_table(
    aws: MotoAws, groups_dir: Path, tmp_path: Path
) -> None:
    bucket = aws.create_bucket("features-bucket")
    aws.client("glue").create_database(DatabaseInput={"Name": "waveforms"})
    first, second = execution_uri(bucket, "exec-1"), execution_uri(bucket, "exec-2")
    assert combine(groups_dir, tmp_path / "1", "--dataset-s3-uri", first, *GLUE) == 0
    assert combine(groups_dir, tmp_path / "2", "--groups", "32", "--dataset-s3-uri", second, *GLUE) == 0
    assert glue_partitions(aws) == {"32": f"{second}32/"}
    assert rows_through_the_catalog(aws) == {"32": ROWS["32"]}

    # and an execution whose groups are all empty leaves a table with no partitions at all
    third = execution_uri(bucket, "exec-3")
    assert combine(groups_dir, tmp_path / "3", "--groups", "36", "--dataset-s3-uri", third, *GLUE) == 0
    assert glue_table(aws)["StorageDescriptor"]["Location"] == third and glue_partitions(aws) == {}


def test_the_table_catches_up_with_the_declared_schema_and_keeps_its_description(
    aws: MotoAws, groups_dir: Path, tmp_path: Path
) -> None:
    bucket = aws.create_bucket("features-bucket")
    glue = aws.client("glue")
    glue.create_database(DatabaseInput={"Name": "waveforms"})
    assert (
        combine(groups_dir, tmp_path / "1", "--dataset-s3-uri", execution_uri(bucket, "exec-1"), *GLUE) == 0
    )
    table = glue_table(aws)
    older = [column for column in table["StorageDescriptor"]["Columns"] if column["Name"] != "signal_std"]
    glue.update_table(  # as an earlier version of the step, without signal_std, would have left it
        DatabaseName="waveforms",
        TableInput={
            "Name": "features",
            "Description": "ICU waveform features",
            "TableType": table["TableType"],
            "Parameters": table["Parameters"],
            "PartitionKeys": table["PartitionKeys"],
            "StorageDescriptor": {**table["StorageDescriptor"], "Columns": older},
        },
    )
    assert (
        combine(groups_dir, tmp_path / "2", "--dataset-s3-uri", execution_uri(bucket, "exec-2"), *GLUE) == 0
    )
    table = glue_table(aws)
    assert {column["Name"]: column["Type"] for column in table["StorageDescriptor"]["Columns"]} == COLUMNS
    assert table["Description"] == "ICU waveform features"


def foreign_table(descriptor: dict[str, Any], **table: Any) -> dict[str, Any]:
    """A table someone else made at the dataset's name: Parquet and partitioned like ours unless told."""
    return {
        "Name": "features",
        "TableType": "EXTERNAL_TABLE",
        "PartitionKeys": [{"Name": "patient_group", "Type": "string"}],
        "StorageDescriptor": {
            "Columns": [{"Name": "record", "Type": "string"}],
            "Location": "s3://someone-else/features/",
            "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
            "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
            "SerdeInfo": {
                "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
            },
            **descriptor,
        },
        **table,
    }


@pytest.mark.parametrize(
    ("table_input", "problem"),
    [
        (
            foreign_table(
                {
                    "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
                    "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.serde2.OpenCSVSerde"},
                }
            ),
            "it is not stored as Parquet",
        ),
        (foreign_table({}, TableType="VIRTUAL_VIEW"), "its type is VIRTUAL_VIEW"),
        (foreign_table({}, Parameters={"table_type": "ICEBERG"}), "its table_type is ICEBERG"),
        (
            foreign_table({}, Parameters={"projection.enabled": "true"}),
            "it uses partition projection",
        ),
        (foreign_table({}, PartitionKeys=[]), "it is partitioned by nothing, not patient_group string"),
        (foreign_table({"Columns": [{"Name": "mean", "Type": "string"}]}), "its column mean is string"),
        (foreign_table({"Columns": [{"Name": "patient", "Type": "string"}]}), "a column patient the dataset"),
    ],
)
def test_a_table_that_is_not_the_datasets_is_refused_before_anything_is_written(
    aws: MotoAws,
    groups_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    table_input: dict[str, Any],
    problem: str,
) -> None:
    bucket = aws.create_bucket("features-bucket")
    glue = aws.client("glue")
    glue.create_database(DatabaseInput={"Name": "waveforms"})
    glue.create_table(DatabaseName="waveforms", TableInput=table_input)
    before = glue_table(aws)

    assert (
        combine(groups_dir, tmp_path / "out", "--dataset-s3-uri", execution_uri(bucket, "exec-1"), *GLUE) == 1
    )
    stderr = one_error_line(capsys)
    assert (
        stderr.startswith("error: Glue table waveforms.features is not this dataset's table: ")
        and problem in stderr
    )
    assert "drop it or give another --glue-table" in stderr
    assert dataset_objects(aws, bucket, "root/") == [] and not (tmp_path / "out").exists()
    assert glue_table(aws) == before


def test_a_missing_glue_database_ends_in_one_line_before_anything_is_written(
    aws: MotoAws, groups_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bucket = aws.create_bucket("features-bucket")
    assert (
        combine(groups_dir, tmp_path / "out", "--dataset-s3-uri", execution_uri(bucket, "exec-1"), *GLUE) == 1
    )
    stderr = one_error_line(capsys)
    assert stderr.startswith("error: reading Glue table waveforms.features failed: ")
    assert "EntityNotFoundException" in stderr and "waveforms" in stderr
    assert dataset_objects(aws, bucket, "root/") == []


def test_a_missing_bucket_leaves_the_glue_table_as_it_was(
    aws: MotoAws, groups_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bucket = aws.create_bucket("features-bucket")
    aws.client("glue").create_database(DatabaseInput={"Name": "waveforms"})
    first = execution_uri(bucket, "exec-1")
    assert combine(groups_dir, tmp_path / "1", "--dataset-s3-uri", first, *GLUE) == 0
    capsys.readouterr()
    gone = execution_uri("no-such-bucket", "exec-2")
    assert combine(groups_dir, tmp_path / "2", "--dataset-s3-uri", gone, *GLUE) == 1
    stderr = one_error_line(capsys)
    assert stderr.startswith(f"error: writing group 30 to {gone}30/ failed: ") and "NoSuchBucket" in stderr
    assert glue_table(aws)["StorageDescriptor"]["Location"] == first
    assert glue_partitions(aws) == {"30": f"{first}30/", "32": f"{first}32/"}


@pytest.mark.parametrize(
    ("environment", "option"),
    [({"AWS_REGION": REGION}, []), ({}, ["--region", REGION])],
    ids=["AWS_REGION", "--region"],
)
def test_the_region_comes_from_the_option_or_aws_region(
    aws: MotoAws,
    groups_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    environment: dict[str, str],
    option: list[str],
) -> None:
    bucket = aws.create_bucket("features-bucket")
    aws.client("glue").create_database(DatabaseInput={"Name": "waveforms"})
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):  # botocore reads only the second
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    uri = execution_uri(bucket, "exec-1")
    assert combine(groups_dir, tmp_path / "out", "--dataset-s3-uri", uri, *GLUE, *option) == 0
    assert set(glue_partitions(aws)) == {"30", "32"}
