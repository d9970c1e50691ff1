"""Evaluating a pipeline definition as the service does: expressions, cache keys, and cache reuse.

SageMaker Pipelines resolves ``Get`` (parameters, execution variables, other steps' properties) and
``Std:Join`` before it starts a step, and a Processing step's cache key is its resolved AppSpecification,
Environment and ProcessingInputs. This module does the same on the definition's JSON, so tests can show what
caching will and will not reuse, and the local runner can execute the very definition that is deployed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

CACHE_KEY_FIELDS = ("AppSpecification", "Environment", "ProcessingInputs")
_ITEM = re.compile(r"^([A-Za-z0-9_]+)\['([^']+)'\]$")


class DefinitionError(ValueError):
    """An expression the evaluator cannot resolve: a missing parameter, step or property."""


@dataclass
class Evaluation:
    """The values an execution resolves expressions against."""

    parameters: Mapping[str, Any]
    execution_id: str
    step_properties: dict[str, dict[str, Any]] = field(default_factory=dict)  # Describe*Job-shaped, by step

    def value(self, expression: Any) -> Any:
        if isinstance(expression, dict):
            if set(expression) == {"Get"}:
                return self._get(expression["Get"])
            if set(expression) == {"Std:Join"}:
                join = expression["Std:Join"]
                return str(join["On"]).join(_text(self.value(part)) for part in join["Values"])
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


def processing_properties(step: Mapping[str, Any], evaluation: Evaluation) -> dict[str, Any]:
    """The DescribeProcessingJob-shaped properties a run of ``step`` exposes: its resolved outputs."""
    outputs = evaluation.value(step["Arguments"].get("ProcessingOutputConfig", {"Outputs": []}))
    return {"ProcessingOutputConfig": outputs}


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


def simulate_execution(
    definition: Mapping[str, Any],
    execution_id: str,
    parameters: Mapping[str, Any],
    cache: CacheStore,
    run_step: Callable[[Mapping[str, Any], Evaluation], None] | None = None,
) -> list[StepOutcome]:
    """Execute the definition with the service's caching: a step whose cache key was seen is not run and
    exposes the earlier run's properties; others run (``run_step``, if given) and are remembered."""
    evaluation = Evaluation(parameters, execution_id)
    outcomes = []
    for step in topological_order(definition):
        name = step["Name"]
        key = cache_key(step, evaluation)
        earlier = cache.get(name, {}).get(key) if step.get("CacheConfig", {}).get("Enabled") else None
        if earlier is not None:
            source, properties = earlier
            outcomes.append(StepOutcome(name, True, key, properties, source))
        else:
            if run_step is not None:
                run_step(step, evaluation)
            properties = processing_properties(step, evaluation)
            cache.setdefault(name, {})[key] = (execution_id, properties)
            outcomes.append(StepOutcome(name, False, key, properties, execution_id))
        evaluation.step_properties[name] = properties
    return outcomes


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


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
