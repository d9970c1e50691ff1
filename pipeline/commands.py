"""Handlers of the SDK-side commands: each resolves the configuration, acts, and returns an exit code.

The SageMaker SDK is imported inside the handlers, after the region is known (see ``aws_session``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from .aws_session import boto_session
from .config import ConfigError, PipelineConfig, load_config
from .definition_json import diff as definition_diff
from .definition_json import mermaid, pretty
from .executions import ParameterOverrideError
from .local_run import LocalRunError

if TYPE_CHECKING:
    import boto3
    from sagemaker.mlops.workflow.pipeline import Pipeline


class CommandError(Exception):
    """A command cannot go on; the message says why in one line."""


def _expected_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [
        CommandError, ConfigError, ParameterOverrideError, LocalRunError, ClientError, BotoCoreError, OSError
    ]  # fmt: skip
    try:
        from sagemaker.core.helper.iam_role_resolver import RoleValidationError

        errors.append(RoleValidationError)
    except ImportError:  # the SDK moved it: the error then reaches the user as a traceback, not silently
        pass
    return tuple(errors)


EXPECTED_ERRORS = _expected_errors()


def one_line(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        operation = getattr(exc, "operation_name", "request")
        return f"{operation} failed: {error.get('Code', 'error')}: {error.get('Message', '')}".strip()
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


SETTINGS = ("profile", "region", "pipeline_name", "role_arn", "bucket", "prefix", "groups", "image_uri",
            "subnets", "security_group_ids", "tags", "scheduler_role_arn")  # fmt: skip


def config_of(args: argparse.Namespace) -> PipelineConfig:
    flags = {name: getattr(args, name, None) for name in SETTINGS}
    return load_config(flags, config_file=getattr(args, "config", None))


def _built(args: argparse.Namespace) -> tuple[PipelineConfig, boto3.Session, Pipeline]:
    config = config_of(args)
    session = boto_session(config)
    from .definition import get_pipeline

    return config, session, get_pipeline(config, session)


def _deployed(args: argparse.Namespace) -> tuple[PipelineConfig, boto3.Session, Pipeline]:
    """A handle on the deployed pipeline by name: no role or bucket needed."""
    config = config_of(args)
    session = boto_session(config)
    from sagemaker.core.helper.session_helper import Session
    from sagemaker.mlops.workflow.pipeline import Pipeline

    return (
        config,
        session,
        Pipeline(name=config.pipeline_name, sagemaker_session=Session(boto_session=session)),
    )


def definition(args: argparse.Namespace) -> int:
    _, _, pipeline = _built(args)
    text = pretty(pipeline.definition())
    if args.output:
        args.output.write_text(text)
        print(f"definition written to {args.output}")
    else:
        sys.stdout.write(text)
    return 0


def graph(args: argparse.Namespace) -> int:
    _, _, pipeline = _built(args)
    sys.stdout.write(mermaid(json.loads(pipeline.definition())))
    return 0


def diff(args: argparse.Namespace) -> int:
    from .deployment import deployed_definition

    _, _, pipeline = _built(args)
    changes = definition_diff(deployed_definition(pipeline), json.loads(pipeline.definition()))
    print("\n".join(changes) if changes else "no changes: the deployed definition is the same")
    return 1 if changes and args.exit_code else 0


def upsert(args: argparse.Namespace) -> int:
    from .code_package import PROJECT_ROOT
    from .definition import step_codes
    from .deployment import upload_step_code
    from .deployment import upsert as upsert_pipeline

    config, session, pipeline = _built(args)
    uploaded = upload_step_code(session, config, list(step_codes(Path(config.code_root or PROJECT_ROOT))))
    response = upsert_pipeline(pipeline, config, args.max_parallel_steps)
    for uri in uploaded:
        print(f"uploaded {uri}")
    print(f"upserted {response['PipelineArn']}")
    return 0


def _overrides(config: PipelineConfig, items: list[str]) -> dict[str, str | int | float | bool]:
    from .executions import parse_overrides
    from .parameters import pipeline_parameters

    return parse_overrides(items, pipeline_parameters(config).as_list())


def start(args: argparse.Namespace) -> int:
    config = config_of(args)
    overrides = _overrides(config, args.param)  # checked before any API call
    config, _, pipeline = _deployed(args)
    from .definition_eval import parameter_text

    values = {name: parameter_text(value) for name, value in overrides.items()}
    execution = pipeline.start(parameters=values or None, execution_display_name=args.display_name)
    print(f"started {execution.arn}")
    if args.wait:
        return _report(pipeline, execution.arn, wait=True, poll=args.poll)
    return 0


def status(args: argparse.Namespace) -> int:
    _, _, pipeline = _deployed(args)
    arn = _execution_arn(pipeline, args.execution)
    return _report(pipeline, arn, wait=args.wait, poll=args.poll)


def _report(pipeline: Pipeline, arn: str, wait: bool, poll: float) -> int:
    from sagemaker.mlops.workflow.pipeline import PipelineExecution

    from .executions import exit_code, list_steps, steps_table, wait_until_finished

    execution = PipelineExecution(arn=arn, sagemaker_session=pipeline.sagemaker_session)
    described = wait_until_finished(execution.describe, poll, print) if wait else execution.describe()
    state = described["PipelineExecutionStatus"]
    print(f"execution {arn.rsplit('/', 1)[-1]}: {state}")
    if described.get("FailureReason"):
        print(f"failure: {described['FailureReason']}")
    rows, unavailable = list_steps(execution.list_steps)
    print(steps_table(rows) if rows else unavailable or "no steps have started")
    return exit_code(state)


def _execution_arn(pipeline: Pipeline, reference: str | None) -> str:
    if reference and reference.startswith("arn:"):
        return reference
    summaries = pipeline.list_executions(sort_by="CreationTime", sort_order="Descending", max_results=100)
    for summary in summaries.get("PipelineExecutionSummaries", []):
        if reference is None or summary["PipelineExecutionArn"].endswith(f"/{reference}"):
            return str(summary["PipelineExecutionArn"])
    if reference is None:
        raise CommandError(f"pipeline {pipeline.name} has no executions yet")
    raise CommandError(f"no execution {reference!r} among the latest 100 of pipeline {pipeline.name}")


def executions(args: argparse.Namespace) -> int:
    from .executions import executions_table

    _, _, pipeline = _deployed(args)
    summaries = pipeline.list_executions(
        sort_by="CreationTime", sort_order="Descending", max_results=args.limit
    )
    rows = summaries.get("PipelineExecutionSummaries", [])
    print(executions_table(rows) if rows else f"pipeline {pipeline.name} has no executions yet")
    return 0


def schedule_put(args: argparse.Namespace) -> int:
    from .schedules import put_schedule

    config = config_of(args)
    overrides = _overrides(config, args.param)
    role = config.scheduler_role_arn or config.role_arn
    if not role:
        raise ConfigError("scheduler role is not set: give --role-arn or WAVEFORM_SCHEDULER_ROLE_ARN")
    config, session, pipeline = _deployed(args)
    arn = put_schedule(pipeline, session, role, args.cron, args.rate, not args.disabled, overrides)
    print(f"schedule {arn} {'disabled' if args.disabled else 'enabled'}")
    return 0


def schedule_show(args: argparse.Namespace) -> int:
    from .schedules import show_schedule

    _, session, pipeline = _deployed(args)
    described: dict[str, Any] = show_schedule(pipeline, session)
    for key, value in described.items():
        print(f"{key.removeprefix('Schedule_').replace('_', ' ').lower()}: {value}")
    return 0


def schedule_delete(args: argparse.Namespace) -> int:
    from .schedules import delete_schedule, schedule_name

    _, _, pipeline = _deployed(args)
    delete_schedule(pipeline)
    print(f"schedule {schedule_name(pipeline.name)} deleted (if it existed)")
    return 0


def run_local(args: argparse.Namespace) -> int:
    from .config import parse_groups
    from .definition_eval import parameter_text
    from .local_run import run_local as run

    groups = parse_groups(args.groups) if args.groups else None
    overrides = {
        name: parameter_text(value) for name, value in _overrides(PipelineConfig(), args.param).items()
    }
    result = run(
        args.input,
        args.output,
        groups,
        args.jobs,
        use_cache=not args.no_cache,
        progress=not args.no_progress,
        parameters=overrides,
    )
    combined = result.output_of("Combine")
    ran = len(result.outcomes) - len(result.reused)
    print(f"execution {result.execution_id}: {ran} step(s) ran, {len(result.reused)} reused from the cache")
    if result.reused:
        sources = sorted({outcome.source_execution for outcome in result.reused})
        print(f"reused: {', '.join(o.name for o in result.reused)} (from {', '.join(sources)})")
    print(f"dataset: {combined / 'dataset'}")
    print(f"report:  {combined / 'report.html'}")
    extracts = [outcome.name for outcome in result.outcomes if outcome.name != "Combine"]
    print(f"groups:  {', '.join(sorted({str(result.output_of(name).parent) for name in extracts}))}")
    return 0
