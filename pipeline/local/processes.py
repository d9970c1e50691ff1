"""Running a wave of ready steps as processes on this machine, the CPUs shared between them.

Each step runs its command (``StepCode.module``, as ``python -m`` runs it, in the checkout its code comes
from) with the definition's container arguments as the service resolves them, less the
cloud-only ones (``dag.local_arguments``), in a staging folder laid out like ``/opt/ml/processing``: its
inputs linked in (a folder input as one link; a manifest input as a folder holding a link to each file the
manifest names, as the service downloads exactly those), its output moved to the resolved destination only
once the step succeeded, and a job
configuration shaped like SageMaker's beside them (``job_config``). Ctrl-C ends the steps still running,
whether the signal reached them or not.

Why step processes are forked from a server rather than started afresh: a step of a small group works for
tens of milliseconds but spends ~0.7 s importing numpy, pyarrow and pandas, and a local run starts a step per
group. The server (multiprocessing's forkserver) imports those libraries once; each step process is forked
from it, still a process of its own, and runs the step's module as ``__main__`` with the step's arguments,
environment, working folder and log, importing the step's own code afresh from its checkout.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shlex
import shutil
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from pathlib import Path, PurePosixPath
from typing import Any

from steps.contract.atomic import file_mode, folder_mode
from steps.contract.job_config import JOB_CONFIG_VARIABLE

from ..dag import CONTAINER_ROOT, MANIFEST_FILE, DagStep, local_arguments
from ..definition_eval import Evaluation, StepDone, dependencies
from ..errors import LocalRunError
from ..parameters import parameter_text
from ..step_code import StepCode
from .job_config import local_job_config, write_job_config
from .step_process import run_step_module

# What the server the step processes are forked from imports once: first what makes it (and so each step
# process, until its output goes to its log) ignore Ctrl-C, then the libraries the steps' code imports (see
# their requirements.txt). A library missing here costs only time; one that is not installed is skipped.
PRELOADED = (
    "pipeline.local.ignore_interrupts",  # first: see its docstring
    "numpy",
    "pandas",
    "pyarrow.parquet",
    "pyarrow.dataset",
    "joblib",
    "matplotlib.figure",
    "matplotlib.backends.backend_agg",
)
STAGING = ".staging"  # in each execution folder: a folder per running step, laid out like /opt/ml/processing
_FORKSERVER = multiprocessing.get_context("forkserver")
_FORKSERVER.set_forkserver_preload(list(PRELOADED))


@dataclass(frozen=True)
class StepCommand:
    """How one step runs here: its module and arguments (container paths as the definition gives them), its
    local inputs and where its output goes."""

    step: str
    module: str  # what runs, as ``python -m`` runs it
    arguments: list[str]
    inputs: dict[str, str]  # container path -> local source folder
    output: tuple[str, str]  # container path -> local destination
    request: Mapping[str, Any] = field(
        default_factory=dict
    )  # the step's arguments in the definition, resolved
    # container path -> local manifest naming the files to stage there
    manifests: dict[str, str] = field(default_factory=dict)

    @property
    def environment(self) -> dict[str, str]:
        """The job's environment as the definition gives it, resolved."""
        return {
            name: parameter_text(value) for name, value in (self.request.get("Environment") or {}).items()
        }


def step_command(step: Mapping[str, Any], evaluation: Evaluation, code: StepCode) -> StepCommand:
    """What the local run executes for a step of the definition, whose code is ``code``."""
    arguments = evaluation.value(step["Arguments"])
    local = [  # not the code package (s3://), which runs from the checkout
        item["S3Input"]
        for item in arguments.get("ProcessingInputs", [])
        if not item["S3Input"]["S3Uri"].startswith("s3://")
    ]
    inputs = {i["LocalPath"]: i["S3Uri"] for i in local if i.get("S3DataType") != MANIFEST_FILE}
    manifests = {i["LocalPath"]: i["S3Uri"] for i in local if i.get("S3DataType") == MANIFEST_FILE}
    (output,) = arguments["ProcessingOutputConfig"]["Outputs"]
    return StepCommand(
        step=step["Name"],
        module=code.module,
        arguments=local_arguments(
            [parameter_text(a) for a in arguments["AppSpecification"]["ContainerArguments"]]
        ),
        inputs=inputs,
        manifests=manifests,
        output=(output["S3Output"]["LocalPath"], output["S3Output"]["S3Uri"]),
        request=arguments,
    )


