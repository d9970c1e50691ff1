"""What a step records of the Processing job that ran it, from the job's configuration (as SageMaker writes
it, found where ``steps.contract.job_config`` looks): its name, ARN, inputs, output, arguments, code,
instances."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from steps.contract.job_config import JOB_CONFIG_VARIABLE
from tests.paths import REAL_DATA
from tests.steps.extract_runs import Extract
from tests.steps.job_configs import CODE_PREFIX, IMAGE, processing_job_config, write_job_config

DIGEST = "0123456789abcdef" * 4


def test_an_extract_step_records_the_job_its_configuration_names(
    extract: Extract, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    arguments = ["--input-dir", "/opt/ml/processing/input/records", "--group", "30", "--input-version=v1"]
    config = processing_job_config(
        "waveform-exec1-Extract30", "extract", DIGEST, {"records": "s3://bucket/in/30/"},
        ("group", "s3://bucket/out/exec1/groups/30"), arguments, "ml.c5.2xlarge",
    )  # fmt: skip
    monkeypatch.setenv(JOB_CONFIG_VARIABLE, str(write_job_config(tmp_path / "job.json", config)))
    summary = extract(REAL_DATA / "30", group="30").summary
    assert summary["job"] == {
        "name": "waveform-exec1-Extract30",
        "arn": "arn:aws:sagemaker:eu-west-1:123456789012:processing-job/waveform-exec1-extract30",
        "inputs": {"code": f"{CODE_PREFIX}/extract/{DIGEST}/code.tar.gz", "records": "s3://bucket/in/30/"},
        "outputs": {"group": "s3://bucket/out/exec1/groups/30"},
        "arguments": arguments,
        "code_digest": DIGEST,
        "instance_type": "ml.c5.2xlarge",
        "instance_count": 1,
        "image": IMAGE,
    }


@pytest.mark.parametrize("content", [None, b"{not json", b"[1, 2]", b"\xff\xfe"])
def test_outside_a_job_or_with_an_unreadable_configuration_no_job_is_recorded(
    content: bytes | None, extract: Extract, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "processingjobconfig.json"
    if content is not None:
        config.write_bytes(content)
    monkeypatch.setenv(JOB_CONFIG_VARIABLE, str(config))
    run = extract(REAL_DATA / "30", group="30")
    assert run.exit_code == 0 and run.summary["job"] == {}


def test_fields_of_another_type_than_sagemaker_writes_are_not_recorded(
    extract: Extract, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = {
        "ProcessingJobName": "job\nwith\u2028breaks\udc80",
        "ProcessingJobArn": 5,
        "ProcessingInputs": [{"InputName": "code", "S3Input": "s3://x"}, "nothing", {"InputName": 1}],
        "ProcessingOutputConfig": [],
        "ProcessingResources": {"ClusterConfig": {"InstanceCount": True, "InstanceType": ["ml.m5.large"]}},
        "AppSpecification": {"ContainerArguments": ["--group", 30, "30"]},
    }
    path = tmp_path / "job.json"
    path.write_text(json.dumps(config))
    monkeypatch.setenv(JOB_CONFIG_VARIABLE, str(path))
    job = extract(REAL_DATA / "30", group="30").summary["job"]
    assert job == {
        "name": "job\\nwith\\u2028breaks\\x80",  # one printable line of UTF-8, as every output's text
        "arn": None,
        "inputs": {},
        "outputs": {},
        "arguments": ["--group", "30"],
        "code_digest": None,
        "instance_type": None,
        "instance_count": None,
        "image": None,
    }
