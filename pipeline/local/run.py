"""``run-local``: the pipeline's definition executed here, step by step, with the service's caching.

Before anything is written the folders are checked (groups are the input's folders named as groups; input and
output may not overlap); then one run at a time holds the output folder, and removes what a killed run left.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from steps.contract.atomic import atomic_path, remove_leftovers

from ..config import MAX_GROUP_NAME, MAX_GROUPS, is_group_name
from ..dag import COMBINE_STEP, DagStep, dag_steps
from ..definition_eval import CacheStore, ExecutionFailed, StepOutcome, default_parameters, execute
from ..errors import LocalRunError, LocalUsageError
from ..step_code import PROJECT_ROOT, step_codes
from .cache import CACHE_FILE, load_cache, local_cache_key, save_cache
from .definition import DEFINITION_FILE, local_definition
from .processes import STAGING, StepProcesses
from .progress import StageBars

EXECUTION_PREFIX = "local-"  # an execution folder: local-<UTC time>-<4 hex digits>
LOGS = "logs"  # in an execution folder: <step>.log
# <output>/latest: a link to the combined outputs (dataset, reports) of the newest run that finished, whether
# it computed them or reused them from an earlier execution: the one path a notebook or a script needs.
LATEST = "latest"


@dataclass
class LocalRun:
    """What a local run did: every step's outcome, in the definition's order."""

    execution_id: str
    outcomes: list[StepOutcome]
    steps: Mapping[str, DagStep]

    def output_of(self, step: str) -> Path:
        outcome = next(o for o in self.outcomes if o.name == step)
        return Path(outcome.properties["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"])

    @property
    def combined(self) -> Path:
        """The combine step's output folder: the dataset and the reports."""
        return self.output_of(COMBINE_STEP.name)

    @property
    def group_output_of(self) -> dict[str, Path]:
        """Each group's output folder (an earlier execution's for a group reused from cache)."""
        return {group: self.output_of(o.name) for o in self.outcomes if (group := self.steps[o.name].group)}

    @property
    def reused(self) -> list[StepOutcome]:
        return [o for o in self.outcomes if o.cache_hit]

    @property
    def log_folders(self) -> list[Path]:
        """The folders of the step logs behind this run's outputs: this execution's for the steps it ran, the
        earlier executions' for the steps it reused."""
        root = self.combined.parents[1]  # the output folder: <output>/<execution>/combined
        ran_in = {o.source_execution if o.cache_hit else self.execution_id for o in self.outcomes}
        return [root / execution / LOGS for execution in sorted(ran_in)]


LOCK_FILE = ".pipeline-lock"


def input_groups(
    input_dir: Path, groups: Sequence[str] | None, warn: Callable[[str], None] = lambda text: None
) -> list[str]:
    """The groups to run: those asked for (each must have a folder), else every group folder there: a folder
    (or a link to one) directly in ``input_dir`` whose name is letters and digits. Hidden folders (``.x``) are
    passed over silently, other folders with a ``warn``-ing (``lost+found``, ``30-old``)."""
    if not input_dir.exists():
        raise LocalRunError(f"input folder {input_dir} does not exist")
    if not input_dir.is_dir():
        raise LocalRunError(f"input folder {input_dir} is not a folder")
    if groups:
        missing = [group for group in groups if not (input_dir / group).is_dir()]
        if missing:
            raise LocalRunError(f"no folder for group(s) {', '.join(missing)} in {input_dir}")
        return list(groups)
    try:
        folders = sorted(p.name for p in input_dir.iterdir() if p.is_dir())
    except OSError as exc:
        raise LocalRunError(f"input folder {input_dir} cannot be listed: {exc.strerror or exc}") from exc
    found = [name for name in folders if is_group_name(name)]
    passed_over = [name for name in folders if name not in found and not name.startswith(".")]
    if passed_over:
        more = f" and {len(passed_over) - 5} more" if len(passed_over) > 5 else ""
        warn(
            f"input folder {input_dir}: not group folders (names of up to {MAX_GROUP_NAME} letters and "
            f"digits), so not run: {', '.join(passed_over[:5])}{more}"
        )
    if not found:
        raise LocalRunError(f"input folder {input_dir} holds no group folders (such as 30 ... 39)")
    if len(found) > MAX_GROUPS:
        raise LocalRunError(
            f"input folder {input_dir} holds {len(found)} group folders, more than the {MAX_GROUPS} a "
            "pipeline can take: choose some with --groups"
        )
    return found


