"""What a test's run of the extract step gives back (``ExtractRun``), and the ``extract`` fixture's type."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from steps.contract.outputs import DIGESTED_FILES, SUMMARY_FILE, SUMMARY_FILES_KEY, WINDOWS_FILE, file_digest


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
        return dict(json.loads((self.output_dir / "summary.json").read_text()))


class Extract(Protocol):
    """Runs the extract step on a folder with extra command-line arguments; what ``extract`` yields."""

    def __call__(self, input_dir: Path, *extra: str, group: str = "30") -> ExtractRun: ...


def seal(folder: Path) -> None:
    """Make ``folder``'s summary.json describe its files as they are now: a test that alters an output on
    purpose, to reach a check the combine step makes after the files' digests, keeps the set whole."""
    summary = json.loads((folder / SUMMARY_FILE).read_text(encoding="utf-8"))
    names = [*DIGESTED_FILES, *([WINDOWS_FILE] if (folder / WINDOWS_FILE).is_file() else [])]
    summary[SUMMARY_FILES_KEY] = {name: file_digest(folder / name) for name in names}
    (folder / SUMMARY_FILE).write_text(json.dumps(summary), encoding="utf-8")
