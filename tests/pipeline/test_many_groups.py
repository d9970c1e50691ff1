"""A pipeline of many groups (the MIMIC-IV preset's 100, the most a pipeline takes): deployed and started
against the strict moto server, every request checked against the service model; its jobs' requests fit
CreateProcessingJob's limits; beyond the maximum, one line."""

from __future__ import annotations

import json
from pathlib import Path

import botocore.session
import pytest

from pipeline.config import GROUP_PRESETS, MAX_GROUPS, PipelineConfig
from pipeline.preflight import check_deployment
from steps.combine.command import GROUP_OUTPUT_VARIABLE
from steps.inventory.command import MAX_ARGUMENT_CHARACTERS
from tests.aws import MotoAws
from tests.pipeline.cli_fixtures import PIPELINE, Cli

ROLE = "arn:aws:iam::123456789012:role/waveform-exec"
MIMIC4 = GROUP_PRESETS["mimic4wdb"]


def sagemaker_shape(name: str) -> dict[str, int]:
    shape = botocore.session.get_session().get_service_model("sagemaker").shape_for(name)
    return dict(shape.metadata)


def test_the_limits_the_layout_is_built_on_are_the_service_models() -> None:
    assert MAX_GROUPS == sagemaker_shape("ProcessingEnvironmentMap")["max"] == 100
    assert MAX_ARGUMENT_CHARACTERS == sagemaker_shape("ContainerArgument")["max"] == 256
    assert sagemaker_shape("ContainerArguments")["max"] == 100


def test_the_mimic4wdb_preset_is_the_waves_folders_p100_to_p199() -> None:
    assert list(MIMIC4) == [f"p{number}" for number in range(100, 200)]
    assert len(MIMIC4) == MAX_GROUPS


def test_a_pipeline_of_the_100_mimic4wdb_groups_deploys_and_starts(deployable: Cli, aws: MotoAws) -> None:
    code, _, err = deployable("upsert", "--groups", "mimic4wdb")
    assert code == 0, err  # the strict server checked CreatePipeline (the definition's size too)
    definition_text = aws.client("sagemaker").describe_pipeline(PipelineName=PIPELINE)["PipelineDefinition"]
    assert len(definition_text) < 1_048_576 // 2  # the model's maximum; 100 groups take about 300 kB
    steps = {step["Name"]: step for step in json.loads(definition_text)["Steps"]}
    assert len(steps) == 102 and [name for name in steps if name.startswith("Extract")] == [
        f"Extract{group}" for group in MIMIC4
    ]
    inventory = steps["Inventory"]["Arguments"]["AppSpecification"]["ContainerArguments"]
    groups = inventory[inventory.index("--groups") + 1 :]
    assert len(inventory) <= 100 and all(len(item) <= 256 for item in groups)
    assert ",".join(groups).split(",") == list(MIMIC4) and len(groups) == 2  # 100 names, 2 arguments
    combine = steps["Combine"]["Arguments"]
    assert len(combine["AppSpecification"]["ContainerArguments"]) < 20
    assert sorted(combine["Environment"]) == [f"{GROUP_OUTPUT_VARIABLE}{n:03d}" for n in range(1, 101)]

    # start checks every job's request as the execution resolves it, the combine job's 100 locations too
    code, _, err = deployable("start", "--groups", "mimic4wdb")
    assert code == 0 and "error" not in err, err

    # an OutputRoot too long for the locations to fit the combine job's environment: one line, nothing started
    executions = aws.client("sagemaker").list_pipeline_executions(PipelineName=PIPELINE)
    before = len(executions["PipelineExecutionSummaries"])
    root = "s3://waveform-test-bucket/" + "deep/" * 40 + "out"
    code, _, err = deployable("start", "--groups", "mimic4wdb", "--param", f"OutputRoot={root}")
    assert code == 1
    assert err.splitlines()[:-1] == [
        f"error: step Combine: parameter OutputRoot '{root[:78]}… (229 characters) is too long: 100 group "
        "output location(s) in the combine job's environment would exceed the 256 characters a value may "
        f"have ('{('p100=' + root)[:78]}…: 259); with these groups OutputRoot may have at most 226 characters"
    ], err
    assert err.splitlines()[-1] == "error: nothing was started"
    executions = aws.client("sagemaker").list_pipeline_executions(PipelineName=PIPELINE)
    assert len(executions["PipelineExecutionSummaries"]) == before


def test_100_groups_of_the_longest_names_fit(aws: MotoAws) -> None:
    from pipeline.definition import get_pipeline

    groups = tuple(f"{number:03d}" + "g" * 47 for number in range(100))  # 50 characters, the most
    config = PipelineConfig(role_arn=ROLE, region="us-east-1", bucket="waveform-bucket", groups=groups)
    pipeline = get_pipeline(config, aws.session())
    found = check_deployment(config, pipeline.definition(), "one line")
    assert found.problems == [], found.problems


def test_more_groups_than_a_pipeline_takes_is_one_line(deployable: Cli) -> None:
    groups = ",".join(f"p{number}" for number in range(100, 201))
    for command in ("definition", "check"):
        code, out, err = deployable(command, "--groups", groups)
        assert code == 1 and out == ""
        assert err == (
            "error: --groups: 101 groups, more than the 100 a pipeline can take (the combine job gets one "
            "environment variable per group, and a processing job takes at most 100): merge group folders, "
            "or deploy a pipeline per 100 groups (--pipeline-name)\n"
        )


def test_a_config_built_in_code_with_too_many_groups_is_refused_before_the_sdk(aws: MotoAws) -> None:
    from pipeline.definition import get_pipeline
    from pipeline.errors import ConfigError

    groups = tuple(f"g{number}" for number in range(101))
    config = PipelineConfig(role_arn=ROLE, region="us-east-1", bucket="waveform-bucket", groups=groups)
    with pytest.raises(ConfigError, match=r"^groups: 101 groups, more than the 100 "):
        get_pipeline(config, aws.session())


def test_a_local_input_of_more_group_folders_than_a_pipeline_takes_is_one_line(
    deployable: Cli, tmp_path: Path
) -> None:
    data = tmp_path / "waves"
    for number in range(100, 201):
        (data / f"p{number}").mkdir(parents=True)
    code, _, err = deployable("run-local", "--input-dir", str(data), "--output-dir", str(tmp_path / "out"))
    assert code == 1 and err == (
        f"error: input folder {data} holds 101 group folders, more than the 100 a pipeline can take: choose "
        "some with --groups\n"
    )
