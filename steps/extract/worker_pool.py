"""Work in joblib's worker processes (loky's reusable executor), with the death of a worker contained.

A worker that dies (a segmentation fault in a native library, the kernel's OOM killer) breaks the whole
executor: every unfinished future fails with ``TerminatedWorkerError``, the innocent with the guilty. So no
more than ``window`` items are in flight at a time, and when a worker dies only those items are reported as
``WorkerDied``: the caller runs them again, finer or one at a time, until the item that kills a worker on its
own is known. The rest of the work goes on in a fresh executor.

The executor directly rather than ``joblib.Parallel``: same workers, but ``Parallel`` costs ~10 ms a call on
this machine against ~1 ms, a tenth of a 256 MB group's run on two cores.

A worker outlives nothing: if the step's process is killed (``kill -9``, the OOM killer), loky's workers would
go on summarising for no one; each watches its parent and exits when the parent is gone.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

_EXIT_CODES = re.compile(r"exit codes of the workers are (\S.*)")


@dataclass(frozen=True)
class WorkerDied:
    """The item was in flight when a worker process died; it may or may not be the one that killed it."""

    reason: str  # e.g. "exit code SIGKILL(-9)"


def run_in_workers(
    function: Callable[[Item], Result], items: Sequence[Item], workers: int, window: int | None = None
) -> Iterator[tuple[Item, Result | WorkerDied]]:
    """Each item with its result (or ``WorkerDied``), as they complete, from ``workers`` processes with at
    most ``window`` items (default: ``workers``) in flight. ``function`` must be picklable (module level).
    Exceptions raised by ``function`` itself propagate: it is expected to report its own failures."""
    from joblib.externals.loky import get_reusable_executor  # only a run on several workers needs loky

    window = window or workers
    pending = deque(items)
    in_flight: dict[Future[Result], Item] = {}
    parent = (os.getpid(),)
    executor = get_reusable_executor(max_workers=workers, initializer=exit_with_parent, initargs=parent)
    _started.append(executor)
    while pending or in_flight:
        while pending and len(in_flight) < window:
            item = pending.popleft()
            in_flight[executor.submit(function, item)] = item
        done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
        finished = _take(in_flight, done)
        if any(isinstance(outcome, WorkerDied) for _, outcome in finished):
            # Every other unfinished item fails with the executor: wait for them to say so, then start afresh
            # (``get_reusable_executor`` replaces a broken executor).
            wait(in_flight)
            the_rest = _take(in_flight, list(in_flight))
            finished += the_rest
            executor = get_reusable_executor(
                max_workers=workers, initializer=exit_with_parent, initargs=parent
            )
            _started.append(executor)
        yield from finished


_started: list[Executor] = []  # the executors run_in_workers used, for stop_workers


def stop_workers() -> None:
    """Stop the worker processes now, rather than when the interpreter exits. loky stops them from a hook of
    the interpreter's exit that a process forked by ``multiprocessing`` (as ``run-local`` runs a step) never
    runs: its exit then waits ~10 s for the idle workers to time out (seen: a step of 0.9 s took 11 s)."""
    while _started:
        _started.pop().shutdown(wait=True)


PARENT_CHECK_SECONDS = 0.5


def exit_with_parent(parent: int) -> None:
    """A worker's initializer: a daemon thread that ends the worker once ``parent`` is gone (the worker is
    then re-parented, so its parent's id changes), even if that happened before the worker got here."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _take(
    in_flight: dict[Future[Result], Item], futures: Iterable[Future[Result]]
) -> list[tuple[Item, Result | WorkerDied]]:
    """Finished ``futures``, out of ``in_flight``: each one's item, with its result or its worker's death."""
    taken: list[tuple[Item, Result | WorkerDied]] = []
    for future in futures:
        item = in_flight.pop(future)
        try:
            taken.append((item, future.result()))
        except BrokenProcessPool as exc:
            taken.append((item, WorkerDied(_reason(exc))))
    return taken


def _reason(exc: BrokenProcessPool) -> str:
    found = _EXIT_CODES.search(str(exc))
    if found is None:
        return "the executor broke"
    codes = found.group(1).strip().strip("{}")
    return f"exit code {codes}"
