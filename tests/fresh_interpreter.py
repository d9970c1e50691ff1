"""Running a command in a fresh interpreter, to see which modules it imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.paths import ROOT


def modules_after(module: str, argv: list[str], cwd: Path = ROOT) -> tuple[int, set[str]]:
    """Run ``python -m MODULE ARGV`` in a fresh interpreter (in ``cwd``, where the container runs a step's
    command); return its exit code and the top-level names of every module it imported."""
    code = (
        "import json, runpy, sys\n"
        f"sys.argv = [{module!r}, *{argv!r}]\n"
        "try:\n"
        f"    runpy.run_module({module!r}, run_name='__main__', alter_sys=True)\n"
        "    code = 0\n"
        "except SystemExit as exit:\n"
        "    code = exit.code if isinstance(exit.code, int) else 1\n"
        "sys.stdout.flush()\n"
        "print('\\nMODULES', json.dumps([code, sorted({name.split('.')[0] for name in sys.modules})]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, check=False
    )
    assert "MODULES" in result.stdout, result.stderr
    exit_code, modules = json.loads(result.stdout.rsplit("MODULES", 1)[1])
    return exit_code, set(modules)
