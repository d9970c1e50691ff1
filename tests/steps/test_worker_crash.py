"""A worker process that dies (segfault, OOM killer) takes down only the record that killed it, not the group.

The dying is real: the worker process kills itself with the signal a crash or the OOM killer would deliver,
when it comes to the culprit record. Only which record does it is staged, by summarising chunks with
``killed_by_oom`` or ``segfaulting`` (module level, so loky's workers import them by reference).
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from scripts.sample_data.records import digital_signals, write_record
from steps.extract import extraction
from steps.extract.extraction import ChunkResult, WindowOptions
from steps.extract.extraction import summarise_chunk as real_summarise_chunk
from steps.extract.sharding import FolderWork, RecordWork, Work
from tests.paths import ROOT
from tests.steps.extract_runs import Extract

CULPRIT = "3000007_0002"
Summarise = Callable[[list[Work], Path, str], ChunkResult]


def reaches_culprit(items: list[Work]) -> bool:
    for item in items:
        if isinstance(item, FolderWork) and f"{CULPRIT}.hea" in item.listing.headers:
            return True
        if isinstance(item, RecordWork) and item.task.record == CULPRIT:
            return True
    return False


def killed_by_oom(items: list[Work], input_dir: Path, group: str, windows: WindowOptions) -> ChunkResult:
    if reaches_culprit(items):
        os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer does
    return real_summarise_chunk(items, input_dir, group, windows)


def segfaulting(items: list[Work], input_dir: Path, group: str, windows: WindowOptions) -> ChunkResult:
    if reaches_culprit(items):
        ctypes.string_at(0)  # a genuine segmentation fault, as a bug in native code gives
    return real_summarise_chunk(items, input_dir, group, windows)


def write_group(root: Path, record_sets: int = 12) -> Path:
    for folder in range(record_sets):
        for segment in range(1, 4):
            name = f"30{folder:05d}_{segment:04d}"
            signals = digital_signals("80", 50 * segment, 2, folder)
            write_record(root / "30" / f"30{folder:05d}", name, "80", signals)
    return root / "30"


@pytest.mark.parametrize(("summarise", "killed_by"), [(killed_by_oom, "SIGKILL"), (segfaulting, "SIGSEGV")])
def test_a_record_that_kills_its_worker_is_reported_and_the_group_goes_on(
    tmp_path: Path, extract: Extract, monkeypatch: pytest.MonkeyPatch, summarise: Summarise, killed_by: str
) -> None:
    group = write_group(tmp_path)
    healthy = extract(group, "--workers", "2")
    monkeypatch.setattr(extraction, "summarise_chunk", summarise)

    run = extract(group, "--workers", "2")

    assert run.exit_code == 0, run.stderr
    [error] = run.errors
    assert (error["record"], error["error"], error["path"]) == (
        CULPRIT,
        "worker_died",
        f"3000007/{CULPRIT}.hea",
    )
    assert killed_by in error["message"] and "worker process died" in error["message"]
    summary = run.summary
    assert summary["records_discovered"] == healthy.summary["records_discovered"] == 12 * 3
    assert summary["records_summarised"] + summary["records_failed"] == summary["records_discovered"]
    assert summary["records_failed"] == 1 and summary["headers_found"] == healthy.summary["headers_found"]
    expected = healthy.features[healthy.features["record"] != CULPRIT].reset_index(drop=True)
    pd.testing.assert_frame_equal(run.features, expected)


def test_a_split_record_that_kills_its_worker_fails_once_as_one_record(
    tmp_path: Path, extract: Extract, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "30" / "3000007"
    write_record(folder, CULPRIT, "80", digital_signals("80", 300_000, 2, 1))  # long: cut into frame ranges
    write_record(folder, "3000007_0001", "80", digital_signals("80", 1000, 2, 2))
    write_group(tmp_path, record_sets=3)
    monkeypatch.setattr(extraction, "summarise_chunk", killed_by_oom)

    run = extract(tmp_path / "30", "--workers", "2", "--strict")

    assert run.exit_code == 1 and run.stderr.count("\n") == 1 and "worker process died" in run.stderr
    assert [(e["record"], e["error"]) for e in run.errors] == [(CULPRIT, "worker_died")]
    assert CULPRIT not in set(run.features["record"])
    assert run.summary["records_summarised"] + 1 == run.summary["records_discovered"] == 3 * 3 + 2


# The step's command, then the loky workers still running among this process's children. A thread or a child
# that ends while /proc is read (its entry vanishes) is not left running: it is passed over, not an error.
WORKERS_LEFT = """
import sys
from pathlib import Path
from steps.extract.command import main

def read(path):
    try:
        return Path(path).read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return b""

code = main(sys.argv[1:])
children = [pid for task in Path("/proc/self/task").iterdir() for pid in read(task / "children").split()]
commands = [read(f"/proc/{pid.decode()}/cmdline").replace(b"\\0", b" ").decode() for pid in children]
print(code, sum("loky" in command and "resource_tracker" not in command for command in commands))
"""


def test_the_step_stops_its_workers_before_it_returns(tmp_path: Path) -> None:
    """Not left to the interpreter's exit: a step forked by multiprocessing (as run-local runs one) never runs
    loky's exit hook, and waited ~10 s for its idle workers to time out."""
    folder = tmp_path / "30" / "3000001"
    for index in range(4):
        write_record(folder, f"3000001_{index:04d}", "80", digital_signals("80", 2000, 1, index))
    arguments = ["--input-dir", str(tmp_path / "30"), "--output-dir", str(tmp_path / "out"), "--workers", "2"]
    done = subprocess.run(
        [sys.executable, "-c", WORKERS_LEFT, *arguments], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "0 0"  # exit code 0, no worker left
