"""The pipeline CLI called in-process against the moto server, as a user with the usual settings calls it.

A test module imports the ``deployable`` fixture, or (without a ``noqa`` for ruff's F811 on every test that
takes it) makes its own from :func:`deployable_cli`::

    @pytest.fixture
    def deployable(aws: MotoAws, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
        return deployable_cli(aws, monkeypatch, capsys)
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from pipeline.cli import main as cli_main
from pipeline.config import PipelineConfig
from pipeline.step_code import PROJECT_ROOT
from tests.aws import MotoAws

BUCKET = "waveform-test-bucket"
PIPELINE = PipelineConfig().pipeline_name  # the default: what a user who sets no name deploys


@dataclass
class Cli:
    capsys: pytest.CaptureFixture[str]

    def __call__(self, *argv: str) -> tuple[int, str, str]:
        code = cli_main(list(argv))
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err


def deployable_cli(aws: MotoAws, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    """An account with an execution role, a bucket, and the settings users put in their environment."""
    monkeypatch.setenv("SAGEMAKER_ROLE_ARN", aws.create_role("waveform-exec"))
    monkeypatch.setenv("WAVEFORM_BUCKET", aws.create_bucket(BUCKET))
    monkeypatch.setenv("AWS_REGION", aws.region)
    monkeypatch.setenv("WAVEFORM_GROUPS", "30,31,32")
    monkeypatch.chdir(PROJECT_ROOT)
    return Cli(capsys)
