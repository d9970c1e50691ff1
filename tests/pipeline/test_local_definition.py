"""The definition a local run executes is rebuilt exactly when something it is built from changed, and reused
otherwise: a rerun then imports no SageMaker SDK at all."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pipeline.local.definition import DEFINITION_FILE, definition_key, local_config, local_definition
from pipeline.step_code import PROJECT_ROOT, step_codes
from tests.fresh_interpreter import modules_after

GROUPS = ["30", "32"]


@pytest.fixture(scope="module")
def built() -> dict[str, object]:
    return local_definition(GROUPS)  # built by the SDK, nothing kept


def test_a_kept_definition_is_the_built_one_and_is_reused(built: dict[str, object], tmp_path: Path) -> None:
    first = local_definition(GROUPS, kept_in=tmp_path)
    assert first == built
    kept = json.loads((tmp_path / DEFINITION_FILE).read_text())
    kept["definition"]["Version"] = "reused"  # marks the kept copy: a rebuild would not return this
    (tmp_path / DEFINITION_FILE).write_text(json.dumps(kept))
    assert local_definition(GROUPS, kept_in=tmp_path)["Version"] == "reused"
    assert local_definition(["30"], kept_in=tmp_path)["Version"] != "reused"  # other groups: built anew


@pytest.mark.parametrize("content", ["{", "[]", '{"key": 1}', "\udcff"])
def test_an_unreadable_kept_definition_is_built_anew(
    built: dict[str, object], tmp_path: Path, content: str
) -> None:
    (tmp_path / DEFINITION_FILE).write_bytes(content.encode("utf-8", "surrogateescape"))
    assert local_definition(GROUPS, kept_in=tmp_path) == built


def checkout_copy(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    for folder in ("steps", "pipeline"):
        shutil.copytree(PROJECT_ROOT / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def test_the_key_follows_everything_the_definition_is_built_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = checkout_copy(tmp_path)
    config = local_config(GROUPS, root)
    key = definition_key(config, step_codes(root), root)
    assert key is not None and key == definition_key(config, step_codes(root), root)

    with open(root / "steps" / "combine" / "report.py", "a") as source:  # a step's code
        source.write("\n# changed\n")
    assert definition_key(config, step_codes(root), root) != key
    key = definition_key(config, step_codes(root), root)

    with open(root / "pipeline" / "processing_steps.py", "a") as source:  # the code that drives the SDK
        source.write("\n# changed\n")
    assert definition_key(config, step_codes(root), root) != key
    key = definition_key(config, step_codes(root), root)

    assert definition_key(local_config(["30"], root), step_codes(root), root) != key  # the settings

    defaults = tmp_path / "sagemaker-config.yaml"  # the SDK's defaults file, which can change a definition
    defaults.write_text("SchemaVersion: '1.0'\n")
    monkeypatch.setenv("SAGEMAKER_USER_CONFIG_OVERRIDE", str(defaults))
    with_defaults = definition_key(config, step_codes(root), root)
    assert with_defaults not in (None, key)
    defaults.write_text("SchemaVersion: '1.0'\nSageMaker: {}\n")
    assert definition_key(config, step_codes(root), root) != with_defaults

    monkeypatch.setenv("SAGEMAKER_ADMIN_CONFIG_OVERRIDE", "s3://bucket/config.yaml")  # cannot be known here
    assert definition_key(config, step_codes(root), root) is None


def test_a_rerun_of_the_same_code_imports_no_sagemaker_module(real_data: Path, tmp_path: Path) -> None:
    argv = [
        "run-local",
        "--input-dir",
        str(real_data),
        "--output-dir",
        str(tmp_path / "out"),
        "--no-progress",
    ]
    exit_code, modules = modules_after("pipeline", argv)
    assert exit_code == 0 and "sagemaker" in modules  # the first run builds the definition
    exit_code, modules = modules_after("pipeline", [*argv, "--no-cache"])
    assert exit_code == 0 and not {name for name in modules if name.startswith("sagemaker")}