def check_roots(input_dir: Path, output_dir: Path) -> None:
    """Refuse an output folder that is the input folder, lies inside it, or holds it (symlinks resolved, and
    bind mounts seen by the folders' identity): outputs inside the input become a group of the next run."""
    if output_dir.exists() and not output_dir.is_dir():
        raise LocalRunError(f"output folder {output_dir} is not a folder")
    text = str(output_dir)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        offset = len(text[: exc.start].encode("utf-8"))  # the bad byte's, in the path as bytes
        raise LocalUsageError(
            f"--output-dir {output_dir}: not UTF-8 (byte 0x{os.fsencode(text)[offset]:02x} at offset "
            f"{offset}), and the steps' Parquet writer (pyarrow) takes UTF-8 paths only"
        ) from None
    if _same_folder(input_dir, output_dir):
        raise LocalUsageError(
            f"--output-dir {output_dir} is the --input-dir folder: its outputs would be read as a group by "
            "the next run; give an output folder outside the input folder"
        )
    if _inside(output_dir, input_dir):
        raise LocalUsageError(
            f"--output-dir {output_dir} is inside --input-dir {input_dir}: its outputs would be read as a "
            "group by the next run; give an output folder outside the input folder"
        )
    if _inside(input_dir, output_dir):
        raise LocalUsageError(
            f"--input-dir {input_dir} is inside --output-dir {output_dir}, where the runner writes and "
            "cleans up; give an output folder outside the input folder"
        )


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_dev, status.st_ino


def _same_folder(a: Path, b: Path) -> bool:
    a, b = a.resolve(), b.resolve()
    return a == b or (_identity(a) is not None and _identity(a) == _identity(b))


def _inside(inner: Path, outer: Path) -> bool:
    """Whether ``inner`` lies strictly below ``outer`` (it need not exist yet)."""
    inner, outer = inner.resolve(), outer.resolve()
    if inner != outer and inner.is_relative_to(outer):
        return True
    identity = _identity(outer)
    return identity is not None and any(_identity(folder) == identity for folder in inner.parents)


@contextmanager
def only_run_in(output_dir: Path) -> Iterator[None]:
    """Hold ``<output>/.pipeline-lock`` for the run: a second run into the same folder stops at once rather
    than share its cache and staging folders. The lock goes with the process, however it ends (kill -9)."""
    lock = output_dir / LOCK_FILE
    descriptor = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)  # the umask's mode, as open() gives
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LocalRunError(
                f"another run-local is writing to {output_dir} (it holds {lock}): wait for it to finish, or "
                "give another --output-dir"
            ) from None
        yield
    finally:
        os.close(descriptor)


def remove_leftovers_of_killed_runs(output_dir: Path) -> list[Path]:
    """What runs that were killed (kill -9, a power cut) left behind: their executions' staging folders,
    half-written caches and links. Only ever called with the lock held, so no run is using them."""
    removed = remove_leftovers(output_dir, [CACHE_FILE, DEFINITION_FILE, LATEST])
    for execution in output_dir.glob(f"{EXECUTION_PREFIX}*/{STAGING}"):
        if execution.is_dir() and not execution.is_symlink():
            shutil.rmtree(execution, ignore_errors=True)
            removed.append(execution)
    return removed


