"""Pipeline parameters: what Studio's "Start execution" form shows, each with a type, a default and a
description; and ``--param Name=Value`` overrides checked against them before any API call.

Plain data, free of the SDK: ``--help`` shows the descriptions and ``start``/``run-local`` check overrides
without importing it; ``processing_steps`` turns these into the SDK's parameter objects. The pipeline
definition format has no field for a parameter's description (nor does the SDK's ``Parameter``), so the
descriptions travel in the pipeline's description, which Studio shows on the pipeline's page, in
``waveform-pipeline start --help``, and in the README.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from steps.contract.arguments import DEFAULT_WINDOW_SECONDS, MAX_WINDOW_SECONDS, window_seconds
from steps.inventory.volumes import VOLUME_QUOTA_GB, VOLUME_QUOTA_NAME

from .config import PipelineConfig
from .errors import ParameterOverrideError

ParameterValue = str | int | float | bool

# The window length of every group step's windows.parquet (its --window-seconds), so of the windows dataset.
WINDOW_SECONDS_PARAMETER = "WindowSeconds"

# 0: each group step's volume is sized by the inventory step from the group's bytes (File mode copies the
# whole group onto the volume before the step starts; a MIMIC-III group averages ~670 GB).
DEFAULT_GROUP_VOLUME_GB = 0


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str  # as the definition writes it: "String", "Integer", "Float", "Boolean"
    default: ParameterValue
    description: str


DESCRIPTIONS = {
    "InputRoot": "S3 URI of the folder holding the patient-group folders (30 ... 39, or p00 ... p09), "
    "without a trailing /.",
    "OutputRoot": "S3 URI under which each execution writes <execution id>/groups/<group>/ and combined/, "
    "without a trailing /.",
    "GroupInstanceType": "Instance type of each group's extract step; every vCPU of it is used. The default "
    "is the cheapest per TB that keeps a MIMIC-III group's step waiting on I/O, not on its vCPUs "
    "(docs/cost-model.md; waveform-pipeline plan predicts any type's times and cost).",
    "GroupInstanceCount": "Instances per group step; each takes its share of the group's record sets.",
    "GroupVolumeSizeGB": "EBS volume of each group instance in GB; 0 (the default): each group's own, sized "
    "by the inventory step from the group's bytes plus headroom (the whole group folder is copied to it).",
    "VolumeQuotaGB": f"The account's quota '{VOLUME_QUOTA_NAME}' in GB ({VOLUME_QUOTA_GB} unless raised): "
    "the inventory step stops the execution, naming the groups, if one needs more, before any group runs.",
    "CombineInstanceType": "Instance type of the combine step.",
    "StrictMode": "Fail the combine step (after it wrote everything) if any record of any group could not be "
    "summarised; changing it re-runs no group step.",
    "MaxRuntimeSeconds": "Time limit of each processing job, in seconds.",
    "InputVersion": "Change it to re-run every group step although neither its data nor its code changed "
    "(a group step re-runs by itself when its objects' keys, sizes or ETags change).",
    WINDOW_SECONDS_PARAMETER: f"Length in seconds of the windows each group step summarises every signal in "
    f"(windows.parquet, the windows dataset), 0 to {MAX_WINDOW_SECONDS:g}; 0: no windows. Changing it "
    "re-runs every group step.",
}

# Checks of a value beyond its type, as the step that is given it makes them: a value it would refuse is
# refused before an execution starts, not once the group steps' instances are up. Each is an argparse type,
# raising ArgumentTypeError.
VALUE_CHECKS: Mapping[str, Callable[[str], object]] = {WINDOW_SECONDS_PARAMETER: window_seconds}


def pipeline_parameters(config: PipelineConfig) -> list[Parameter]:
    """Every parameter with its default for this configuration, in the definition's order."""
    defaults: dict[str, tuple[str, ParameterValue]] = {
        "InputRoot": ("String", config.input_root),
        "OutputRoot": ("String", config.output_root),
        "GroupInstanceType": ("String", "ml.c5.xlarge"),
        "GroupInstanceCount": ("Integer", 1),
        "GroupVolumeSizeGB": ("Integer", DEFAULT_GROUP_VOLUME_GB),
        "VolumeQuotaGB": ("Integer", VOLUME_QUOTA_GB),
        "CombineInstanceType": ("String", "ml.m5.xlarge"),
        "StrictMode": ("Boolean", False),
        "MaxRuntimeSeconds": ("Integer", 24 * 3600),
        "InputVersion": ("String", "1"),
        WINDOW_SECONDS_PARAMETER: ("Float", DEFAULT_WINDOW_SECONDS),
    }
    return [Parameter(name, kind, default, DESCRIPTIONS[name]) for name, (kind, default) in defaults.items()]


def parse_overrides(items: Sequence[str], parameters: Sequence[Parameter]) -> dict[str, ParameterValue]:
    """``Name=Value`` items checked against the pipeline's parameters and converted to their types."""
    by_name = {parameter.name: parameter for parameter in parameters}
    valid = ", ".join(sorted(by_name))
    overrides: dict[str, ParameterValue] = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep:
            raise ParameterOverrideError(f"--param {item!r} is not Name=Value; parameters: {valid}")
        if name not in by_name:
            raise ParameterOverrideError(f"unknown parameter {name!r}; parameters: {valid}")
        overrides[name] = _typed(by_name[name], text)
        problem = value_problem(name, text)
        if problem:
            raise ParameterOverrideError(problem)
    return overrides


def value_problem(name: str, text: str) -> str:
    """Why the step given ``text`` as parameter ``name``'s value would refuse it; empty if it would not (or
    the parameter has no check beyond its type)."""
    check = VALUE_CHECKS.get(name)
    if check is None:
        return ""
    try:
        check(text)
    except argparse.ArgumentTypeError as exc:
        return f"parameter {name}: {exc}"
    return ""


def _typed(parameter: Parameter, text: str) -> ParameterValue:
    if parameter.type == "Integer":
        try:
            return int(text)
        except ValueError:
            raise ParameterOverrideError(
                f"parameter {parameter.name} takes integer values, not {text!r}"
            ) from None
    if parameter.type == "Boolean":
        if text.lower() not in {"true", "false"}:
            raise ParameterOverrideError(f"parameter {parameter.name} takes true or false, not {text!r}")
        return text.lower() == "true"
    if parameter.type == "Float":
        try:
            return float(text)
        except ValueError:
            raise ParameterOverrideError(f"parameter {parameter.name} takes numbers, not {text!r}") from None
    return text


def parameter_text(value: object) -> str:
    """A value as the service renders it in text: booleans as ``true``/``false`` (Python's ``str`` gives
    ``True``); a float as Python writes it (``60.0``), which the extract step parses back."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