def stage_manifest(manifest: Path, folder: Path) -> None:
    """Make ``folder`` hold a link to each file the manifest names (``[{"prefix": P}, key, ...]``), at the
    key's path, as the service downloads each ``P + key`` to ``<local path>/<key>``.

    A local listing also names what the extract step reports rather than reads (``steps.inventory.listing``):
    a folder that cannot be listed, or a second way to a folder already listed. Such a folder's link points
    at the folder staged for it, when there is one, so the step sees a folder it has already read, as it would
    in the group folder itself; otherwise at the folder."""
    try:
        entries = json.loads(manifest.read_text(encoding="utf-8"))
        prefix = entries[0]["prefix"]
        keys = entries[1:]
    except (OSError, ValueError, LookupError, TypeError) as exc:
        raise LocalRunError(f"manifest {manifest} cannot be read as a manifest: {exc}") from None
    folder.mkdir(parents=True, exist_ok=True)
    staged = {os.path.realpath(prefix): folder}  # a real source folder -> the folder staged for it
    for key in keys:
        parts = PurePosixPath(str(key)).parts
        if not parts or parts[0] == "/" or ".." in parts:
            raise LocalRunError(f"manifest {manifest}: {key!r} is not a path inside its prefix")
        for depth in range(1, len(parts)):
            parent = folder.joinpath(*parts[:depth])
            if not parent.is_dir():
                parent.mkdir()
                staged.setdefault(os.path.realpath(prefix + "/".join(parts[:depth])), parent)
        source = f"{prefix}{key}"
        target = staged.get(os.path.realpath(source)) if os.path.isdir(source) else None
        folder.joinpath(*parts).symlink_to(target or source)


def with_umask_modes(folder: Path) -> None:
    """Give a step's output the modes the umask gives, as an upload and a download would: a step may have
    written with ``tempfile``'s 0600/0700 (the "upload" here is a rename, which keeps modes)."""
    os.chmod(folder, folder_mode())
    for root, folders, files in os.walk(folder):
        for name in folders:
            if not os.path.islink(os.path.join(root, name)):
                os.chmod(os.path.join(root, name), folder_mode())
        for name in files:
            if not os.path.islink(os.path.join(root, name)):
                os.chmod(os.path.join(root, name), file_mode())


def _append(log: Path, text: str, new: bool = False) -> None:
    """Write the runner's own lines into a step's log; a path that is not UTF-8 (a surrogate-escaped byte)
    as its own bytes."""
    with open(log, "w" if new else "a", encoding="utf-8", errors="surrogateescape") as stream:
        stream.write(text)


