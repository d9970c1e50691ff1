"""The pipeline CLI through the real SDK to moto's server: upsert, start, status, schedule, diff."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.step_code import PROJECT_ROOT
from tests.aws import MotoAws
from tests.pipeline.cli_fixtures import BUCKET, PIPELINE, Cli


def execution_count(aws: MotoAws) -> int:
    summaries = aws.client("sagemaker").list_pipeline_executions(PipelineName=PIPELINE)[
        "PipelineExecutionSummaries"
    ]
    return len(summaries)


def test_definition_and_graph_need_no_deployment(deployable: Cli, tmp_path: Path) -> None:
    code, out, _ = deployable("definition", "--file", str(tmp_path / "definition.json"))
    assert code == 0 and "definition written to" in out
    definition = json.loads((tmp_path / "definition.json").read_text())
    assert [s["Name"] for s in definition["Steps"]] == [
        "Inventory",
        "Extract30",
        "Extract31",
        "Extract32",
        "Combine",
    ]
    code, out, _ = deployable("definition")
    assert json.loads(out) == definition
    code, out, _ = deployable("graph")
    assert out.startswith("flowchart LR\n") and "Extract31 --> Combine" in out


def test_upsert_start_status_and_executions(deployable: Cli, aws: MotoAws) -> None:
    code, out, _ = deployable("diff")
    assert code == 0 and out.startswith(
        "create: the pipeline is not deployed; upsert creates it with 5 steps"
    )

    code, out, err = deployable("upsert", "--max-parallel-steps", "3", "--tag", "team=icu")
    assert code == 0, err
    assert (
        out.count("uploaded s3://") == 3 and f"upserted arn:aws:sagemaker:us-east-1:{aws.account_id}" in out
    )
    s3 = aws.client("s3")
    for line in out.splitlines()[:3]:
        bucket, key = line.removeprefix("uploaded s3://").split("/", 1)
        assert s3.head_object(Bucket=bucket, Key=key)["ServerSideEncryption"] == "AES256"
    described = aws.client("sagemaker").describe_pipeline(PipelineName=PIPELINE)
    assert described["PipelineDisplayName"] == "MIMIC-III-waveform-features"
    assert "StrictMode (default false): Fail the combine step" in described["PipelineDescription"]
    assert "\n" not in described["PipelineDescription"]
    assert described["ParallelismConfiguration"] == {"MaxParallelExecutionSteps": 3}
    tags = aws.client("sagemaker").list_tags(ResourceArn=described["PipelineArn"])["Tags"]
    assert {"Key": "team", "Value": "icu"} in tags and {
        "Key": "project",
        "Value": "waveform-pipeline",
    } in tags

    assert deployable("diff", "--tag", "team=icu")[1] == "no changes: the deployed definition is the same\n"
    assert deployable("diff")[1].startswith("step changed: Combine: Arguments.Tags\n")  # tags reach the jobs
    code, out, _ = deployable("upsert", "--tag", "team=icu")
    assert code == 0 and "uploaded" not in out  # same code, same keys: nothing to upload again
    described = aws.client("sagemaker").describe_pipeline(PipelineName=PIPELINE)
    assert described["ParallelismConfiguration"] == {"MaxParallelExecutionSteps": 4}  # the default

    code, out, err = deployable("start", "--param", "StrictMode=true", "--param", "GroupInstanceCount=2")
    assert code == 0, err
    arn = out.split()[-1]
    parameters = aws.client("sagemaker").list_pipeline_parameters_for_execution(PipelineExecutionArn=arn)
    values = {p["Name"]: p["Value"] for p in parameters["PipelineParameters"]}
    assert values["StrictMode"] == "true" and values["GroupInstanceCount"] == "2"

    code, out, err = deployable("status")
    assert code == 0, err  # moto reports its executions as succeeded at once
    execution_id = arn.rsplit("/", 1)[-1]
    assert out.startswith(f"execution {execution_id}: Succeeded\n")
    # moto does not implement ListPipelineExecutionSteps: the table gives way to one line saying so.
    assert "steps unavailable: 500" in out
    assert deployable("status", execution_id)[0] == 0
    code, out, _ = deployable("executions")
    assert code == 0 and execution_id in out and out.startswith("EXECUTION")


def test_parameter_overrides_are_checked_before_any_api_call(deployable: Cli, aws: MotoAws) -> None:
    assert deployable("upsert")[0] == 0
    before = execution_count(aws)
    code, _, err = deployable("start", "--param", "Nope=1")
    assert code == 1 and err.count("\n") == 1
    assert err.startswith(
        "error: unknown parameter 'Nope'; parameters: CombineInstanceType, GroupInstanceCount"
    )
    code, _, err = deployable("start", "--param", "GroupInstanceCount=two")
    assert code == 1 and err == "error: parameter GroupInstanceCount takes integer values, not 'two'\n"
    code, _, err = deployable("start", "--param", "StrictMode=maybe")
    assert code == 1 and err == "error: parameter StrictMode takes true or false, not 'maybe'\n"
    code, _, err = deployable("start", "--param", "StrictMode")
    assert code == 1 and "is not Name=Value" in err
    assert execution_count(aws) == before


def test_start_checks_the_deployed_steps_with_the_overrides_before_starting(
    deployable: Cli, aws: MotoAws
) -> None:
    assert deployable("upsert")[0] == 0
    before = execution_count(aws)
    code, _, err = deployable(
        "start", "--param", "GroupVolumeSizeGB=20000", "--param", "InputRoot=s3://b/in/"
    )
    assert code == 1
    lines = err.splitlines()
    assert lines[-1] == "error: nothing was started"
    assert any("VolumeSizeInGB" in line and "at most 16384" in line for line in lines), err
    assert any("parameter InputRoot 's3://b/in/'" in line for line in lines), err
    code, _, err = deployable("start", "--display-name", "nightly run")
    assert code == 1 and "PipelineExecutionDisplayName" in err
    assert execution_count(aws) == before
    assert deployable("start", "--display-name", "nightly-run")[0] == 0


def test_diff_after_a_code_change_names_only_the_changed_step(
    deployable: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    checkout = tmp_path / "checkout"
    shutil.copytree(PROJECT_ROOT / "steps", checkout / "steps", ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setenv("WAVEFORM_CODE_ROOT", str(checkout))
    assert deployable("upsert")[0] == 0
    with open(checkout / "steps" / "combine" / "report.py", "a") as source:
        source.write("\n# a change to the report\n")
    code, out, _ = deployable("diff", "--exit-code")
    assert code == 1
    assert out == "step changed: Combine: Arguments.ProcessingInputs\n"


def test_settings_errors_are_one_line(deployable: Cli, monkeypatch: pytest.MonkeyPatch, aws: MotoAws) -> None:
    monkeypatch.delenv("WAVEFORM_BUCKET")
    code, _, err = deployable("check")  # definition and graph print with a placeholder; check needs one
    assert code == 1
    assert err == (
        "error: bucket is not set: give --bucket, WAVEFORM_BUCKET or SAGEMAKER_DEFAULT_BUCKET, "
        "or set it in the config file\n"
    )
    code, _, err = deployable("definition", "--bucket", "b", "--groups", "30,x-1")
    assert code == 1 and err == "error: --groups: 'x-1' is not a group folder name (letters and digits)\n"
    code, _, err = deployable("status")
    assert code == 1 and err.startswith("error: ListPipelineExecutions failed: ") and err.count("\n") == 1
    assert f"Could not find pipeline with PipelineName {PIPELINE}" in err  # the service's own words
    missing_role = f"arn:aws:iam::{aws.account_id}:role/nobody"
    code, _, err = deployable("upsert", "--bucket", BUCKET, "--role-arn", missing_role)
    assert code == 1 and err.count("\n") == 1 and "nobody" in err


def test_the_installed_command_prints_no_traceback(deployable: Cli, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "status", "--pipeline-name", "not-deployed"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1


@pytest.mark.parametrize("given_by", ["flag", "environment"])
def test_code_packages_are_encrypted_under_the_configured_kms_key(
    deployable: Cli, aws: MotoAws, monkeypatch: pytest.MonkeyPatch, given_by: str
) -> None:
    key = aws.kms_key_arn(aws.create_kms_key("waveform code"))
    if given_by == "flag":
        code, out, err = deployable("upsert", "--kms-key-id", key)
    else:
        monkeypatch.setenv("WAVEFORM_KMS_KEY_ID", key)
        code, out, err = deployable("upsert")
    assert code == 0, err
    uploaded = [
        line.removeprefix("uploaded s3://") for line in out.splitlines() if line.startswith("uploaded")
    ]
    assert len(uploaded) == 3  # the three steps' code packages
    s3 = aws.client("s3")
    for location in uploaded:
        bucket, key_name = location.split("/", 1)
        head = s3.head_object(Bucket=bucket, Key=key_name)
        assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"].endswith(
            key.rsplit("/", 1)[1]
        )
    definition = json.loads(
        aws.client("sagemaker").describe_pipeline(PipelineName=PIPELINE)["PipelineDefinition"]
    )
    for step in definition["Steps"]:  # the outputs, volumes and dataset: the same key
        assert step["Arguments"]["ProcessingOutputConfig"]["KmsKeyId"] == key


def test_code_uploaded_before_a_key_was_configured_is_uploaded_again_under_it(
    deployable: Cli, aws: MotoAws
) -> None:
    code, out, _ = deployable("upsert")
    assert code == 0 and out.count("uploaded s3://") == 3  # SSE-S3
    key = aws.kms_key_arn(aws.create_kms_key("waveform code"))
    code, out, _ = deployable("upsert", "--kms-key-id", key)
    assert code == 0 and out.count("uploaded s3://") == 3  # same bytes, now under the key
    code, out, _ = deployable("upsert", "--kms-key-id", key)
    assert code == 0 and "uploaded" not in out
