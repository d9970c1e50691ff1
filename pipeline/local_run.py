"""The local run: the very pipeline definition that is deployed, executed on this machine.

The definition is built by ``get_pipeline`` (with a local stand-in for role and bucket) and evaluated as the
service evaluates it (``definition_eval``): parameters ``InputRoot`` and ``OutputRoot`` point at local
folders, so the ``Join`` expressions resolve to local paths, and the combine step's inputs resolve to the
group steps' outputs. Each step runs its script from this checkout, as a process, in a staging folder laid
out like ``/opt/ml/processing``: its inputs linked in, its output moved to the resolved destination once the
step succeeds. Caching follows the service's rules, keyed on code, arguments and inputs, and is stricter in
one way: a local input folder's files (names, sizes, modification times) are part of the key, so changed data
is never served from the cache. Steps that succeeded are remembered at once: a rerun after a failure or
Ctrl-C resumes where it stopped. Ctrl-C ends the steps still running, whether the signal reached them or not.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from tqdm import tqdm

from steps.waveforms.outputs import atomic_text
from steps.waveforms.sharding import usable_cpus

from .code_package import PROJECT_ROOT
from .config import PipelineConfig
from .definition_eval import (
    CacheStore,
    Evaluation,
    ExecutionFailed,
    StepDone,
    StepOutcome,
    cache_key,
    default_parameters,
    dependencies,
    execute,
    parameter_text,
    topological_order,
)

CONTAINER_ROOT = "/opt/ml/processing"
LOCAL_ROLE = "arn:aws:iam::000000000000:role/local-run"  # stands in for the role: never used locally
LOCAL_BUCKET = "local-run"
CACHE_FILE = ".pipeline-cache.json"
SCRIPT = re.compile(r"python3 (steps/\S+\.py)")
# Arguments with no local meaning: the combine step writes its dataset to S3 beside its job output there;
# here it writes it with pyarrow beside its reports (its default without this option).
CLOUD_ONLY_ARGUMENTS = {("--dataset-s3-uri", "from-job-output")}


class LocalRunError(Exception):
    """The local run cannot start or did not finish; the message says why in one line."""


@dataclass(frozen=True)
class StepCommand:
    """How one step ran here: its script and arguments, with container paths mapped to the staging folder."""

    step: str
    script: str
    arguments: list[str]
    inputs: dict[str, str]  # container path -> local source
    output: tuple[str, str]  # container path -> local destination


@dataclass
class LocalRun:
    execution_id: str
    outcomes: list[StepOutcome]
    commands: list[StepCommand] = field(default_factory=list)

    def output_of(self, step: str) -> Path:
        outcome = next(o for o in self.outcomes if o.name == step)
        return Path(outcome.properties["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"])

    @property
    def reused(self) -> list[StepOutcome]:
        return [o for o in self.outcomes if o.cache_hit]


def local_definition(groups: Sequence[str], code_root: Path = PROJECT_ROOT) -> dict[str, Any]:
    """The pipeline definition, built exactly as for SageMaker, with local stand-ins for role and bucket."""
    from .aws_session import boto_session

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    config = PipelineConfig(
        role_arn=LOCAL_ROLE,
        region=region,
        bucket=LOCAL_BUCKET,
        groups=tuple(groups),
        code_root=str(code_root),
    )
    session = boto_session(config)
    from .definition import get_pipeline

    return json.loads(get_pipeline(config, session).definition())


def group_folders(input_dir: Path, groups: Sequence[str] | None) -> list[str]:
    if not input_dir.is_dir():
        raise LocalRunError(f"input folder {input_dir} does not exist")
    if groups:
        missing = [group for group in groups if not (input_dir / group).is_dir()]
        if missing:
            raise LocalRunError(f"no folder for group(s) {', '.join(missing)} in {input_dir}")
        return list(groups)
    found = sorted(
        p.name for p in input_dir.iterdir() if p.is_dir() and re.fullmatch(r"[A-Za-z0-9]+", p.name)
    )
    if not found:
        raise LocalRunError(f"input folder {input_dir} holds no group folders (such as 30 ... 39)")
    return found


def run_local(
    input_dir: Path,
    output_dir: Path,
    groups: Sequence[str] | None = None,
    jobs: int | None = None,
    use_cache: bool = True,
    progress: bool = True,
    code_root: Path = PROJECT_ROOT,
    parameters: Mapping[str, Any] | None = None,
) -> LocalRun:
    input_dir, output_dir = input_dir.resolve(), output_dir.resolve()
    definition = local_definition(group_folders(input_dir, groups), code_root)
    local_roots = {"InputRoot": str(input_dir), "OutputRoot": str(output_dir)}
    values = default_parameters(definition, {**(parameters or {}), **local_roots})
    execution_id = f"local-{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(2)}"
    output_dir.mkdir(parents=True, exist_ok=True)
    cache_path = output_dir / CACHE_FILE
    cache = _existing_outputs_only(_load_cache(cache_path)) if use_cache else {}
    run = LocalRun(execution_id, [])
    runner = _StepRunner(definition, output_dir / execution_id, code_root, jobs or usable_cpus(), run)
    bars = _StageBars(definition, enabled=progress)

    def remember(outcome: StepOutcome) -> None:
        bars.advance(outcome)
        if not outcome.cache_hit:  # persisted at once, so an interrupted run resumes from here
            _save_cache(cache_path, cache)

    try:
        run.outcomes = execute(
            definition,
            execution_id,
            values,
            cache,
            runner.run_batch,
            key_of=_local_key,
            on_outcome=remember,
        )
    except ExecutionFailed as failure:
        run.outcomes = failure.outcomes
        raise LocalRunError(runner.failure_summary(failure.failed)) from failure
    finally:
        bars.close()
    return run


def _local_key(step: Mapping[str, Any], evaluation: Evaluation) -> str:
    """The service's cache key, plus a fingerprint of the files of each local input."""
    fingerprint = hashlib.sha256()
    for item in evaluation.value(step["Arguments"].get("ProcessingInputs", [])):
        source = Path(item["S3Input"]["S3Uri"])
        if item["S3Input"]["S3Uri"].startswith("s3://") or not source.exists():
            continue
        for file in sorted(p for p in source.rglob("*") if p.is_file()):
            status = file.stat()
            fingerprint.update(
                f"{file.relative_to(source)}\0{status.st_size}\0{status.st_mtime_ns}\n".encode()
            )
    return cache_key(step, evaluation) + "|files:" + fingerprint.hexdigest()


