"""Fixtures of the step tests: the extract step run in-process, as its command line runs it."""

from __future__ import annotations

from pathlib import Path

import pytest

from steps.extract import command as extract_command
from tests.steps.extract_runs import Extract, ExtractRun


@pytest.fixture
def extract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Extract:
    """Run the extract step in-process on a folder, as ``waveform-pipeline extract`` runs it (same parser,
    same ``run``; no SDK imported, so the step tests also run with the container's Python and packages);
    return what it printed and wrote."""
    counter = iter(range(1_000_000))

    def run(input_dir: Path, *extra: str, group: str = "30") -> ExtractRun:
        output_dir = tmp_path / f"out{next(counter)}"
        argv = ["--input-dir", str(input_dir), "--output-dir", str(output_dir), "--group", group]
        code = extract_command.run(extract_command.build_parser().parse_args([*argv, *extra]))
        captured = capsys.readouterr()
        return ExtractRun(code, captured.out, captured.err, output_dir)

    return run
