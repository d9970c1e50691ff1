"""Each step's code package is its own folder plus the contract between the steps, nothing else: a change to
one step's own code changes that step's package digest (so its cache key) and never the other's, whichever
file of it changes; a change to the contract changes both."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline.step_code import PROJECT_ROOT, STEPS, package_files, step_codes

STEP_FILES = {
    step: package_files(PROJECT_ROOT, [f"steps/{step}"]) for step in STEPS
}  # every file of each step's own folder
CONTRACT_FILES = package_files(PROJECT_ROOT, ["steps/__init__.py", "steps/contract"])


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("checkout")
    shutil.copytree(PROJECT_ROOT / "steps", root / "steps", ignore=shutil.ignore_patterns("__pycache__"))
    return root


def digests_after_changing(checkout: Path, file: str) -> tuple[dict[str, str], dict[str, str]]:
    """Every step's package digest before and after one line is added to ``file``; the file is restored."""
    before = {step: code.digest for step, code in step_codes(checkout).items()}
    path = checkout / file
    original = path.read_bytes()
    try:
        path.write_bytes(original + b"\n# changed\n")
        after = {step: code.digest for step, code in step_codes(checkout).items()}
    finally:
        path.write_bytes(original)
    return before, after


@pytest.mark.parametrize(
    ("step", "file"), [(step, file) for step, files in STEP_FILES.items() for file in files]
)
def test_a_change_to_one_steps_code_changes_its_package_only(checkout: Path, step: str, file: str) -> None:
    before, after = digests_after_changing(checkout, file)
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {step}, f"changing {file} changed the packages of {sorted(changed)}"


@pytest.mark.parametrize("file", CONTRACT_FILES)
def test_a_change_to_the_contract_changes_every_package(checkout: Path, file: str) -> None:
    before, after = digests_after_changing(checkout, file)
    assert all(before[step] != after[step] for step in STEPS)


def test_the_signal_name_table_is_combine_code_and_the_statistics_are_extract_code() -> None:
    assert "steps/combine/signal_names.py" in STEP_FILES["combine"]
    assert "steps/extract/statistics.py" in STEP_FILES["extract"]
    every_file = {file for files in STEP_FILES.values() for file in files} | set(CONTRACT_FILES)
    python_files = {p.relative_to(PROJECT_ROOT).as_posix() for p in (PROJECT_ROOT / "steps").rglob("*.py")}
    assert python_files <= every_file, python_files - every_file  # no module outside every package