class _StepRunner:
    """Runs a wave of ready steps as processes, sharing the CPUs between them."""

    def __init__(
        self, definition: dict[str, Any], execution_dir: Path, code_root: Path, cpus: int, run: LocalRun
    ):
        self.definition = definition
        self.execution_dir = execution_dir
        self.code_root = code_root
        self.cpus = max(1, cpus)
        self.run = run
        self.logs: dict[str, Path] = {}
        self._lock = threading.Lock()
        self._running: set[subprocess.Popen[bytes]] = set()
        self._stopping = False

    def run_batch(
        self, steps: Sequence[Mapping[str, Any]], evaluation: Evaluation, succeeded: StepDone
    ) -> set[str]:
        concurrent = min(len(steps), self.cpus)
        workers = max(1, self.cpus // concurrent)  # groups at once, the CPUs split between them

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
        command = self.command(step, evaluation)
        self.run.commands.append(command)
        staging = self.execution_dir / ".staging" / command.step
        shutil.rmtree(staging, ignore_errors=True)
        for container_path, source in command.inputs.items():
            link = self._local(container_path, staging)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(source, target_is_directory=True)
        output = self._local(command.output[0], staging)
        output.mkdir(parents=True)
        log = self.execution_dir / "logs" / f"{command.step}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        self.logs[command.step] = log
        arguments = [self._map(argument, staging) for argument in command.arguments]
        environment = {**os.environ, "LOKY_MAX_CPU_COUNT": str(workers), "PYTHONUNBUFFERED": "1"}
        with open(log, "w", encoding="utf-8") as stream:
            exit_code = self._run_process(
                [sys.executable, str(self.code_root / command.script), *arguments], stream, environment
            )
        if exit_code != 0:
            return False
        destination = Path(command.output[1])
        destination.parent.mkdir(parents=True, exist_ok=True)
        if destination.exists():
            shutil.rmtree(destination)
        os.replace(output, destination)  # the "upload": whole, once the step succeeded
        shutil.rmtree(staging, ignore_errors=True)
        return True

    def _run_process(self, command: list[str], log: IO[str], environment: dict[str, str]) -> int | None:
        """The step process's exit code; None if the run was interrupted before it could start."""
        with self._lock:
            if self._stopping:
                return None
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environment)
            self._running.add(process)
        try:
            return process.wait()
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
            process.terminate()
        pool.shutdown(cancel_futures=True)  # each thread returns once its step process has exited
        shutil.rmtree(self.execution_dir / ".staging", ignore_errors=True)

    def command(self, step: Mapping[str, Any], evaluation: Evaluation) -> StepCommand:
        arguments = evaluation.value(step["Arguments"])
        entrypoint = " ".join(arguments["AppSpecification"]["ContainerEntrypoint"])
        script = SCRIPT.search(entrypoint)
        if script is None:
            raise LocalRunError(f"step {step['Name']}: no step script in its entrypoint")
        inputs = {
            item["S3Input"]["LocalPath"]: item["S3Input"]["S3Uri"]
            for item in arguments.get("ProcessingInputs", [])
            if not item["S3Input"]["S3Uri"].startswith("s3://")  # the code package: run from the checkout
        }
        (output,) = arguments["ProcessingOutputConfig"]["Outputs"]
        return StepCommand(
            step=step["Name"],
            script=script.group(1),
            arguments=_local_arguments(
                [parameter_text(a) for a in arguments["AppSpecification"]["ContainerArguments"]]
            ),
            inputs=inputs,
            output=(output["S3Output"]["LocalPath"], output["S3Output"]["S3Uri"]),
        )

    def failure_summary(self, failed: set[str]) -> str:
        reasons = []
        for name in sorted(failed):
            log = self.logs.get(name)
            lines = log.read_text(encoding="utf-8").strip().splitlines() if log and log.exists() else []
            reasons.append(f"{name}: {lines[-1] if lines else 'no output'} (log: {log})")
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


