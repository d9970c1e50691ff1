"""Outputs are written atomically and the container side stays free of the SageMaker SDK."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from steps.waveforms.outputs import atomic_path, features_table, write_features

ROOT = Path(__file__).resolve().parents[1]


def test_a_failed_write_leaves_the_previous_file_and_no_partial(tmp_path: Path) -> None:
    target = tmp_path / "features.parquet"
    write_features(features_table([]), target)
    before = target.read_bytes()
    with pytest.raises(RuntimeError, match="killed"), atomic_path(target) as temporary:
        temporary.write_bytes(b"PAR1 half a file")
        raise RuntimeError("killed mid-write")
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["features.parquet"]


def test_features_with_another_schema_are_refused(tmp_path: Path) -> None:
    wrong = features_table([]).drop_columns(["start_time"])
    with pytest.raises(ValueError, match="schema"):
        write_features(wrong, tmp_path / "features.parquet")
    assert list(tmp_path.iterdir()) == []


def test_the_target_appears_only_when_complete(tmp_path: Path) -> None:
    target = tmp_path / "summary.json"
    with atomic_path(target) as temporary:
        temporary.write_text("half")
        assert not target.exists()  # a job killed here leaves only a dot-named .partial file
        assert temporary.name.startswith(".summary.json.") and temporary.name.endswith(".partial")
    assert target.read_text() == "half"


def test_outputs_of_a_rerun_replace_whole_files(real_data: Path, extract) -> None:  # type: ignore[no-untyped-def]
    run = extract(real_data / "30")
    again = extract(real_data / "30")
    assert run.features.equals(again.features)
    assert sorted(p.name for p in run.output_dir.iterdir()) == [
        "errors.jsonl",
        "features.parquet",
        "summary.json",
    ]


def test_step_code_never_imports_the_sagemaker_sdk() -> None:
    code = (
        "import sys, steps.extract.extract_group; print(any(m.startswith('sagemaker') for m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.strip() == "False"


def test_requirements_list_every_third_party_import_of_the_step() -> None:
    requirements = {
        line.split("==")[0].strip().lower()
        for line in (ROOT / "steps" / "extract" / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    imported: set[str] = set()
    for path in [*(ROOT / "steps" / "waveforms").glob("*.py"), *(ROOT / "steps" / "extract").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = {name for name in imported if name not in sys.stdlib_module_names and name != "steps"}
    assert third_party <= requirements, third_party - requirements