def run_locally(
    input_dir: Path,
    output_dir: Path,
    groups: Sequence[str] | None = None,
    jobs: int | None = None,
    use_cache: bool = True,
    progress: bool = True,
    code_root: Path = PROJECT_ROOT,
    parameters: Mapping[str, Any] | None = None,
    warn: Callable[[str], None] = lambda text: print(f"warning: {text}", file=sys.stderr, flush=True),
) -> LocalRun:
    """Run the pipeline on the group folders under ``input_dir``; everything it writes goes under
    ``output_dir``: ``<execution id>/groups/<group>/``, ``<execution id>/combined/``, logs and the caches.
    ``warn`` is given a line for each thing the run works around (an unusable cache, folders that are not
    groups)."""
    for name, flag in (("InputRoot", "--input-dir"), ("OutputRoot", "--output-dir")):
        if name in (parameters or {}):
            raise LocalUsageError(f"--param {name}: a local run sets it from {flag}")
    check_roots(input_dir, output_dir)
    input_dir, output_dir = input_dir.resolve(), output_dir.resolve()
    chosen = input_groups(input_dir, groups, warn)
    output_dir.mkdir(parents=True, exist_ok=True)
    with only_run_in(output_dir):
        remove_leftovers_of_killed_runs(output_dir)
        return _run(input_dir, output_dir, chosen, jobs, use_cache, progress, code_root, parameters, warn)


def _run(
    input_dir: Path,
    output_dir: Path,
    chosen: Sequence[str],
    jobs: int | None,
    use_cache: bool,
    progress: bool,
    code_root: Path,
    parameters: Mapping[str, Any] | None,
    warn: Callable[[str], None],
) -> LocalRun:
    from steps.extract.sharding import usable_cpus

    codes = step_codes(code_root)

    def announce_build() -> None:
        if progress:
            print("building the pipeline definition with the SageMaker SDK (kept for the next runs) ...",
                  file=sys.stderr, flush=True)  # fmt: skip

    definition = local_definition(chosen, code_root, codes, kept_in=output_dir, building=announce_build)
    steps = {step.name: step for step in dag_steps(chosen)}
    local_roots = {"InputRoot": str(input_dir), "OutputRoot": str(output_dir)}
    values = default_parameters(definition, {**(parameters or {}), **local_roots})
    execution_id = f"{EXECUTION_PREFIX}{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(2)}"
    cache_path = output_dir / CACHE_FILE
    cache: CacheStore = {}
    if use_cache:
        loaded = load_cache(cache_path)
        cache = loaded.steps
        if loaded.unusable:
            warn(loaded.unusable)
    processes = StepProcesses(
        definition, steps, codes, code_root, output_dir / execution_id, jobs or usable_cpus()
    )
    bars = StageBars(definition, steps, enabled=progress)

    def remember(outcome: StepOutcome) -> None:
        bars.advance(outcome)
        if not outcome.cache_hit:  # persisted at once, so an interrupted run resumes from here
            save_cache(cache_path, cache)

    try:
        outcomes = execute(
            definition,
            execution_id,
            values,
            cache,
            processes.run_batch,
            key_of=local_cache_key,
            on_outcome=remember,
            read_property_file=read_local_property_file,
        )
    except ExecutionFailed as failure:
        raise LocalRunError(processes.failure_summary(failure.failed)) from failure
    finally:
        bars.close()
        with contextlib.suppress(OSError):  # empty once every step's output moved into place
            (output_dir / execution_id / STAGING).rmdir()
    run = LocalRun(execution_id, outcomes, steps)
    point_latest(output_dir, run)
    return run


def read_local_property_file(
    step: Mapping[str, Any], declaration: Mapping[str, Any], properties: Mapping[str, Any]
) -> Any:
    """A step's property file, from the local folder its output went to."""
    outputs = properties["ProcessingOutputConfig"]["Outputs"]
    folder = next(o["S3Output"]["S3Uri"] for o in outputs if o["OutputName"] == declaration["OutputName"])
    path = Path(folder) / declaration["FilePath"]
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LocalRunError(f"step {step['Name']}: property file {path} cannot be read: {exc}") from None


def point_latest(output_dir: Path, run: LocalRun) -> None:
    """Make ``<output>/latest`` a relative link to the run's combined outputs, replaced in one rename: a
    reader sees the previous link or the new one, never none."""
    with atomic_path(output_dir / LATEST) as temporary:
        temporary.unlink()  # a file was made to hold the name; the link takes its place
        os.symlink(os.path.relpath(run.combined, output_dir), temporary)
