"""Where an execution's outputs are: the combined dataset, the combine step's reports, each group's outputs.

They are resolved as the service resolves them, from the definition the execution ran, its parameters and
its id (``<OutputRoot>/<execution id>/groups/<group>``, ``…/combined``); a step the execution reused from the
cache exposes the outputs of the execution that ran it, resolved from that execution's definition and
parameters.
The dataset lies where the combine step's arguments put it: ``--dataset-s3-uri from-job-output`` (what the
pipeline gives it) puts it beside the reports, under ``dataset/``, and the windows dataset under ``windows/``
(``steps/combine/destination.py``), when the execution cut windows (a WindowSeconds above 0).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from steps.combine.destination import FROM_JOB_OUTPUT, WINDOWS_S3_URI_OPTION
from steps.combine.output_names import REPORT_FILES, WINDOWS_FOLDER, dataset_beside

from .dag import COMBINED_OUTPUT_NAME, DATASET_S3_URI_OPTION, GROUP_OUTPUT_NAME
from .definition_eval import Evaluation, default_parameters, processing_properties
from .errors import DefinitionError
from .parameters import WINDOW_SECONDS_PARAMETER


@dataclass(frozen=True)
class ExecutionRun:
    """An execution, as its outputs are resolved: its id, the definition it ran, the parameters it was
    started with (the others take the definition's defaults)."""

    execution_id: str
    definition: Mapping[str, Any]
    parameters: Mapping[str, Any]


@dataclass(frozen=True)
class OutputLocations:
    dataset: str | None = None
    reports: dict[str, str] = field(default_factory=dict)  # report file -> its URI
    groups: dict[str, str] = field(default_factory=dict)  # group step -> the folder of its outputs
    windows: str | None = None  # the windows dataset; None when the execution cut no windows

    def as_json(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "windows": self.windows,
            "reports": self.reports,
            "groups": self.groups,
        }

    def rows(self) -> list[tuple[str, str]]:
        """(what, where) pairs, as ``status`` lists them: the datasets, the reports, then the groups'."""
        rows = [("dataset", self.dataset)] if self.dataset else []
        rows += [("windows", self.windows)] if self.windows else []
        return rows + list(self.reports.items()) + list(self.groups.items())


def output_locations(
    run: ExecutionRun, reused_from: Mapping[str, ExecutionRun], report_files: tuple[str, ...]
) -> OutputLocations:
    """The outputs of ``run``; ``reused_from``: the execution whose run each cache-hit step reuses;
    ``report_files``: the names of the files the combine step writes beside the dataset."""
    dataset, windows, reports, groups = None, None, {}, {}
    for step in run.definition.get("Steps", []):
        source = reused_from.get(step["Name"], run)
        ran = _step_named(source.definition, step["Name"]) or step
        evaluation = Evaluation(default_parameters(source.definition, source.parameters), source.execution_id)
        outputs = processing_properties(ran, evaluation)["ProcessingOutputConfig"].get("Outputs", [])
        for output in outputs:
            uri = str(output["S3Output"]["S3Uri"]).rstrip("/")
            if output.get("OutputName") == GROUP_OUTPUT_NAME:
                groups[step["Name"]] = uri
            elif output.get("OutputName") == COMBINED_OUTPUT_NAME:
                reports = {name: f"{uri}/{name}" for name in report_files}
                dataset = _dataset_uri(ran, evaluation, uri)
                windows = _windows_uri(ran, evaluation, uri) if _cuts_windows(evaluation) else None
    return OutputLocations(dataset, reports, groups, windows)


def _step_named(definition: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    return next((step for step in definition.get("Steps", []) if step["Name"] == name), None)


def _dataset_uri(step: Mapping[str, Any], evaluation: Evaluation, combined_uri: str) -> str:
    """Where the combine step writes the dataset: the URI its arguments give, or (``from-job-output``, or
    none given: its default folder, uploaded with its output) ``dataset/`` beside the reports."""
    arguments = step["Arguments"].get("AppSpecification", {}).get("ContainerArguments", [])
    for option, value in itertools.pairwise(arguments):
        if option == DATASET_S3_URI_OPTION:
            given = str(evaluation.value(value))
            if given != FROM_JOB_OUTPUT:
                return given
    return dataset_beside(combined_uri)


def _windows_uri(step: Mapping[str, Any], evaluation: Evaluation, combined_uri: str) -> str | None:
    """Where the combine step writes the windows dataset: the URI its arguments give, or beside the reports
    (``windows/``) when the dataset goes there too; None when the dataset goes to a URI of its own and the
    windows were given none (the step refuses windows then)."""
    arguments = step["Arguments"].get("AppSpecification", {}).get("ContainerArguments", [])
    given = {
        option: str(evaluation.value(value))
        for option, value in itertools.pairwise(arguments)
        if option in (DATASET_S3_URI_OPTION, WINDOWS_S3_URI_OPTION)
    }
    windows = given.get(WINDOWS_S3_URI_OPTION)
    if windows and windows != FROM_JOB_OUTPUT:
        return windows
    if windows or given.get(DATASET_S3_URI_OPTION, FROM_JOB_OUTPUT) == FROM_JOB_OUTPUT:
        return dataset_beside(combined_uri, WINDOWS_FOLDER)
    return None


def _cuts_windows(evaluation: Evaluation) -> bool:
    """Whether the execution's group steps cut windows: its WindowSeconds is above 0 (a definition older than
    the parameter cut none)."""
    try:
        return float(evaluation.parameters.get(WINDOW_SECONDS_PARAMETER) or 0) > 0
    except (TypeError, ValueError):
        return False


def fetch_output_locations(
    sagemaker_client: Any, execution_arn: str, reused_from: Mapping[str, str]
) -> OutputLocations:
    """The outputs of the execution ``execution_arn``, whose steps named in ``reused_from`` reused the run of
    the execution given there (by ARN); each execution's definition and parameters read from the service."""

    runs = {arn: execution_run(sagemaker_client, arn) for arn in {execution_arn, *reused_from.values()}}
    sources = {step: runs[arn] for step, arn in reused_from.items()}
    return output_locations(runs[execution_arn], sources, REPORT_FILES)


def execution_run(sagemaker_client: Any, arn: str) -> ExecutionRun:
    """The execution ``arn`` as the service describes it: DescribePipelineDefinitionForExecution and
    ListPipelineParametersForExecution (every page)."""
    described = sagemaker_client.describe_pipeline_definition_for_execution(PipelineExecutionArn=arn)
    try:
        definition = json.loads(described["PipelineDefinition"])
    except json.JSONDecodeError as exc:
        raise DefinitionError(f"the definition of execution {arn} is not JSON: {exc}") from exc
    parameters: dict[str, str] = {}
    request: dict[str, Any] = {"PipelineExecutionArn": arn}
    while True:
        page = sagemaker_client.list_pipeline_parameters_for_execution(**request)
        parameters.update({item["Name"]: item["Value"] for item in page.get("PipelineParameters", [])})
        if not page.get("NextToken"):
            return ExecutionRun(arn.rsplit("/", 1)[-1], definition, parameters)
        request["NextToken"] = page["NextToken"]
