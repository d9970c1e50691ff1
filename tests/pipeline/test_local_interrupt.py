"""``run-local`` and Ctrl-C: the run stops with one line, keeps every step that finished, and a rerun resumes.

The run is a real ``waveform-pipeline run-local`` process in a session of its own, interrupted as a terminal
interrupts it: SIGINT to the whole process group, once the cache records some steps but not all. And when
the SIGINT reaches the runner but not a step (a step started just after the Ctrl-C, ``kill -INT`` of the
runner), the runner must end that step itself rather than wait for it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import psutil
import pytest

from pipeline.local.cache import CACHE_FILE
from pipeline.local.run import run_locally
from pipeline.step_code import PROJECT_ROOT
from scripts.sample_data.mimic_sample import generate
from tests.pipeline.blocking_checkout import BLOCKED, blocking_checkout

# More groups than the one CPU the run may use (--jobs 1): the extract steps run one after another, so the
# first is remembered well before the last.
GROUPS = ["30", "31", "32", "33", "39"]  # 39 holds the planted defects
STEPS = {f"Extract{group}" for group in GROUPS} | {"Combine"}
GROUP_FILES = {"features.parquet", "windows.parquet", "errors.jsonl", "summary.json"}
DEADLINE = 300.0  # seconds; only ever reached when something is wrong (a run takes seconds)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sample") / "data"
    generate(root, 3.0, groups=GROUPS)
    return root


@pytest.fixture(scope="module")
def uninterrupted_rows(sample: Path, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """The dataset of a run of the same data that nobody interrupted."""
    result = run_locally(sample, tmp_path_factory.mktemp("uninterrupted"), jobs=2, progress=False)
    return pd.read_parquet(result.output_of("Combine") / "dataset")


@pytest.fixture
def runs() -> Iterator[list[subprocess.Popen[str]]]:
    """The run-local processes a test starts; whatever is left of their process groups is killed after it."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        with contextlib.suppress(ProcessLookupError):  # a failed test's leftovers
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def start_run(
    data: Path, output: Path, runs: list[subprocess.Popen[str]], *extra: str, checkout: Path = PROJECT_ROOT
) -> subprocess.Popen[str]:
    """``run-local`` of the code in ``checkout`` (its working folder), as a process of its own."""
    command = [
        sys.executable,
        "-m",
        "pipeline",
        "run-local",
        "--input-dir",
        str(data),
        "--output-dir",
        str(output),
    ]
    process = subprocess.Popen(
        [*command, "--jobs", "1", "--no-progress", *extra],
        cwd=checkout,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, which a terminal's Ctrl-C reaches as a whole
        preexec_fn=_interruptible,
    )
    runs.append(process)
    return process


