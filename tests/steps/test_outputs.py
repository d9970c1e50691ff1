"""Outputs are written atomically, as one set, with the umask's modes; the container side stays free of the
SageMaker SDK."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from steps.contract.atomic import atomic_path, leftovers, remove_leftovers
from steps.contract.failure import RecordFailure
from steps.contract.outputs import SUMMARY_FILES_KEY, file_digest
from steps.extract.outputs import features_table, write_group_outputs
from tests.paths import ROOT
from tests.steps.container import loaded_modules, package_modules, pinned, third_party_imports
from tests.steps.extract_runs import Extract


@pytest.fixture
def umask_027() -> Iterator[None]:
    previous = os.umask(0o027)
    yield
    os.umask(previous)


FAILURE = RecordFailure("30", "3000001/a.hea", "a", "empty_file", "header a.hea is empty (0 bytes)")


def test_a_failed_write_leaves_the_previous_file_and_no_partial(tmp_path: Path) -> None:
    target = tmp_path / "features.parquet"
    with atomic_path(target) as temporary:
        temporary.write_bytes(b"PAR1 whole")
    before = target.read_bytes()
    with pytest.raises(RuntimeError, match="killed"), atomic_path(target) as temporary:
        temporary.write_bytes(b"PAR1 half a file")
        raise RuntimeError("killed mid-write")
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["features.parquet"]


def test_features_with_another_schema_are_refused(tmp_path: Path) -> None:
    wrong = features_table([]).drop_columns(["start_time"])
    with pytest.raises(ValueError, match="schema"):
        write_group_outputs(tmp_path, wrong, None, [], {"group": "30"})
    assert list(tmp_path.iterdir()) == []


def test_the_summary_names_the_other_two_files_by_size_and_digest(tmp_path: Path) -> None:
    write_group_outputs(tmp_path, features_table([]), None, [FAILURE], {"group": "30"})
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["group"] == "30"
    assert summary[SUMMARY_FILES_KEY] == {
        name: file_digest(tmp_path / name) for name in ("features.parquet", "errors.jsonl")
    }
    assert summary[SUMMARY_FILES_KEY]["errors.jsonl"]["bytes"] == (tmp_path / "errors.jsonl").stat().st_size


def test_a_run_that_fails_while_writing_replaces_none_of_the_three(tmp_path: Path) -> None:
    write_group_outputs(tmp_path, features_table([]), None, [], {"group": "30", "run": 1})
    before = {path.name: path.read_bytes() for path in tmp_path.iterdir()}

    class Unserialisable:
        pass

    with pytest.raises(TypeError):  # the summary fails after features and errors were written
        write_group_outputs(
            tmp_path, features_table([]), None, [FAILURE], {"group": "30", "bad": Unserialisable()}
        )
    assert {path.name: path.read_bytes() for path in tmp_path.iterdir()} == before


def test_leftovers_of_a_killed_run_are_ours_only(tmp_path: Path) -> None:
    ours = [tmp_path / ".features.parquet.k3j_x9a2.partial", tmp_path / ".summary.json.abcdefgh.partial"]
    theirs = [
        tmp_path / ".features.parquet.partial",  # not our shape
        tmp_path / "features.parquet.abcdefgh.partial",
        tmp_path / ".notes.txt.abcdefgh.partial",
        tmp_path / ".features.parquet.abcdefghi.partial",
    ]
    for path in ours + theirs:
        path.write_text("x")
    names = ["features.parquet", "errors.jsonl", "summary.json"]
    assert sorted(leftovers(tmp_path, names)) == sorted(ours)
    remove_leftovers(tmp_path, names)
    assert sorted(tmp_path.iterdir()) == sorted(theirs)


@pytest.mark.usefixtures("umask_027")
def test_outputs_get_the_modes_of_the_umask(tmp_path: Path) -> None:
    write_group_outputs(tmp_path / "new", features_table([]), None, [], {"group": "30"})
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o750
    for path in (tmp_path / "new").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o640, path.name


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
        "windows.parquet",
    ]


def test_step_code_never_imports_the_sagemaker_sdk_and_pins_what_it_imports() -> None:
    # the step's command and engine, and every module of its code package (its folder and the contract)
    files, sagemaker = loaded_modules("steps.extract.command", "steps.extract.extraction")
    assert not sagemaker
    assert files <= package_modules("extract"), files - package_modules("extract")  # all in its package
    imported = third_party_imports({*files, *package_modules("extract")})
    assert {"numpy", "wfdb", "pyarrow", "joblib"} <= imported
    assert imported <= pinned(ROOT / "steps" / "extract" / "requirements.txt"), imported
