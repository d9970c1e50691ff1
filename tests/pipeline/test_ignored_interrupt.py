"""A Ctrl-C that lands where the interpreter can only ignore it (a weakref callback, as an import's module
lock has) ends the command in one line, not in an "Exception ignored" traceback and a command carrying on."""

from __future__ import annotations

import subprocess
import sys

from tests.paths import ROOT

# A command whose work ends in such a callback, raising KeyboardInterrupt as a Ctrl-C arriving there would.
SCRIPT = """
import sys
import weakref
from pipeline import cli
from pipeline.commands import local

class Held:
    pass

def work(args):
    held = Held()
    def callback(_):
        raise KeyboardInterrupt
    ref = weakref.ref(held, callback)
    del held
    print("work done")
    return 0

local.run_local = work
sys.exit(cli.main(["run-local", "--input-dir", ".", "--output-dir", "out"]))
"""


def test_an_interrupt_the_interpreter_ignores_still_ends_the_command_in_one_line() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True)
    assert (done.returncode, done.stderr) == (130, "error: interrupted\n")
    assert "Exception ignored" not in done.stderr
