"""The pipeline parameter WindowSeconds: the extract steps' ``--window-seconds``, with the extract command's
default, settable wherever parameters are (start, schedules, check, run-local), refused before an execution
starts when the extract step would refuse it, and part of the group steps' cache keys."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from pipeline.cli import main as cli_main
from pipeline.definition_eval import CacheStore, Evaluation, default_parameters
from pipeline.local.definition import DEFINITION_FILE, local_definition
from pipeline.local.run import run_locally
from pipeline.local.summary import summary_lines
from pipeline.preflight import check_start
from steps.contract.arguments import DEFAULT_WINDOW_SECONDS
from steps.extract import command as extract_command
from tests.aws import MotoAws
from tests.pipeline.cli_fixtures import PIPELINE, Cli
from tests.pipeline.test_pipeline_definition import CONFIG, build, run_execution, steps_by_name

WINDOW_ARGUMENT = {
    "Std:Join": {"On": "", "Values": ["--window-seconds=", {"Get": "Parameters.WindowSeconds"}]}
}
OUT_OF_RANGE = "must be from 0 (no windows) to 86400 seconds"


def test_the_parameter_is_a_float_with_the_extract_commands_default_given_to_every_group_step(
    aws: MotoAws,
) -> None:
    definition = build(aws)
    parameters = {p["Name"]: p for p in definition["Parameters"]}
    assert parameters["WindowSeconds"] == {
        "Name": "WindowSeconds",
        "Type": "Float",
        "DefaultValue": DEFAULT_WINDOW_SECONDS,
    }
    evaluation = Evaluation(default_parameters(definition), "exec-a")
    for name, step in steps_by_name(definition).items():
        arguments = step["Arguments"]["AppSpecification"]["ContainerArguments"]
        if name == "Inventory":  # it sizes the group steps' volumes for their windows
            assert arguments.count(WINDOW_ARGUMENT) == 1
            continue
        if not name.startswith("Extract"):
            assert WINDOW_ARGUMENT not in arguments, name  # only the group steps cut windows
            continue
        assert arguments.count(WINDOW_ARGUMENT) == 1, name
        resolved = evaluation.value(arguments)
        parsed = extract_command.build_parser().parse_args(resolved)  # the step's own parser takes it
        assert parsed.window_seconds == DEFAULT_WINDOW_SECONDS


def test_changing_it_re_runs_every_group_step_and_the_same_value_reuses_them(aws: MotoAws) -> None:
    definition = build(aws)
    cache: CacheStore = {}
    run_execution(definition, "exec-a", cache)
    same = run_execution(definition, "exec-b", cache, {"WindowSeconds": 60.0})
    assert all(outcome.cache_hit for name, outcome in same.items() if name != "Inventory")
    changed = run_execution(definition, "exec-c", cache, {"WindowSeconds": 30.0})
    assert not any(outcome.cache_hit for outcome in changed.values())
    off = run_execution(definition, "exec-d", cache, {"WindowSeconds": 0.0})
    assert not any(outcome.cache_hit for outcome in off.values())
    assert "--window-seconds=0.0" in off["Extract30"].cache_key


@pytest.mark.parametrize("value", [-1.0, 86_400.5, math.nan, math.inf])
def test_a_value_the_extract_step_would_refuse_is_one_line_before_the_start(
    aws: MotoAws, value: float
) -> None:
    found = check_start(CONFIG, json.dumps(build(aws)), {"WindowSeconds": value})
    assert found.problems == [
        f"parameter WindowSeconds: {OUT_OF_RANGE}, not {str(value)!r}: the steps given it would refuse it, "
        "once their instances started"
    ]
    assert check_start(CONFIG, json.dumps(build(aws)), {"WindowSeconds": 86_400.0}).problems == []


def test_start_takes_it_and_refuses_what_the_extract_step_would(deployable: Cli, aws: MotoAws) -> None:
    assert deployable("upsert")[0] == 0
    for text, message in [
        ("abc", "error: parameter WindowSeconds takes numbers, not 'abc'\n"),
        ("-1", f"error: parameter WindowSeconds: {OUT_OF_RANGE}, not '-1'\n"),
        ("nan", f"error: parameter WindowSeconds: {OUT_OF_RANGE}, not 'nan'\n"),
        ("1e6", f"error: parameter WindowSeconds: {OUT_OF_RANGE}, not '1e6'\n"),
    ]:
        assert deployable("start", "--param", f"WindowSeconds={text}") == (1, "", message)
    summaries = aws.client("sagemaker").list_pipeline_executions(PipelineName=PIPELINE)
    assert summaries["PipelineExecutionSummaries"] == []

    code, out, err = deployable("start", "--param", "WindowSeconds=30")
    assert code == 0, err
    arn = out.split()[-1]
    parameters = aws.client("sagemaker").list_pipeline_parameters_for_execution(PipelineExecutionArn=arn)
    assert {"Name": "WindowSeconds", "Value": "30.0"} in parameters["PipelineParameters"]


def test_a_schedule_takes_it_and_check_refuses_it_out_of_range(deployable: Cli, aws: MotoAws) -> None:
    assert deployable("upsert")[0] == 0
    role = aws.create_role("waveform-scheduler", service="scheduler.amazonaws.com")
    put = ("schedule", "put", "--rate", "1 day", "--scheduler-role-arn", role)
    code, _, err = deployable(*put, "--param", "WindowSeconds=10")
    assert code == 0, err
    target = aws.client("scheduler").get_schedule(Name=f"{PIPELINE}-schedule")["Target"]
    assert target["SageMakerPipelineParameters"]["PipelineParameterList"] == [
        {"Name": "WindowSeconds", "Value": "10.0"}
    ]
    assert deployable(*put, "--param", "WindowSeconds=-5")[0] == 1
    assert deployable("check", "--param", "WindowSeconds=90000") == (
        1,
        "",
        f"error: parameter WindowSeconds: {OUT_OF_RANGE}, not '90000'\n",
    )


def test_its_description_names_its_range(capsys: pytest.CaptureFixture[str]) -> None:
    from pipeline.cli import main

    with pytest.raises(SystemExit):
        main(["start", "--help"])
    assert "  WindowSeconds: Length in seconds of the windows" in capsys.readouterr().out


@pytest.fixture(scope="module")
def kept(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The kept local definition of a run of group 30 (built once: the SDK takes seconds)."""
    folder = tmp_path_factory.mktemp("kept")
    local_definition(["30"], kept_in=folder)
    return folder / DEFINITION_FILE