class StepProcesses:
    """Runs waves of ready steps as processes, sharing the CPUs between them."""

    def __init__(
        self,
        definition: Mapping[str, Any],
        steps: Mapping[str, DagStep],
        codes: Mapping[str, StepCode],
        code_root: Path,
        execution_dir: Path,
        cpus: int,
    ) -> None:
        self.definition = definition
        self.steps = steps
        self.codes = codes
        self.code_root = code_root
        self.execution_dir = execution_dir
        self.cpus = max(1, cpus)
        self.logs: dict[str, Path] = {}
        self.exit_codes: dict[str, int | None] = {}  # of the steps that failed
        self._lock = threading.Lock()
        self._running: set[BaseProcess] = set()
        self._stopping = False

    def run_batch(
        self, steps: Sequence[Mapping[str, Any]], evaluation: Evaluation, succeeded: StepDone
    ) -> set[str]:
        concurrent = min(len(steps), self.cpus)
        workers = max(1, self.cpus // concurrent)  # steps at once, the CPUs split between them

        def run_one(step: Mapping[str, Any]) -> bool:
            ok = self._run_step(step, evaluation, workers)
            if ok:
                succeeded(step)
            return ok

        pool = ThreadPoolExecutor(max_workers=concurrent)
        try:
            results = list(pool.map(run_one, steps))
        except KeyboardInterrupt:
            self._stop(pool)
            raise
        finally:
            pool.shutdown()
        return {step["Name"] for step, ok in zip(steps, results, strict=True) if not ok}

    def _run_step(self, step: Mapping[str, Any], evaluation: Evaluation, workers: int) -> bool:
        command = step_command(step, evaluation, self.codes[self.steps[step["Name"]].code])
        staging = self.execution_dir / STAGING / command.step
        shutil.rmtree(staging, ignore_errors=True)
        for container_path, source in command.inputs.items():
            link = self._local(container_path, staging)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(source, target_is_directory=True)
        for container_path, manifest in command.manifests.items():
            stage_manifest(Path(manifest), self._local(container_path, staging))
        output = self._local(command.output[0], staging)
        output.mkdir(parents=True)
        log = self.execution_dir / "logs" / f"{command.step}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        self.logs[command.step] = log
        arguments = [self._map(argument, staging) for argument in command.arguments]
        job_config = local_job_config(
            command.request,
            f"{evaluation.execution_id}-{command.step}",
            command.module,
            arguments,
            lambda path: self._map(path, staging),
        )
        given = command.environment  # the definition's, as the job gets it (the combine step's group outputs)
        environment = {
            **os.environ,
            **given,
            "LOKY_MAX_CPU_COUNT": str(workers),
            "PYTHONUNBUFFERED": "1",
            JOB_CONFIG_VARIABLE: str(write_job_config(staging, job_config)),
        }
        # The log opens with the command as one would type it to run the step by hand (the definition's
        # environment with it), after what its staging folder's paths stand for: the folder is removed once
        # the step ends.
        assignments = ["env", *(f"{name}={value}" for name, value in given.items())] if given else []
        typed = shlex.join([*assignments, "python", "-m", command.module, *arguments])
        links = [f"# {self._local(path, staging)} is {source}\n" for path, source in command.inputs.items()]
        links += [
            f"# {self._local(path, staging)} holds the files {manifest} names\n"
            for path, manifest in command.manifests.items()
        ]
        opening = "".join(links) + f"$ cd {shlex.quote(str(self.code_root))} && {typed}\n"
        _append(log, opening, new=True)
        exit_code = self.run_process(command, arguments, log, environment)
        if exit_code != 0:
            self.exit_codes[command.step] = exit_code
            return False
        destination = Path(command.output[1])
        destination.parent.mkdir(parents=True, exist_ok=True)
        if destination.exists():
            shutil.rmtree(destination)
        with_umask_modes(output)
        os.replace(output, destination)  # the "upload": whole, once the step succeeded
        shutil.rmtree(staging, ignore_errors=True)
        _append(log, f"# {output} moved to {destination}\n")
        return True

    def run_process(
        self, command: StepCommand, arguments: list[str], log: Path, environment: dict[str, str]
    ) -> int | None:
        """The step process's exit code; None if the run was interrupted before it could start. It runs in
        the checkout its code comes from, as the container runs it in the unpacked code package."""
        with self._lock:
            if self._stopping:
                return None
            process = _FORKSERVER.Process(
                target=run_step_module,
                args=(command.module, arguments, str(self.code_root), environment, str(log)),
                name=command.step,
            )
            process.start()
            self._running.add(process)
        try:
            # Wait for the end without reading the exit status, then read it under the lock. multiprocessing's
            # Process.start() polls every running child of this process for its status (its _cleanup), and a
            # forkserver child's status is read from a pipe once: start() in one thread and join() in another
            # can both read it, and the loser gets EOF, reported as exit code 255 for a step that succeeded
            # (seen in 1 run of 12 here; CPython 3.11 and 3.12 alike).
            wait([process.sentinel])
            with self._lock:
                process.join()
            return process.exitcode
        finally:
            with self._lock:
                self._running.discard(process)

    def _stop(self, pool: ThreadPoolExecutor) -> None:
        """Ctrl-C: start no more steps, and end those still running rather than wait for them (a step that
        started just after the Ctrl-C never saw it, nor does one when only this process is signalled).
        Their staging folders go too: a partial output is never used."""
        with self._lock:
            self._stopping = True
            running = list(self._running)
        for process in running:
            process.terminate()  # SIGTERM
        pool.shutdown(cancel_futures=True)  # each thread returns once its step process has exited
        shutil.rmtree(self.execution_dir / STAGING, ignore_errors=True)

    def failure_summary(self, failed: set[str]) -> str:
        reasons = []
        for name in sorted(failed):
            log = self.logs.get(name)
            text = log.read_text(encoding="utf-8", errors="replace") if log and log.exists() else ""
            lines = text.strip().splitlines()
            code = self.exit_codes.get(name)
            ended = "not started" if code is None else f"exit code {code}"
            reasons.append(f"{name}: {lines[-1] if lines else 'no output'} ({ended}, log: {log})")
        waiting = [s["Name"] for s in self.definition["Steps"] if dependencies(s) & failed]
        after = f"; not run: {', '.join(waiting)}" if waiting else ""
        return (
            f"step(s) failed: {'; '.join(reasons)}{after}; steps that succeeded are cached: rerun to resume"
        )

    @staticmethod
    def _local(container_path: str, staging: Path) -> Path:
        return staging / Path(container_path).relative_to(CONTAINER_ROOT)

    @staticmethod
    def _map(argument: str, staging: Path) -> str:
        if argument == CONTAINER_ROOT or argument.startswith(CONTAINER_ROOT + "/"):
            return str(staging / Path(argument).relative_to(CONTAINER_ROOT))
        return argument
