"""Imported first by the server step processes are forked from, and only there: it makes that process ignore
Ctrl-C (SIGINT), before it imports the libraries it preloads.

multiprocessing's forkserver ignores SIGINT once its preloading is done, and gives each process it forks the
handler it had before; with this, that handler is "ignore". A step process therefore ignores a Ctrl-C until
its standard error is its log (``step_process.run_step_module`` then takes the default handler back): a Ctrl-C
landing in multiprocessing's bootstrap, before that, would print ``Process <step>:`` and a traceback on the
run's terminal. A step that ignored one is still ended: the run stops every step it started
(``processes.StepProcesses``). The server itself is spared a traceback for a Ctrl-C during its imports.
"""

import signal

signal.signal(signal.SIGINT, signal.SIG_IGN)
