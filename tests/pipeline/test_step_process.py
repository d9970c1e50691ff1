"""A local run's step process and Ctrl-C: ignored until the step's output goes to its log, then as usual.

A Ctrl-C reaches every process of the terminal's process group, step processes too; one landing while
multiprocessing starts a step process, before its standard error is its log, printed ``Process Extract31:``
on the run's terminal (seen once in a clean-clone run of the interrupt test). The run ends every step it
started anyway (``test_local_interrupt``), so a step process ignores it until then.
"""

from __future__ import annotations

import os
import signal
import textwrap
from pathlib import Path

from pipeline.local.processes import _FORKSERVER
from pipeline.local.step_process import run_step_module


def _interrupted_at_start(report: str) -> None:
    """In a step process, before any of the step's code: a Ctrl-C, then a note that the process went on."""
    os.kill(os.getpid(), signal.SIGINT)
    signal.pthread_sigmask(signal.SIG_BLOCK, [])  # a point at which a pending handler would have run
    Path(report).write_text(f"went on; SIGINT handler {signal.getsignal(signal.SIGINT)!r}", encoding="utf-8")


def test_a_ctrl_c_before_the_step_runs_is_ignored(tmp_path: Path) -> None:
    report = tmp_path / "report"
    process = _FORKSERVER.Process(target=_interrupted_at_start, args=(str(report),), name="Extract31")
    process.start()
    process.join(60)
    assert process.exitcode == 0
    assert report.read_text(encoding="utf-8") == f"went on; SIGINT handler {signal.SIG_IGN!r}"


def test_once_its_output_goes_to_its_log_a_step_is_interrupted_as_python_is(tmp_path: Path) -> None:
    """The step's module gets Python's handler back: a Ctrl-C is a KeyboardInterrupt, its traceback in the
    log and the exit code 1, as for ``python -m`` in a terminal."""
    (tmp_path / "probe.py").write_text(
        textwrap.dedent(
            """
            import os, signal, sys
            print("handler is Python's:", signal.getsignal(signal.SIGINT) is signal.default_int_handler)
            os.kill(os.getpid(), signal.SIGINT)
            signal.pthread_sigmask(signal.SIG_BLOCK, [])
            print("not interrupted")
            """
        ),
        encoding="utf-8",
    )
    log = tmp_path / "probe.log"
    process = _FORKSERVER.Process(
        target=run_step_module, args=("probe", [], str(tmp_path), dict(os.environ), str(log)), name="probe"
    )
    process.start()
    process.join(60)
    text = log.read_text(encoding="utf-8")
    assert process.exitcode == 1, text
    assert text.startswith("handler is Python's: True\n"), text
    assert "not interrupted" not in text and text.rstrip().endswith("KeyboardInterrupt"), text
