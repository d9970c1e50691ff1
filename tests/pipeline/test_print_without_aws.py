"""``graph`` and ``definition`` print with no AWS settings, no credentials and no network: placeholders stand
in for what is not configured, and one note says which."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.commands.placeholders import PLACEHOLDERS
from tests.aws import MotoAws
from tests.pipeline.cli_fixtures import Cli

COMMAND = str(Path(sys.executable).parent / "waveform-pipeline")
NOTE = (
    "note: not configured, so placeholders stand in: region us-east-1, execution role "
    "arn:aws:iam::111122223333:role/placeholder-execution-role, bucket amzn-s3-demo-bucket (to give real "
    "ones: region: --region, AWS_REGION or AWS_DEFAULT_REGION; execution role: --role-arn, "
    "SAGEMAKER_ROLE_ARN or WAVEFORM_ROLE_ARN; bucket: --bucket, WAVEFORM_BUCKET or SAGEMAKER_DEFAULT_BUCKET; "
    "or the config file)\n"
)


@pytest.fixture
def offline(tmp_path: Path) -> Iterator[dict[str, str]]:
    """An environment as ``env -i`` leaves it, a home without ~/.aws, and every HTTP(S) request sent to a
    port that refuses it (a proxy that is never there): nothing can reach AWS, nor any other host."""
    refused = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    refused.bind(("127.0.0.1", 0))  # bound, never listening: a connection is refused at once
    proxy = f"http://127.0.0.1:{refused.getsockname()[1]}"
    (tmp_path / "home").mkdir()
    yield {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path / "home"),
        "HTTP_PROXY": proxy,
        "HTTPS_PROXY": proxy,
    }
    refused.close()


def run(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([COMMAND, *argv], capture_output=True, text=True, env=env, cwd=cwd, check=False)


def test_graph_and_definition_print_with_placeholders_and_no_aws_at_all(
    offline: dict[str, str], tmp_path: Path
) -> None:
    graph = run(["graph"], offline, tmp_path)
    assert (graph.returncode, graph.stderr) == (0, NOTE)
    assert graph.stdout.startswith("flowchart LR\n") and "Extract39 --> Combine" in graph.stdout

    written = run(["definition", "--file", "definition.json"], offline, tmp_path)
    assert (written.returncode, written.stdout, written.stderr) == (
        0,
        "definition written to definition.json\n",
        NOTE,
    )
    definition = (tmp_path / "definition.json").read_text()
    assert PLACEHOLDERS["role_arn"] in definition and f"s3://{PLACEHOLDERS['bucket']}/" in definition
    assert len(json.loads(definition)["Steps"]) == 12


def test_the_values_given_are_used_and_only_the_others_are_placeholders(
    offline: dict[str, str], tmp_path: Path
) -> None:
    result = run(["--bucket", "my-bucket", "definition", "--region", "eu-west-1"], offline, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == (
        "note: not configured, so placeholders stand in: execution role "
        "arn:aws:iam::111122223333:role/placeholder-execution-role (to give real ones: execution role: "
        "--role-arn, SAGEMAKER_ROLE_ARN or WAVEFORM_ROLE_ARN; or the config file)\n"
    )
    assert "s3://my-bucket/" in result.stdout and "amzn-s3-demo-bucket" not in result.stdout
    assert ".dkr.ecr.eu-west-1.amazonaws.com/" in result.stdout  # the region's image


def test_with_every_setting_given_there_is_no_note_and_no_aws_call(deployable: Cli, aws: MotoAws) -> None:
    before = len(aws.calls())
    code, out, err = deployable("definition")
    assert (code, err) == (0, "") and os.environ["SAGEMAKER_ROLE_ARN"] in out
    code, out, err = deployable("graph")
    assert (code, err) == (0, "") and "Extract32 --> Combine" in out
    assert aws.calls()[before:] == []
