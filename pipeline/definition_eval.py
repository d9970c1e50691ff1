"""Evaluating a pipeline definition as the service does: expressions, cache keys, and cache reuse.

SageMaker Pipelines resolves ``Get`` (parameters, execution variables, other steps' properties), ``Std:Join``
and ``Std:JsonGet`` (a value of another step's property file) before it starts a step, and a Processing
step's cache key is its resolved AppSpecification, Environment and ProcessingInputs; an earlier run is reused
while it is younger than the step's ``ExpireAfter``. This module does the same on the definition's JSON, so
tests can show what caching will and will not reuse, and the local runner can execute the very definition
that is deployed.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .errors import DefinitionError
from .parameters import parameter_text

CACHE_KEY_FIELDS = ("AppSpecification", "Environment", "ProcessingInputs")
_ITEM = re.compile(r"^([A-Za-z0-9_]+)\['([^']+)'\]$")
END_TIME = "ProcessingEndTime"  # in a step's properties (DescribeProcessingJob's name): when its run ended
# Reads a step's property file: given the step's definition, the file's declaration (PropertyFileName,
# OutputName, FilePath) and the step's properties, returns the file's parsed JSON.
PropertyFileReader = Callable[[Mapping[str, Any], Mapping[str, Any], Mapping[str, Any]], Any]


@dataclass
class Evaluation:
    """The values an execution resolves expressions against."""

    parameters: Mapping[str, Any]
    execution_id: str
    step_properties: dict[str, dict[str, Any]] = field(default_factory=dict)  # Describe*Job-shaped, by step
    property_files: dict[str, dict[str, Any]] = field(default_factory=dict)  # step -> file name -> JSON

    def value(self, expression: Any) -> Any:
        if isinstance(expression, dict):
            if set(expression) == {"Get"}:
                return self._get(expression["Get"])
            if set(expression) == {"Std:Join"}:
                join = expression["Std:Join"]
                return str(join["On"]).join(parameter_text(self.value(part)) for part in join["Values"])
            if set(expression) == {"Std:JsonGet"}:
                return self._json_get(expression["Std:JsonGet"])
            return {key: self.value(item) for key, item in expression.items()}
        if isinstance(expression, list):
            return [self.value(item) for item in expression]
        return expression

    def _get(self, path: str) -> Any:
        head, _, rest = path.partition(".")
        if head == "Parameters":
            if rest not in self.parameters:
                raise DefinitionError(f"parameter {rest} has no value")
            return self.parameters[rest]
        if head == "Execution":
            if rest == "PipelineExecutionId":
                return self.execution_id
            raise DefinitionError(f"execution variable {rest} is not supported here")
        if head == "Steps":
            step, _, property_path = rest.partition(".")
            if step not in self.step_properties:
                raise DefinitionError(f"step {step} has not run, so {path} has no value")
            return _walk(self.step_properties[step], property_path)
        raise DefinitionError(f"cannot resolve {path}")

    def _json_get(self, spec: Mapping[str, Any]) -> Any:
        reference = str(spec.get("PropertyFile", {}).get("Get", ""))
        head, step, kind, name = [*reference.split("."), "", "", "", ""][:4]
        if (head, kind) != ("Steps", "PropertyFiles"):
            raise DefinitionError(
                f"JsonGet of {reference or spec!r}: only a step's property file is supported"
            )
        files = self.property_files.get(step, {})
        if name not in files:
            raise DefinitionError(f"step {step} has not run, so its property file {name} has no value")
        return json_path(files[name], str(spec["Path"]))


def json_path(document: Any, path: str) -> Any:
    """The value at ``path`` (dotted field names, as this pipeline's JsonGet paths are) in ``document``."""
    value = document
    for token in path.removeprefix("$.").split("."):
        if not isinstance(value, dict) or token not in value:
            raise DefinitionError(f"property file has no {path!r}")
        value = value[token]
    return value


_DURATION = re.compile(
    r"P?(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?",
    re.IGNORECASE,
)


def iso_duration(text: str) -> timedelta:
    """An ISO 8601 duration as the service documents ExpireAfter ("P30D", "30d", "5y", "T16m"), a year taken
    as 365 days and a month as 30."""
    match = _DURATION.fullmatch(text.strip())
    if not text.strip() or match is None or not any(match.groupdict().values()):
        raise DefinitionError(f"ExpireAfter {text!r} is not an ISO 8601 duration")
    part = {name: int(value or 0) for name, value in match.groupdict().items()}
    return timedelta(
        days=part["years"] * 365 + part["months"] * 30 + part["weeks"] * 7 + part["days"],
        hours=part["hours"],
        minutes=part["minutes"],
        seconds=part["seconds"],
    )


def _fresh(step: Mapping[str, Any], properties: Mapping[str, Any], now: datetime) -> bool:
    """Whether an earlier run is young enough for the step's ExpireAfter (a run of unknown end is)."""
    expire_after = step.get("CacheConfig", {}).get("ExpireAfter")
    ended = properties.get(END_TIME)
    if not expire_after or not isinstance(ended, str):
        return True
    return now - datetime.fromisoformat(ended) <= iso_duration(str(expire_after))


def default_parameters(
    definition: Mapping[str, Any], overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    values = {p["Name"]: p.get("DefaultValue") for p in definition.get("Parameters", [])}
    unknown = set(overrides or {}) - set(values)
    if unknown:
        raise DefinitionError(f"unknown parameter(s): {', '.join(sorted(unknown))}")
    values.update(overrides or {})
    return values


def cache_key(step: Mapping[str, Any], evaluation: Evaluation) -> str:
    """What the service compares to reuse a Processing step's earlier run."""
    arguments = step["Arguments"]
    resolved = {name: evaluation.value(arguments.get(name)) for name in CACHE_KEY_FIELDS}
    return json.dumps(resolved, sort_keys=True)


def processing_properties(
    step: Mapping[str, Any], evaluation: Evaluation, ended: datetime | None = None
) -> dict[str, Any]:
    """The DescribeProcessingJob-shaped properties a run of ``step`` exposes: its resolved outputs, and when
    it ended if known."""
    outputs = evaluation.value(step["Arguments"].get("ProcessingOutputConfig", {"Outputs": []}))
    properties: dict[str, Any] = {"ProcessingOutputConfig": outputs}
    if ended is not None:
        properties[END_TIME] = ended.isoformat()
    return properties


def dependencies(step: Mapping[str, Any]) -> set[str]:
    """Steps whose properties this step reads, or that it names in DependsOn."""
    found = set(step.get("DependsOn", []))

    def visit(value: Any) -> None:
        if isinstance(value, dict):
            if set(value) == {"Get"} and str(value["Get"]).startswith("Steps."):
                found.add(str(value["Get"]).split(".")[1])
            for item in value.values():
                visit(item)
        elif isinstance(value, list):
            for item in value:
                visit(item)

    visit(step.get("Arguments", {}))
    return found


def topological_order(definition: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Steps in an order where every step comes after the steps it depends on (definition order kept)."""
    steps = list(definition["Steps"])
    done: set[str] = set()
    ordered: list[dict[str, Any]] = []
    while len(ordered) < len(steps):
        ready = [s for s in steps if s["Name"] not in done and dependencies(s) <= done]
        if not ready:
            raise DefinitionError("the steps' dependencies form a cycle")
        ordered.extend(ready)
        done.update(s["Name"] for s in ready)
    return ordered


@dataclass
class StepOutcome:
    name: str
    cache_hit: bool
    cache_key: str
    properties: dict[str, Any]
    source_execution: str  # the execution whose run is reused (this one when it ran anew)


CacheStore = dict[str, dict[str, tuple[str, dict[str, Any]]]]  # step -> cache key -> (execution, properties)
KeyFunction = Callable[[Mapping[str, Any], Evaluation], str]
StepDone = Callable[[Mapping[str, Any]], None]
# Runs steps, calls StepDone for each as it succeeds, returns the names of those that failed.
BatchRunner = Callable[[Sequence[Mapping[str, Any]], Evaluation, StepDone], set[str]]


class ExecutionFailed(RuntimeError):
    """Steps failed; the steps that depend on them did not run. Steps that succeeded are cached."""

    def __init__(self, failed: set[str], outcomes: list[StepOutcome]) -> None:
        super().__init__(f"step(s) failed: {', '.join(sorted(failed))}")
        self.failed = failed
        self.outcomes = outcomes


def execute(
    definition: Mapping[str, Any],
    execution_id: str,
    parameters: Mapping[str, Any],
    cache: CacheStore,
    run_batch: BatchRunner | None = None,
    key_of: KeyFunction = cache_key,
    on_outcome: Callable[[StepOutcome], None] | None = None,
    read_property_file: PropertyFileReader | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[StepOutcome]:
    """Execute the definition with the service's caching, wave by wave: every step whose dependencies are
    done is ready; a ready step whose cache key was seen in a run younger than its ExpireAfter (as of
    ``now()``) is not run and exposes the earlier run's properties; the others run together (``run_batch``,
    if given; else they are taken as run), each remembered in ``cache`` as it succeeds, with the time it
    ended. A step's property files are read (``read_property_file``) once it ran or was reused. Outcomes come
    back in the definition's (topological) order."""
    evaluation = Evaluation(parameters, execution_id)
    by_name = {step["Name"]: step for step in definition["Steps"]}

    def read_property_files(outcome: StepOutcome) -> None:
        step = by_name[outcome.name]
        for declaration in step.get("PropertyFiles", []):
            if read_property_file is None:
                raise DefinitionError(f"step {outcome.name} has property files, and nothing reads them here")
            files = evaluation.property_files.setdefault(outcome.name, {})
            files[declaration["PropertyFileName"]] = read_property_file(step, declaration, outcome.properties)

    outcomes: list[StepOutcome] = []
    steps = topological_order(definition)
    done: set[str] = set()
    while len(done) < len(steps):
        ready = [s for s in steps if s["Name"] not in done and dependencies(s) <= done]
        to_run = []
        for step in ready:
            key = key_of(step, evaluation)
            enabled = step.get("CacheConfig", {}).get("Enabled")
            earlier = cache.get(step["Name"], {}).get(key) if enabled else None
            if earlier is None or not _fresh(step, earlier[1], now()):
                to_run.append((step, key))
            else:
                reused = StepOutcome(step["Name"], True, key, earlier[1], earlier[0])
                read_property_files(reused)
                _record(reused, evaluation, outcomes, on_outcome)
        keys = {step["Name"]: key for step, key in to_run}
        lock = threading.Lock()

        def succeeded(
            step: Mapping[str, Any], keys: dict[str, str] = keys, lock: threading.Lock = lock
        ) -> None:
            # Called as each step succeeds (from the runner's threads): remembered at once, so an interrupted
            # execution keeps every step that finished.
            with lock:
                key = keys[step["Name"]]
                properties = processing_properties(step, evaluation, now())
                outcome = StepOutcome(step["Name"], False, key, properties, execution_id)
                read_property_files(outcome)  # before it is remembered: a run without them is no success
                if step.get("CacheConfig", {}).get("Enabled"):
                    cache.setdefault(step["Name"], {})[key] = (execution_id, properties)
                _record(outcome, evaluation, outcomes, on_outcome)

        batch = [step for step, _ in to_run]
        failed: set[str] = set()
        if run_batch is None:
            for step in batch:
                succeeded(step)
        elif batch:
            failed = run_batch(batch, evaluation, succeeded)
        if failed:
            raise ExecutionFailed(failed, _in_order(outcomes, steps))
        done.update(step["Name"] for step in ready)
    return _in_order(outcomes, steps)


def _in_order(outcomes: list[StepOutcome], steps: Sequence[Mapping[str, Any]]) -> list[StepOutcome]:
    # Steps of one wave finish in any order; results are reported in the definition's order.
    position = {step["Name"]: index for index, step in enumerate(steps)}
    return sorted(outcomes, key=lambda outcome: position[outcome.name])


def _record(
    outcome: StepOutcome,
    evaluation: Evaluation,
    outcomes: list[StepOutcome],
    on_outcome: Callable[[StepOutcome], None] | None,
) -> None:
    evaluation.step_properties[outcome.name] = outcome.properties
    outcomes.append(outcome)
    if on_outcome is not None:
        on_outcome(outcome)


def _walk(properties: Any, path: str) -> Any:
    value = properties
    for token in path.split("."):
        match = _ITEM.match(token)
        if match:
            items = value[match.group(1)]
            wanted = match.group(2)
            found = [item for item in items if wanted in item.values()]
            if not found:
                raise DefinitionError(f"no {match.group(1)} named {wanted!r}")
            value = found[0]
        else:
            if token not in value:
                raise DefinitionError(f"property {token} not found")
            value = value[token]
    return value
