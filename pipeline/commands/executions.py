"""The deployed pipeline's executions: ``start`` one, the ``status`` of one, the list of ``executions``."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from ..errors import NotFoundError
from .deployed import deployed, starts_checked
from .json_output import print_json
from .settings import config_of, overrides

if TYPE_CHECKING:
    from sagemaker.mlops.workflow.pipeline import Pipeline

LATEST = 100  # how many of the latest executions an execution id is looked for among


def start(args: argparse.Namespace) -> int:
    from ..parameters import parameter_text

    config = config_of(args)
    given = overrides(config, args.param)  # checked before any API call
    _, pipeline = deployed(config)
    if not starts_checked(config, pipeline, given, args.display_name):
        print("error: nothing was started", file=sys.stderr)
        return 1
    values = {name: parameter_text(value) for name, value in given.items()}
    execution = pipeline.start(parameters=values or None, execution_display_name=args.display_name)
    # With --wait --output json, standard output holds the execution's report alone.
    print(
        f"started {execution.arn}", file=sys.stderr if args.wait and config.output == "json" else sys.stdout
    )
    if args.wait:
        return _report(pipeline, execution.arn, args.wait, args.poll, config.output)
    return 0


def status(args: argparse.Namespace) -> int:
    config = config_of(args)
    _, pipeline = deployed(config)
    arn = _execution_arn(pipeline, args.execution)
    return _report(pipeline, arn, args.wait, args.poll, config.output)


def _report(pipeline: Pipeline, arn: str, wait: bool, poll: float, output: str) -> int:
    """Print the execution's outcome, steps and outputs (after waiting for it to finish, if asked); its
    outcome is the exit code."""
    from botocore.exceptions import ClientError
    from sagemaker.mlops.workflow.pipeline import PipelineExecution

    from ..errors import DefinitionError
    from ..execution_outputs import fetch_output_locations
    from ..executions import (
        ExecutionReport,
        exit_code,
        list_steps,
        reused_from,
        service_error,
        wait_until_finished,
    )

    execution = PipelineExecution(arn=arn, sagemaker_session=pipeline.sagemaker_session)
    if wait:  # each change of status as it happens: on standard error when standard output is JSON
        progress = print if output == "table" else lambda line: print(line, file=sys.stderr, flush=True)
        described = wait_until_finished(execution.describe, poll, progress)
    else:
        described = execution.describe()
    rows, steps_unavailable = list_steps(execution.list_steps)
    outputs, outputs_unavailable = None, ""
    try:
        client = pipeline.sagemaker_session.sagemaker_client
        outputs = fetch_output_locations(client, arn, reused_from(rows))
    except ClientError as exc:
        outputs_unavailable = service_error(exc)
    except DefinitionError as exc:
        outputs_unavailable = str(exc)
    report = ExecutionReport(
        arn=arn,
        status=described["PipelineExecutionStatus"],
        failure_reason=described.get("FailureReason", "") or "",
        steps=rows,
        steps_unavailable=steps_unavailable,
        outputs=outputs,
        outputs_unavailable=outputs_unavailable,
    )
    if output == "json":
        print_json(report.as_json())
    else:
        print(report.text())
    return exit_code(report.status)


def _execution_arn(pipeline: Pipeline, reference: str | None) -> str:
    if reference and reference.startswith("arn:"):
        return reference
    summaries = pipeline.list_executions(sort_by="CreationTime", sort_order="Descending", max_results=LATEST)
    for summary in summaries.get("PipelineExecutionSummaries", []):
        if reference is None or summary["PipelineExecutionArn"].endswith(f"/{reference}"):
            return str(summary["PipelineExecutionArn"])
    if reference is None:
        raise NotFoundError(f"pipeline {pipeline.name} has no executions yet")
    raise NotFoundError(f"no execution {reference!r} among the latest {LATEST} of pipeline {pipeline.name}")


def executions(args: argparse.Namespace) -> int:
    from ..executions import execution_json, executions_table

    config = config_of(args)
    _, pipeline = deployed(config)
    summaries = pipeline.list_executions(
        sort_by="CreationTime", sort_order="Descending", max_results=args.limit
    )
    rows = summaries.get("PipelineExecutionSummaries", [])
    if config.output == "json":
        print_json({"pipeline_name": pipeline.name, "executions": [execution_json(row) for row in rows]})
    else:
        print(executions_table(rows) if rows else f"pipeline {pipeline.name} has no executions yet")
    return 0
