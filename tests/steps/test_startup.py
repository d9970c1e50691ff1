"""A step imports what its work needs, when it needs it: its ``--help`` imports no numerical library, and an
extract run over records in the byte-aligned formats never imports wfdb (its reader serves only bit-packed
and FLAC signal files)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scripts.sample_data.records import digital_signals, write_record
from tests.fresh_interpreter import modules_after
from tests.paths import REAL_DATA

HEAVY = {"numpy", "pandas", "pyarrow", "wfdb", "joblib", "matplotlib", "awswrangler", "sagemaker", "boto3"}


def modules_loaded(module: str, *argv: str) -> set[str]:
    """Top-level names of the modules loaded by running ``module`` as the container does, with ``argv``."""
    return modules_after(module, list(argv))[1]


@pytest.mark.parametrize("step", ["extract", "combine"])
def test_help_imports_no_numerical_library(step: str) -> None:
    loaded = modules_loaded(f"steps.{step}.command", "--help")
    assert not loaded & HEAVY, loaded & HEAVY


def test_extracting_format_80_and_16_records_never_imports_wfdb(tmp_path: Path) -> None:
    group = tmp_path / "30"
    write_record(group / "3000001", "3000001_0001", "16", digital_signals("16", 500, 2, 1))
    for source in (REAL_DATA / "30" / "3000003").iterdir():  # format 80, as MIMIC-III records are
        (group / "3000003").mkdir(exist_ok=True)
        (group / "3000003" / source.name).write_bytes(source.read_bytes())
    output = ["--output-dir", str(tmp_path / "o"), "--workers", "1"]  # in this process: we see its imports
    loaded = modules_loaded("steps.extract.command", "--input-dir", str(group), *output)
    assert json.loads((tmp_path / "o" / "summary.json").read_text())["records_summarised"] == 2
    assert {"numpy", "pyarrow"} <= loaded and "wfdb" not in loaded


def test_a_bit_packed_record_is_read_with_wfdb(tmp_path: Path) -> None:
    write_record(tmp_path / "30" / "3000001", "3000001_0001", "212", digital_signals("212", 500, 2, 1))
    output = ["--output-dir", str(tmp_path / "o"), "--workers", "1"]
    loaded = modules_loaded("steps.extract.command", "--input-dir", str(tmp_path / "30"), *output)
    assert json.loads((tmp_path / "o" / "summary.json").read_text())["records_summarised"] == 1
    assert "wfdb" in loaded
