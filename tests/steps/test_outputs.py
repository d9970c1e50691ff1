"""Outputs are written atomically and the container side stays free of the SageMaker SDK."""

from __future__ import annotations

from pathlib import Path

import pytest

from steps.contract.atomic import atomic_path
from steps.extract.outputs import features_table, write_features
from tests.paths import ROOT
from tests.steps.container import loaded_modules, package_modules, pinned, third_party_imports
from tests.steps.extract_runs import Extract


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


def test_outputs_of_a_rerun_replace_whole_files(real_data: Path, extract: Extract) -> None:
    run = extract(real_data / "30")
    again = extract(real_data / "30")
    assert run.features.equals(again.features)
    assert sorted(p.name for p in run.output_dir.iterdir()) == [
        "errors.jsonl",
        "features.parquet",
        "summary.json",
    ]


def test_step_code_never_imports_the_sagemaker_sdk_and_pins_what_it_imports() -> None:
    # the step's command and engine, and every module of its code package (its folder and the contract)
    files, sagemaker = loaded_modules("steps.extract.command", "steps.extract.extraction")
    assert not sagemaker
    assert files <= package_modules("extract"), files - package_modules("extract")  # all in its package
    imported = third_party_imports({*files, *package_modules("extract")})
    assert {"numpy", "wfdb", "pyarrow", "joblib"} <= imported
    assert imported <= pinned(ROOT / "steps" / "extract" / "requirements.txt"), imported