def run_local(
    capsys: pytest.CaptureFixture[str], data: Path, output: Path, *extra: str
) -> tuple[int, str, str]:
    code = cli_main(
        ["run-local", "--input-dir", str(data), "--output-dir", str(output), "--no-progress", *extra]
    )
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_run_local_takes_window_seconds_and_re_runs_the_group_steps_when_it_changes(
    kept: Path, real_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, output = tmp_path / "data", tmp_path / "out"
    shutil.copytree(real_data / "30", data / "30")
    output.mkdir()
    shutil.copy(kept, output / DEFINITION_FILE)

    def steps_run(*extra: str) -> str:
        code, out, err = run_local(capsys, data, output, *extra)
        assert code == 0, err
        return out.splitlines()[0].split(": ", 1)[1]

    assert steps_run() == "3 step(s) ran, 0 reused from the cache"
    assert steps_run("--window-seconds", "60") == "1 step(s) ran, 2 reused from the cache"  # the default
    assert steps_run("--param", "WindowSeconds=60") == "1 step(s) ran, 2 reused from the cache"
    assert steps_run("--window-seconds", "0") == "3 step(s) ran, 0 reused from the cache"


def test_run_local_refuses_two_window_lengths_and_one_out_of_range(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    given = ("--window-seconds", "30", "--param", "WindowSeconds=30")
    assert run_local(capsys, tmp_path, tmp_path / "out", *given) == (
        2,
        "",
        "error: give --window-seconds or --param WindowSeconds, not both\n",
    )
    assert run_local(capsys, tmp_path, tmp_path / "out", "--param", "WindowSeconds=-1") == (
        1,
        "",
        f"error: parameter WindowSeconds: {OUT_OF_RANGE}, not '-1'\n",
    )
    with pytest.raises(SystemExit) as exited:
        run_local(capsys, tmp_path, tmp_path / "out", "--window-seconds", "-1")
    assert exited.value.code == 2
    assert (
        capsys.readouterr()
        .err.splitlines()[-1]
        .endswith(f"argument --window-seconds: {OUT_OF_RANGE}, not '-1'")
    )
    assert not (tmp_path / "out").exists()


def test_a_local_run_names_its_windows_dataset_when_there_is_one(
    kept: Path, real_data: Path, tmp_path: Path
) -> None:
    data, output = tmp_path / "data", tmp_path / "out"
    shutil.copytree(real_data / "30", data / "30")
    output.mkdir()
    shutil.copy(kept, output / DEFINITION_FILE)
    run = run_locally(data, output, progress=False)
    listed = any(line.startswith("windows:") for line in summary_lines(run, output))
    assert listed == (run.combined / "windows").is_dir()  # a line only for a windows dataset that is there
    (run.combined / "windows").mkdir(exist_ok=True)  # as a combine step that found windows leaves it
    lines = summary_lines(run, output)
    dataset = next(index for index, line in enumerate(lines) if line.startswith("dataset: "))
    assert lines[dataset + 1] == f"windows: {run.combined / 'windows'}"
