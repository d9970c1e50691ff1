"""The global options (settings and ``--output``): before the command or after it, one spelling each, comma
lists read alike everywhere, and the output format resolved as every setting is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.cli import main as cli_main
from tests.aws import MotoAws
from tests.pipeline.cli_fixtures import PIPELINE, Cli

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/waveform-steps:1"


def usage_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """The last line argparse prints for a command line it refuses (exit 2)."""
    with pytest.raises(SystemExit) as exited:
        cli_main(list(argv))
    assert exited.value.code == 2, argv
    return capsys.readouterr().err.splitlines()[-1]


def test_settings_before_the_command_are_kept_and_those_after_it_win(deployable: Cli, aws: MotoAws) -> None:
    code, _, err = deployable(
        "--max-parallel-steps", "3", "--tag", "team=icu", "upsert", "--tag", "owner=me,cost=ward 7"
    )
    assert code == 0, err
    sagemaker = aws.client("sagemaker")
    described = sagemaker.describe_pipeline(PipelineName=PIPELINE)
    # given before the command, and not undone by the command's own copy of the option
    assert described["ParallelismConfiguration"] == {"MaxParallelExecutionSteps": 3}
    tags = {
        tag["Key"]: tag["Value"] for tag in sagemaker.list_tags(ResourceArn=described["PipelineArn"])["Tags"]
    }
    assert {"team": "icu", "owner": "me", "cost": "ward 7"}.items() <= tags.items()  # before and after add up

    code, _, err = deployable("--max-parallel-steps", "3", "upsert", "--max-parallel-steps", "2")
    assert code == 0, err
    described = sagemaker.describe_pipeline(PipelineName=PIPELINE)
    assert described["ParallelismConfiguration"] == {"MaxParallelExecutionSteps": 2}


@pytest.mark.parametrize(
    "command",
    [
        ["extract", "--input-dir", "in"],
        ["combine"],
        ["run-local", "--input-dir", "in", "--output-dir", "out"],
    ],
    ids=lambda command: command[0],
)
def test_settings_before_a_local_command_are_refused_not_ignored(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """combine has a --region of its own: a --region before it would otherwise be dropped without a word."""
    assert usage_error(capsys, "--region", "eu-west-1", "--config", "x.toml", *command) == (
        f"waveform-pipeline: error: --config, --region before {command[0]}: settings are for the SageMaker "
        f"commands; {command[0]} runs here and takes its own options, after its name"
    )


def test_output_before_a_local_command_is_taken_and_it_prints_its_text(
    real_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli_main(
        ["--output", "json", "extract", "--input-dir", str(real_data / "30"), "--output-dir", str(tmp_path)]
    )
    assert code == 0 and "records summarised" in capsys.readouterr().out


OLD_SPELLINGS = {
    "run-local --input": (
        ["run-local", "--input", "in", "--output-dir", "out"],
        "waveform-pipeline run-local: error: the following arguments are required: --input-dir",
    ),
    "run-local --output": (
        ["run-local", "--input-dir", "in", "--output", "out"],
        "waveform-pipeline run-local: error: the following arguments are required: --output-dir",
    ),
    "definition -o": (
        ["definition", "-o", "d.json"],
        "waveform-pipeline: error: unrecognized arguments: -o d.json",
    ),
    "definition --output FILE": (
        ["definition", "--output", "d.json"],
        "waveform-pipeline definition: error: argument --output: invalid choice: 'd.json' (choose from "
        "'table', 'json')",
    ),
    "extract --input (an abbreviation)": (
        ["extract", "--input", "in"],
        "waveform-pipeline: error: unrecognized arguments: --input in",
    ),
    "status --pipeline (an abbreviation)": (
        ["status", "--pipeline", "p"],
        "waveform-pipeline: error: unrecognized arguments: --pipeline",  # and p is taken for the execution
    ),
    "--reg before the command (an abbreviation)": (
        ["--reg", "eu-west-1", "status"],
        "waveform-pipeline: error: argument COMMAND: invalid choice: 'eu-west-1' (choose from 'extract', "
        "'combine', 'run-local', 'definition', 'graph', 'diff', 'check', 'upsert', 'plan', 'start', "
        "'status', 'executions', 'schedule', 'notify')",
    ),
}


@pytest.mark.parametrize(("argv", "message"), OLD_SPELLINGS.values(), ids=list(OLD_SPELLINGS))
def test_old_spellings_and_abbreviations_are_errors_not_guesses(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert usage_error(capsys, *argv) == message


def vpc_configs(definition: dict[str, object]) -> list[object]:
    steps = definition["Steps"]
    assert isinstance(steps, list)
    return [step["Arguments"]["NetworkConfig"]["VpcConfig"] for step in steps]


@pytest.mark.parametrize("separator", [",", " ", ", "], ids=["commas", "spaces", "commas and spaces"])
def test_every_list_option_reads_commas_and_spaces_alike(deployable: Cli, separator: str) -> None:
    code, out, err = deployable(
        "--groups",
        separator.join(["30", "31"]),
        "definition",
        "--image-uri",
        IMAGE,
        "--subnets",
        separator.join(["subnet-1", "subnet-2"]),
        "--security-group-ids",
        separator.join(["sg-1", "sg-2"]),
    )
    assert code == 0, err
    definition = json.loads(out)
    assert [step["Name"] for step in definition["Steps"]] == [
        "Inventory",
        "Extract30",
        "Extract31",
        "Combine",
    ]
    expected = {"Subnets": ["subnet-1", "subnet-2"], "SecurityGroupIds": ["sg-1", "sg-2"]}
    assert vpc_configs(definition) == [expected] * 4


def test_tags_are_split_at_commas_only_since_a_tag_may_hold_spaces(deployable: Cli) -> None:
    code, out, err = deployable("definition", "--tag", "owner=ward 7,team=icu", "--tag", "cost=x")
    assert code == 0, err
    for step in json.loads(out)["Steps"]:
        tags = {tag["Key"]: tag["Value"] for tag in step["Arguments"]["Tags"]}
        assert tags == {"project": "waveform-pipeline", "owner": "ward 7", "team": "icu", "cost": "x"}
    code, _, err = deployable("definition", "--tag", "owner=me,,team=icu")
    assert (code, err) == (1, "error: --tag: tag '' is not KEY=VALUE\n")


def test_the_output_format_comes_from_the_flag_the_environment_or_the_config_file(
    deployable: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert deployable("upsert")[0] == 0
    assert deployable("executions")[1] == f"pipeline {PIPELINE} has no executions yet\n"
    config = tmp_path / "waveform.toml"
    config.write_text('output = "json"\n')
    expected = {"pipeline_name": PIPELINE, "executions": []}
    assert json.loads(deployable("--config", str(config), "executions")[1]) == expected
    monkeypatch.setenv("WAVEFORM_OUTPUT", "json")
    assert json.loads(deployable("executions")[1]) == expected
    assert deployable("executions", "--output", "table")[1].startswith("pipeline ")  # the flag first
    monkeypatch.setenv("WAVEFORM_OUTPUT", "yaml")
    code, out, err = deployable("executions")
    assert (code, out, err) == (
        1,
        "",
        "error: WAVEFORM_OUTPUT: 'yaml' is not an output format: table or json\n",
    )
