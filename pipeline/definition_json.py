"""Reading a pipeline definition (JSON): its steps' data dependencies, its Mermaid graph, and a step-by-step
diff against another definition, as ``waveform-pipeline graph`` and ``diff`` print them."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from .definition_eval import dependencies


def pretty(definition: str) -> str:
    return json.dumps(json.loads(definition), indent=2) + "\n"


def step_edges(definition: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(upstream, downstream) pairs: property references (``{"Get": "Steps.X...."}``) and DependsOn."""
    return sorted((upstream, step["Name"]) for step in definition["Steps"] for upstream in dependencies(step))


def mermaid(definition: dict[str, Any]) -> str:
    """The DAG as a Mermaid flowchart: one node a step (its display name), one arrow a dependency."""
    lines = ["flowchart LR"]
    for step in definition["Steps"]:
        label = step.get("DisplayName", step["Name"])
        lines.append(f'    {step["Name"]}["{label}"]')
    lines += [f"    {upstream} --> {downstream}" for upstream, downstream in step_edges(definition)]
    return "\n".join(lines) + "\n"


def definition_changes(deployed: dict[str, Any] | None, local: dict[str, Any]) -> list[str]:
    """What an upsert would change, a line each; empty when nothing would."""
    if deployed is None:
        return [f"create: the pipeline is not deployed; upsert creates it with {len(local['Steps'])} steps"]
    changes = []
    old_parameters = {p["Name"]: p for p in deployed.get("Parameters", [])}
    new_parameters = {p["Name"]: p for p in local.get("Parameters", [])}
    for name in sorted(old_parameters.keys() | new_parameters.keys()):
        if name not in old_parameters:
            changes.append(f"parameter added: {name} (default {new_parameters[name].get('DefaultValue')!r})")
        elif name not in new_parameters:
            changes.append(f"parameter removed: {name}")
        elif old_parameters[name] != new_parameters[name]:
            changes.append(f"parameter changed: {name}: {old_parameters[name]} -> {new_parameters[name]}")
    old_steps = {s["Name"]: s for s in deployed.get("Steps", [])}
    new_steps = {s["Name"]: s for s in local["Steps"]}
    for name in sorted(old_steps.keys() | new_steps.keys()):
        if name not in old_steps:
            changes.append(f"step added: {name}")
        elif name not in new_steps:
            changes.append(f"step removed: {name}")
        else:
            paths = sorted(_changed_paths(old_steps[name], new_steps[name]))
            if paths:
                changes.append(f"step changed: {name}: {', '.join(paths)}")
    for key in sorted((deployed.keys() | local.keys()) - {"Parameters", "Steps"}):
        if deployed.get(key) != local.get(key):
            changes.append(f"changed: {key}")
    return changes


def _changed_paths(old: Any, new: Any, path: str = "") -> Iterator[str]:
    """Dotted paths where two step definitions differ, down to named fields (not list items)."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in old.keys() | new.keys():
            yield from _changed_paths(old.get(key), new.get(key), f"{path}.{key}" if path else key)
    elif old != new:
        yield path or "(whole step)"