def _interruptible() -> None:
    """In the run's process, before Python starts: Ctrl-C as a terminal gives it, whatever this test process
    inherited (started in the background by a non-interactive shell, it ignores SIGINT, and so would the run,
    as Python keeps an ignored SIGINT ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def recorded_steps(output: Path) -> set[str]:
    """Steps the cache remembers (it is replaced whole on each write, so it is never read half-written)."""
    try:
        return set(json.loads((output / CACHE_FILE).read_text(encoding="utf-8")))
    except FileNotFoundError:
        return set()


def finish(process: subprocess.Popen[str], what: str, deadline: float = DEADLINE) -> tuple[str, str]:
    try:
        return process.communicate(timeout=deadline)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{what}: still running after {deadline:.0f} s")


def live_processes_in_group(group: int) -> list[psutil.Process]:
    """Processes of the process group that still run (zombies, which only await their reaper, are not)."""
    found = []
    for process in psutil.process_iter(["status", "cmdline"]):
        try:
            in_group = os.getpgid(process.pid) == group
        except OSError:  # gone meanwhile
            continue
        if in_group and process.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(process)
    return found


def step_processes(run: subprocess.Popen[str], step: str = "") -> list[str]:
    """The run's live step processes (of the steps whose names start with ``step``), each as its pid and the
    log it writes: a step process (and any worker of it) writes its output into ``logs/<step>.log``."""
    found = []
    for process in live_processes_in_group(run.pid):
        try:
            files = [file.path for file in process.open_files()]
        except psutil.Error:  # gone meanwhile
            continue
        logs = [path for path in files if re.search(rf"/logs/{re.escape(step)}[^/]*\.log$", path)]
        if logs:
            found.append(f"{process.pid} writing {logs[0]}")
    return found


def assert_no_staging_left(execution: Path) -> None:
    staging = execution / ".staging"
    left = list(staging.iterdir()) if staging.exists() else []
    assert not left, f"left in staging: {left}"


def test_ctrl_c_stops_the_run_in_one_line_and_a_rerun_resumes(
    sample: Path, uninterrupted_rows: pd.DataFrame, tmp_path: Path, runs: list[subprocess.Popen[str]]
) -> None:
    output = tmp_path / "out"
    run = start_run(sample, output, runs)
    deadline = time.monotonic() + DEADLINE
    while not recorded_steps(output) and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    at_interrupt = recorded_steps(output)
    if run.poll() is not None:
        out, err = run.communicate()
        pytest.fail(f"the run ended (exit {run.returncode}) before it could be interrupted:\n{out}{err}")
    assert at_interrupt, f"no step was remembered within {DEADLINE:.0f} s"
    assert at_interrupt < STEPS, "the cache recorded every step at once, not each as it finished"
    os.killpg(run.pid, signal.SIGINT)  # what Ctrl-C in its terminal does
    out, err = finish(run, "the interrupted run")

    # One line, no traceback (the steps' own output goes to their logs), exit 130.
    assert (run.returncode, err) == (130, "error: interrupted\n"), out + err
    assert "step(s) ran" not in out

    # Nothing of the run is left running: not its steps, at once, and not their helpers either.
    assert not step_processes(run), f"step processes outlived the run: {step_processes(run)}"
    while live_processes_in_group(run.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = live_processes_in_group(run.pid)
    assert not left, f"processes of the run still running: {[p.info['cmdline'] for p in left]}"

    # Every step that finished is remembered, and only those have outputs: each whole, none half-written.
    remembered = recorded_steps(output)
    assert at_interrupt <= remembered < STEPS
    (execution,) = (p for p in output.iterdir() if p.name.startswith("local-"))
    groups = execution / "groups"
    written = {f"Extract{p.name}" for p in groups.iterdir()} if groups.exists() else set()
    assert written == remembered
    assert not (execution / "combined").exists()
    for step in remembered:
        folder = groups / step.removeprefix("Extract")
        assert {p.name for p in folder.iterdir()} == GROUP_FILES, f"{step}: not its whole output"
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        assert len(pd.read_parquet(folder / "features.parquet")) == summary["rows"]
        assert summary["records_discovered"] == summary["records_summarised"] + summary["records_failed"]
    assert_no_staging_left(execution)

    # The same command again resumes: the steps that finished are reused, the rest run, the dataset is whole.
    rerun = start_run(sample, output, runs)
    out, err = finish(rerun, "the rerun")
    assert rerun.returncode == 0, err
    reused = sorted(remembered)  # the definition's order
    ran = len(STEPS) - len(reused) + 1  # and the inventory, which runs every time
    assert f"{ran} step(s) ran, {len(reused)} reused from the cache" in out
    assert f"reused: {', '.join(reused)} (from {execution.name})" in out
    dataset = Path(next(line for line in out.splitlines() if line.startswith("dataset:")).split(": ", 1)[1])
    rows = pd.read_parquet(dataset)
    key = ["patient_group", "record_set", "record", "signal_index"]
    assert len(rows) == len(uninterrupted_rows)
    assert sorted(rows[key].astype(str).itertuples(index=False)) == sorted(
        uninterrupted_rows[key].astype(str).itertuples(index=False)
    )
    assert sorted(rows["patient_group"].astype(str).unique()) == GROUPS


def test_ctrl_c_ends_a_step_that_the_signal_did_not_reach(
    sample: Path, tmp_path: Path, runs: list[subprocess.Popen[str]]
) -> None:
    data = tmp_path / "data"
    for group in ["30", "31"]:
        shutil.copytree(sample / group, data / group)
    checkout = blocking_checkout(tmp_path, "31")  # group 31's step runs until it is ended
    output = tmp_path / "out"
    run = start_run(data, output, runs, checkout=checkout)
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline and run.poll() is None and not step_processes(run, "Extract31"):
        time.sleep(0.02)
    assert run.poll() is None, f"the run ended (exit {run.returncode}) before group 31's step started"
    assert step_processes(run, "Extract31"), f"group 31's step did not start within {DEADLINE:.0f} s"
    os.kill(run.pid, signal.SIGINT)  # the runner only: the step never sees this Ctrl-C
    out, err = finish(run, "the run, waiting for a step that never ends", deadline=120)
    assert (run.returncode, err) == (130, "error: interrupted\n"), out + err
    assert not step_processes(run), f"step processes outlived the run: {step_processes(run)}"
    assert recorded_steps(output) == {"Extract30"}
    (execution,) = (p for p in output.iterdir() if p.name.startswith("local-"))
    assert {p.name for p in (execution / "groups").iterdir()} == {"30"}
    assert_no_staging_left(execution)

    (checkout / BLOCKED).unlink()  # group 31's step runs as usual now, with the same code
    rerun = start_run(data, output, runs, checkout=checkout)
    out, err = finish(rerun, "the rerun")
    assert rerun.returncode == 0, err
    assert (
        "3 step(s) ran, 1 reused from the cache" in out  # the inventory, group 31, the combine step
        and f"reused: Extract30 (from {execution.name})" in out
    )
