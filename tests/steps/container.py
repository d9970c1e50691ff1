"""What a step's container runs (its command, from the unpacked code) and must install (the third-party
imports of the modules its command loads)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from tests.paths import ROOT


def container_command(step: str) -> list[str]:
    """The step's command as the container runs it (``python3 -m steps.<step>.command``, from the code's
    folder: run it with ``cwd=ROOT``), with this interpreter."""
    return [sys.executable, "-m", f"steps.{step}.command"]


def package_modules(step: str) -> set[Path]:
    """The Python files of a step's code package: its own folder and the contract between the steps."""
    return {*(ROOT / "steps" / step).rglob("*.py"), *(ROOT / "steps" / "contract").rglob("*.py")}


def loaded_modules(*modules: str) -> tuple[set[Path], bool]:
    """The project's files a fresh interpreter loads for ``modules``; and whether the SageMaker SDK came."""
    code = (
        f"import sys, json, {', '.join(modules)}; "
        "print(json.dumps([[m.__file__ for n, m in sys.modules.items() if n.startswith('steps.')], "
        "any(n.startswith('sagemaker') for n in sys.modules)]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    files, sagemaker = json.loads(result.stdout)
    return {Path(file) for file in files}, sagemaker


def third_party_imports(paths: set[Path]) -> set[str]:
    imported: set[str] = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    return {name for name in imported if name not in sys.stdlib_module_names and name != "steps"}


def pinned(requirements: Path) -> set[str]:
    lines = requirements.read_text().splitlines()
    return {
        line.split("==")[0].strip().lower() for line in lines if line.strip() and not line.startswith("#")
    }
