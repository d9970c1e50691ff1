"""What a step process does once forked: run its step's module from its own checkout, as ``python -m`` would.

Kept apart, with nothing but the standard library: the forked process imports this module to find the
function it runs, and nothing of ``steps`` may be imported before the step's own code is, from its checkout.
"""

from __future__ import annotations

import io
import os
import runpy
import signal
import sys


def run_step_module(
    module: str, arguments: list[str], code_root: str, environment: dict[str, str], log: str
) -> None:
    """In the forked step process: run ``module`` as ``python -m`` would, in ``code_root`` with its code
    first on the path, with ``arguments``, exactly ``environment``, and standard output and error into
    ``log`` (after what it holds). Its exit code is the module's (``SystemExit``), 1 for an exception (its
    traceback in the log)."""
    descriptor = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)  # the umask's mode
    os.dup2(descriptor, 1)
    os.dup2(descriptor, 2)
    os.close(descriptor)
    # Ctrl-C was ignored until now (``ignore_interrupts``): from here its traceback goes to the log.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(write_through=True)  # as PYTHONUNBUFFERED=1 would have it
    os.environ.clear()
    os.environ.update(environment)
    os.chdir(code_root)
    # The step's code comes from ``code_root``: drop any ``steps`` module the process got before (a parent's
    # main module, imported again when the process started, may have imported one from another checkout).
    for name in [name for name in sys.modules if name == "steps" or name.startswith("steps.")]:
        del sys.modules[name]
    sys.path.insert(0, code_root)
    sys.argv = [module, *arguments]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
