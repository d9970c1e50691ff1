"""Every documented way to give the region works for every command, in a fresh interpreter.

Importing the SageMaker SDK creates boto3 clients, and botocore takes a client's default region from
``AWS_DEFAULT_REGION`` only. A command that imports the SDK before exporting the region the user gave
(``--region``, ``AWS_REGION`` or the config file) fails with "You must specify a region." — but only in a
process that has not imported the SDK yet, so these tests run each command as a user does: a new process,
with no ``AWS_DEFAULT_REGION``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.step_code import PROJECT_ROOT
from tests.aws import MotoAws

BUCKET = "waveform-region-bucket"
WAYS = ("flag", "AWS_REGION", "config file")
# Each command once, the ways taking turns: every command runs with the region given some way other than
# AWS_DEFAULT_REGION, and every way reaches commands that import the SDK at different points.
COMMANDS = [
    ["definition"],
    ["graph"],
    ["check"],
    ["diff"],
    ["upsert"],
    ["start"],
    ["status"],
    ["executions"],
    ["schedule", "put", "--rate", "1 day"],
    ["schedule", "show"],
    ["schedule", "delete"],
]


@pytest.fixture
def account(aws: MotoAws, tmp_path: Path) -> tuple[MotoAws, dict[str, str], Path]:
    """The environment a user has, less any region: credentials, role, bucket; and a working folder."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"AWS_REGION", "AWS_DEFAULT_REGION", "PYTEST_CURRENT_TEST"}
    }
    environment["SAGEMAKER_ROLE_ARN"] = aws.create_role("waveform-exec")
    environment["WAVEFORM_BUCKET"] = aws.create_bucket(BUCKET)
    environment["WAVEFORM_GROUPS"] = "30,31"
    environment["WAVEFORM_CODE_ROOT"] = str(PROJECT_ROOT)
    work = tmp_path / "work"
    work.mkdir()
    return aws, environment, work


def run_command(
    command: list[str], way: str, environment: dict[str, str], work: Path, region: str
) -> subprocess.CompletedProcess[str]:
    env = dict(environment)
    argv = [sys.executable, "-m", "pipeline", *command]
    config = work / "waveform-pipeline.toml"
    config.unlink(missing_ok=True)
    if way == "flag":
        argv += ["--region", region]
    elif way == "AWS_REGION":
        env["AWS_REGION"] = region
    else:
        config.write_text(f'region = "{region}"\n')
    return subprocess.run(argv, capture_output=True, text=True, cwd=work, env=env, check=False)


def test_every_command_takes_the_region_every_documented_way(
    account: tuple[MotoAws, dict[str, str], Path],
) -> None:
    aws, environment, work = account
    for index, command in enumerate(COMMANDS):
        way = WAYS[index % len(WAYS)]
        result = run_command(command, way, environment, work, aws.region)
        assert "You must specify a region" not in result.stderr, (command, way, result.stderr)
        assert "Traceback" not in result.stderr, (command, way, result.stderr)
        assert result.returncode == 0, (command, way, result.stderr)
    described = aws.client("sagemaker").describe_pipeline(PipelineName="waveform-features")
    assert described["PipelineArn"].startswith(f"arn:aws:sagemaker:{aws.region}:")


@pytest.mark.parametrize("way", WAYS)
def test_diff_takes_the_region_each_way(account: tuple[MotoAws, dict[str, str], Path], way: str) -> None:
    """``diff`` imported the SDK before exporting the region: it failed every way but AWS_DEFAULT_REGION."""
    aws, environment, work = account
    result = run_command(["diff"], way, environment, work, aws.region)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("create: the pipeline is not deployed")


def test_the_flag_wins_over_a_different_default_region(account: tuple[MotoAws, dict[str, str], Path]) -> None:
    """The resolved region (flag > environment > file) is the one every client uses, whatever
    AWS_DEFAULT_REGION says."""
    aws, environment, work = account
    environment = {**environment, "AWS_DEFAULT_REGION": "eu-west-1"}
    result = run_command(["upsert"], "flag", environment, work, aws.region)
    assert result.returncode == 0, result.stderr
    assert f"arn:aws:sagemaker:{aws.region}:" in result.stdout
