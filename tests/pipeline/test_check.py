"""``waveform-pipeline check``: the default deployment fits the service's rules; what breaks them is named,
one line each, before any request is sent (and ``upsert`` sends none)."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path

import pytest

from pipeline.config import GROUP_PRESETS, PipelineConfig
from pipeline.preflight import check_deployment, check_start
from tests.aws import MotoAws
from tests.pipeline.cli_fixtures import Cli

ROLE = "arn:aws:iam::123456789012:role/waveform-exec"
CONFIG = PipelineConfig(role_arn=ROLE, region="us-east-1", bucket="waveform-bucket")


def definition_of(aws: MotoAws, config: PipelineConfig = CONFIG) -> str:
    from pipeline.definition import get_pipeline

    return str(get_pipeline(config, aws.session()).definition())


def test_check_passes_on_the_default_deployment_and_names_the_quotas_it_needs(deployable: Cli) -> None:
    code, out, err = deployable("check")
    assert code == 0 and err == "", err
    lines = out.splitlines()
    assert (
        lines[-1] == "ok: the requests of the pipeline, its 5 steps and its schedule fit the service's rules"
    )
    assert "quota: 'ml.c5.xlarge for processing job usage' must allow 3 instance(s)" in out


def test_both_group_presets_fit(aws: MotoAws) -> None:
    for groups in GROUP_PRESETS.values():
        config = replace(CONFIG, groups=groups)
        found = check_deployment(config, definition_of(aws, config), "one line")
        assert found.problems == [], found.problems


def test_a_step_with_11_inputs_is_one_line(aws: MotoAws) -> None:
    definition = json.loads(definition_of(aws))
    combine = next(step for step in definition["Steps"] if step["Name"] == "Combine")
    inputs = combine["Arguments"]["ProcessingInputs"]
    for index in range(10):
        extra = copy.deepcopy(inputs[0])
        extra["InputName"] = f"group-{index}"
        extra["S3Input"]["LocalPath"] = f"/opt/ml/processing/input/groups/{index}"
        inputs.append(extra)
    found = check_deployment(CONFIG, json.dumps(definition), "one line")
    assert len(found.problems) == 1, found.problems
    assert found.problems[0].startswith("step Combine: CreateProcessingJob: ProcessingInputs: ")
    assert "at most 10" in found.problems[0]


def test_a_display_name_with_a_space_and_a_description_with_a_newline_are_one_line_each(
    deployable: Cli, aws: MotoAws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "waveform-pipeline.toml"
    config.write_text('display_name = "MIMIC III features"\ndescription = "first line\\nsecond line"\n')
    code, out, err = deployable("check", "--config", str(config))
    assert code == 1 and "ok:" not in out
    problems = err.splitlines()
    assert len(problems) == 2, err
    assert problems[0].startswith("error: CreatePipeline: PipelineDisplayName: 'MIMIC III features'")
    assert problems[1].startswith("error: CreatePipeline: PipelineDescription: ")
    # upsert checks first: nothing is uploaded or deployed
    code, _, err = deployable("upsert", "--config", str(config))
    assert code == 1 and err.splitlines()[-1] == "error: nothing was deployed (see waveform-pipeline check)"
    assert aws.client("s3").list_objects_v2(Bucket="waveform-test-bucket").get("KeyCount", 0) == 0
    assert aws.client("sagemaker").list_pipelines()["PipelineSummaries"] == []


def test_overrides_are_checked_as_the_jobs_they_make(aws: MotoAws) -> None:
    definition = definition_of(aws)
    found = check_start(CONFIG, definition, {"GroupVolumeSizeGB": 20000, "MaxRuntimeSeconds": 0})
    assert any("VolumeSizeInGB" in problem and "16384" in problem for problem in found.problems)
    assert any("MaxRuntimeInSeconds" in problem for problem in found.problems)
    big = check_start(CONFIG, definition, {"GroupVolumeSizeGB": 2000})
    assert big.problems == [
        "parameter GroupVolumeSizeGB 2000 is above VolumeQuotaGB 1024: the inventory step would stop "
        "every execution; raise the quota 'Size of EBS volume for a processing job instance' and "
        "VolumeQuotaGB with it, or give GroupVolumeSizeGB 0 to size each group's volume from its data"
    ]
    raised = check_start(CONFIG, definition, {"GroupVolumeSizeGB": 2000, "VolumeQuotaGB": 4000})
    assert raised.problems == []
    assert any("'Size of EBS volume for a processing job instance'" in note for note in raised.notes)


def test_roots_with_a_trailing_slash_or_an_empty_folder_are_refused(aws: MotoAws) -> None:
    definition = definition_of(aws)
    for root in ("s3://bucket/input/", "s3://bucket//input", "bucket/input", ""):
        found = check_start(CONFIG, definition, {"InputRoot": root})
        assert [p for p in found.problems if p.startswith("parameter InputRoot")], root
    assert check_start(CONFIG, definition, {"InputRoot": "s3://bucket/input"}).problems == []


def test_an_empty_input_version_is_no_empty_argument(aws: MotoAws) -> None:
    found = check_start(CONFIG, definition_of(aws), {"InputVersion": ""})
    assert found.problems == []  # passed as --input-version= in one argument


def test_a_long_prefix_breaks_the_argument_limit_and_is_named(aws: MotoAws) -> None:
    config = replace(CONFIG, prefix="p" * 240)
    found = check_deployment(config, definition_of(aws, config), "one line")
    assert any("ContainerArguments" in p and "at most 256" in p for p in found.problems), found.problems


def test_glue_table_names_the_combine_step_would_create_are_checked(aws: MotoAws) -> None:
    config = replace(CONFIG, glue_database="waveforms", glue_table="t" * 250)
    found = check_deployment(config, definition_of(aws, config), "one line")
    assert found.problems == [
        "Glue table of the windows: CreateTable: TableInput.Name: 258 characters, at most 255"
    ], found.problems
    fits = replace(CONFIG, glue_database="waveforms", glue_table="features")
    assert check_deployment(fits, definition_of(aws, fits), "one line").problems == []
