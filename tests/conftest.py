from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from steps.extract import extract_group as extract_step
from tests.aws import aws  # noqa: F401 — the moto server fixture, for every test module

REAL_DATA = Path(__file__).parent / "data" / "mimic3wdb-real"


@dataclass
class ExtractRun:
    exit_code: int
    stdout: str
    stderr: str
    output_dir: Path

    @property
    def features(self) -> pd.DataFrame:
        return pd.read_parquet(self.output_dir / "features.parquet")

    @property
    def errors(self) -> list[dict[str, Any]]:
        text = (self.output_dir / "errors.jsonl").read_text()
        return [json.loads(line) for line in text.splitlines()]

    @property
    def summary(self) -> dict[str, Any]:
        return json.loads((self.output_dir / "summary.json").read_text())


@pytest.fixture
def real_data() -> Path:
    return REAL_DATA


@pytest.fixture
def extract(tmp_path: Path, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """Run the extract step in-process on a folder, as ``waveform-pipeline extract`` runs it (same parser,
    same ``run``; no SDK imported, so the step tests also run with the container's Python and packages);
    return what it printed and wrote."""
    counter = iter(range(1_000_000))

    def run(input_dir: Path, *extra: str, group: str = "30") -> ExtractRun:
        output_dir = tmp_path / f"out{next(counter)}"
        argv = ["--input-dir", str(input_dir), "--output-dir", str(output_dir), "--group", group]
        code = extract_step.run(extract_step.build_parser().parse_args([*argv, *extra]))
        captured = capsys.readouterr()
        return ExtractRun(code, captured.out, captured.err, output_dir)

    return run
