"""The extract step's three ways in: the container script, the project CLI, and (elsewhere) the tests."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.fresh_interpreter import modules_after
from tests.paths import ROOT
from tests.steps.container import container_command

BIN = Path(sys.executable).parent


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, check=False)


def test_container_script_and_cli_write_the_same_features(real_data: Path, tmp_path: Path) -> None:
    args = ["--input-dir", str(real_data / "32"), "--group", "32", "--workers", "2"]
    by_script = run([*container_command("extract"), *args, "--output-dir", str(tmp_path / "a")], cwd=ROOT)
    by_cli = run(
        [str(BIN / "waveform-pipeline"), "extract", *args, "--output-dir", str(tmp_path / "b")], cwd=tmp_path
    )
    assert by_script.returncode == 0 == by_cli.returncode, by_script.stderr + by_cli.stderr
    assert "19 of 19 records summarised" in by_cli.stdout
    a = pd.read_parquet(tmp_path / "a" / "features.parquet")
    b = pd.read_parquet(tmp_path / "b" / "features.parquet")
    assert a.equals(b) and len(a) == 45


def test_group_defaults_to_the_input_folder_name(real_data: Path, tmp_path: Path) -> None:
    result = run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "extract",
            "--input-dir",
            str(real_data / "30"),
            "--output-dir",
            "o",
        ],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "o" / "summary.json").read_text())["group"] == "30"


def every_command() -> list[tuple[list[str], argparse.ArgumentParser]]:
    """Every command and subcommand of the CLI, found by walking the parser itself, with its parser: a new
    command cannot escape the tests that take them all."""
    from pipeline.cli import build_parser

    found: list[tuple[list[str], argparse.ArgumentParser]] = []

    def walk(path: list[str], parser: argparse.ArgumentParser) -> None:
        found.append((path, parser))
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, command in action.choices.items():
                    walk([*path, name], command)

    walk([], build_parser())
    return found


COMMANDS = [path for path, _ in every_command()]


def test_the_walk_finds_every_command() -> None:
    names = {" ".join(path) for path in COMMANDS}
    assert {"", "extract", "combine", "run-local", "definition", "graph", "diff", "check", "upsert", "start",
            "status", "executions", "schedule", "schedule put", "schedule show",
            "schedule delete", "plan"} <= names  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS, ids=lambda command: " ".join(command) or "(none)")
def test_every_commands_help_is_plain_text_naming_each_of_its_options(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    from pipeline.cli import main

    parser = dict((tuple(path), parser) for path, parser in every_command())[tuple(command)]
    with pytest.raises(SystemExit) as exited:
        main([*command, "--help"])
    shown = capsys.readouterr().out
    assert exited.value.code == 0 and shown.startswith(f"usage: waveform-pipeline {' '.join(command)}")
    assert not re.search(r"``|:func:|:class:|:data:|:mod:", shown), f"reST markup in {command} --help"
    options = {flag for action in parser._actions for flag in action.option_strings}
    assert options and all(re.search(rf"(^|[\s\[,]){re.escape(flag)}\b", shown) for flag in options)
    choices = [a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    for names in choices:
        assert all(re.search(rf"^    {re.escape(name)}\s", shown, re.MULTILINE) for name in names)


def test_commands_that_take_parameters_describe_them(capsys: pytest.CaptureFixture[str]) -> None:
    from pipeline.cli import main

    for command in (["start"], ["check"], ["run-local"], ["schedule", "put"]):
        with pytest.raises(SystemExit):
            main([*command, "--help"])
        shown = capsys.readouterr().out
        for name in ("InputRoot", "StrictMode", "InputVersion"):
            assert f"  {name}: " in shown, command  # the parameters' descriptions
    assert run([sys.executable, "-m", "pipeline", "--help"], cwd=ROOT).returncode == 0


def test_version_names_the_installed_package(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    from pipeline.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"waveform-pipeline {version('waveform-pipeline')}\n"


def test_bad_arguments_end_in_a_message_not_a_traceback(tmp_path: Path) -> None:
    result = run([sys.executable, "-m", "pipeline", "extract", "--workers", "0"], cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].endswith("argument --workers: must be at least 1, not 0")


@pytest.mark.parametrize("command", COMMANDS, ids=lambda command: " ".join(command) or "(none)")
def test_help_imports_no_sagemaker_module(command: list[str]) -> None:
    exit_code, modules = modules_after("pipeline", [*command, "--help"])
    assert exit_code == 0
    assert not {name for name in modules if name.startswith("sagemaker")}
    assert not modules & {"boto3", "botocore", "pandas", "pyarrow", "numpy", "tqdm", "joblib", "wfdb"}


def test_extract_and_combine_import_no_sagemaker_module(real_data: Path, tmp_path: Path) -> None:
    groups = tmp_path / "groups"
    exit_code, modules = modules_after(
        "pipeline", ["extract", "--input-dir", str(real_data / "30"), "--output-dir", str(groups / "30")]
    )
    assert exit_code == 0 and not {name for name in modules if name.startswith("sagemaker")}
    exit_code, modules = modules_after(
        "pipeline", ["combine", "--input-dir", str(groups), "--output-dir", str(tmp_path / "c")]
    )
    assert exit_code == 0 and not {name for name in modules if name.startswith("sagemaker")}
    assert (tmp_path / "c" / "report.html").is_file()