def _local_arguments(arguments: list[str]) -> list[str]:
    kept: list[str] = []
    index = 0
    while index < len(arguments):
        pair = tuple(arguments[index : index + 2])
        if pair in CLOUD_ONLY_ARGUMENTS:
            index += 2
            continue
        kept.append(arguments[index])
        index += 1
    return kept


class _StageBars:
    """One progress bar a stage, shown in turn: the steps that run together (the groups), then the next."""

    def __init__(self, definition: dict[str, Any], enabled: bool) -> None:
        self.enabled = enabled
        levels: dict[str, int] = {}
        for step in topological_order(definition):
            levels[step["Name"]] = 1 + max((levels[d] for d in dependencies(step)), default=-1)
        self.stages: list[list[str]] = [
            [name for name, level in levels.items() if level == wanted]
            for wanted in sorted(set(levels.values()))
        ]
        self.stage_of = {name: index for index, names in enumerate(self.stages) for name in names}
        self.current = -1
        self.bar: tqdm[Any] | None = None
        self.hits = 0
        self._open(0)

    def _open(self, index: int) -> None:
        if self.bar is not None:
            self.bar.close()
        names = self.stages[index]
        label = "extract" if index == 0 else "combine" if names == ["Combine"] else f"stage {index + 1}"
        self.bar = tqdm(
            total=len(names), desc=f"{label:8}", unit="step", disable=not self.enabled, file=sys.stderr
        )
        self.current, self.hits = index, 0

    def advance(self, outcome: StepOutcome) -> None:
        index = self.stage_of[outcome.name]
        if index != self.current:
            self._open(index)
        assert self.bar is not None
        if outcome.cache_hit:
            self.hits += 1
            self.bar.set_postfix_str(f"{self.hits} from cache")
        self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _existing_outputs_only(cache: CacheStore) -> CacheStore:
    """Entries whose outputs are still on disk: a deleted execution folder is not served from the cache."""
    kept: CacheStore = {}
    for step, entries in cache.items():
        for key, (execution, properties) in entries.items():
            outputs = properties.get("ProcessingOutputConfig", {}).get("Outputs", [])
            if all(Path(o["S3Output"]["S3Uri"]).is_dir() for o in outputs):
                kept.setdefault(step, {})[key] = (execution, properties)
    return kept


def _load_cache(path: Path) -> CacheStore:
    if not path.exists():
        return {}
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}  # an unreadable cache is no cache: every step runs
    return {step: {key: (entry[0], entry[1]) for key, entry in keys.items()} for step, keys in stored.items()}


def _save_cache(path: Path, cache: CacheStore) -> None:
    with atomic_text(path) as stream:
        json.dump(cache, stream, indent=1, sort_keys=True)
