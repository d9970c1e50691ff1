"""Fixtures of the pipeline tests: ``deployable``, the CLI in-process with a user's usual settings."""

from __future__ import annotations

import pytest

from tests.aws import MotoAws
from tests.pipeline.cli_fixtures import Cli, deployable_cli


@pytest.fixture
def deployable(aws: MotoAws, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    return deployable_cli(aws, monkeypatch, capsys)
