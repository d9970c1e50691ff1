"""A copy of this checkout whose extract step, for one group, waits as long as a file says so.

Tests of a run that is interrupted or killed while a step runs need a step that does not end by itself. Odd
input no longer makes one (the extract step refuses a header that is a named pipe rather than wait on it), so
the step's own code waits, while ``<checkout>/BLOCKED`` exists: removing that file lets the step run as usual,
with the same code (and so the same cache keys). ``python -m pipeline run-local`` started in the copy (its
working folder) runs the copy's ``pipeline`` and ``steps``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from pipeline.step_code import PROJECT_ROOT

FUTURE = "from __future__ import annotations\n"
BLOCKED = "BLOCKED"


def blocking_checkout(root: Path, group: str) -> Path:
    """``root/checkout``: this checkout's ``pipeline`` and ``steps``, group ``group``'s extract step waiting
    while ``root/checkout/BLOCKED`` exists (it does, at first)."""
    checkout = root / "checkout"
    caches = shutil.ignore_patterns("__pycache__")
    for folder in ("pipeline", "steps"):
        shutil.copytree(PROJECT_ROOT / folder, checkout / folder, ignore=caches)
    (checkout / BLOCKED).touch()
    command = checkout / "steps" / "extract" / "command.py"
    blocker = (
        f"{FUTURE}\nimport os as _os\nimport sys as _sys\nimport time as _time\n\n"
        f"if ['--group', {group!r}] in [_sys.argv[i : i + 2] for i in range(len(_sys.argv))]:\n"
        f"    while _os.path.exists({str(checkout / BLOCKED)!r}):  # group {group}'s step waits\n"
        "        _time.sleep(0.05)\n"
    )
    source = command.read_text()
    assert FUTURE in source
    command.write_text(source.replace(FUTURE, blocker, 1))
    return checkout
