"""Handlers of the ``waveform-pipeline`` commands: each resolves the configuration, acts, and returns an exit
code; what fails raises one of ``errors``' family.

Each handler imports what it needs when it runs: the SageMaker SDK only for commands that call AWS or build a
definition, after the region is known (``aws_session``); the local runner only for ``run-local``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from .config import PipelineConfig, load_config
from .errors import ConfigError, NotFoundError, PipelineError
from .parameters import ParameterValue, parse_overrides, pipeline_parameters

if TYPE_CHECKING:
    import boto3
    from sagemaker.mlops.workflow.pipeline import Pipeline

    from .step_code import StepCode

SETTINGS = ("profile", "region", "pipeline_name", "role_arn", "bucket", "prefix", "groups", "image_uri",
            "subnets", "security_group_ids", "tags", "kms_key_id", "scheduler_role_arn")  # fmt: skip


def config_of(args: argparse.Namespace) -> PipelineConfig:
    flags = {name: getattr(args, name, None) for name in SETTINGS}
    return load_config(flags, config_file=getattr(args, "config", None))


def _built(args: argparse.Namespace) -> tuple[PipelineConfig, boto3.Session, Pipeline, dict[str, StepCode]]:
    """The pipeline as this checkout defines it, with its step code packages (built once, here)."""
    config = config_of(args)
    from .aws_session import boto_session
    from .step_code import code_root, step_codes

    session = boto_session(config)  # before the SDK's import: it needs the region
    from .definition import get_pipeline

    codes = step_codes(code_root(config))
    return config, session, get_pipeline(config, session, codes), codes


def _deployed(config: PipelineConfig) -> tuple[boto3.Session, Pipeline]:
    """A handle on the deployed pipeline by name: no role or bucket needed."""
    from .aws_session import boto_session

    session = boto_session(config)
    from sagemaker.core.helper.session_helper import Session
    from sagemaker.mlops.workflow.pipeline import Pipeline

    return session, Pipeline(name=config.pipeline_name, sagemaker_session=Session(boto_session=session))


def definition(args: argparse.Namespace) -> int:
    from .definition_json import pretty

    _, _, pipeline, _ = _built(args)
    text = pretty(pipeline.definition())
    if args.output:
        try:
            args.output.write_text(text)
        except OSError as exc:
            raise PipelineError(
                f"cannot write the definition to {args.output}: {exc.strerror or exc}"
            ) from exc
        print(f"definition written to {args.output}")
    else:
        sys.stdout.write(text)
    return 0


def graph(args: argparse.Namespace) -> int:
    from .definition_json import mermaid

    _, _, pipeline, _ = _built(args)
    sys.stdout.write(mermaid(json.loads(pipeline.definition())))
    return 0


def diff(args: argparse.Namespace) -> int:
    from .definition_json import definition_changes
    from .deployment import deployed_definition

    _, _, pipeline, _ = _built(args)
    changes = definition_changes(deployed_definition(pipeline), json.loads(pipeline.definition()))
    print("\n".join(changes) if changes else "no changes: the deployed definition is the same")
    return 1 if changes and args.exit_code else 0


def upsert(args: argparse.Namespace) -> int:
    from .deployment import upload_step_code, upsert_pipeline

    config, session, pipeline, codes = _built(args)
    uploaded = upload_step_code(session, config, codes.values())
    response = upsert_pipeline(pipeline, config, args.max_parallel_steps)
    for uri in uploaded:
        print(f"uploaded {uri}")
    print(f"upserted {response['PipelineArn']}")
    return 0


def _overrides(config: PipelineConfig, items: list[str]) -> dict[str, ParameterValue]:
    return parse_overrides(items, pipeline_parameters(config))


def start(args: argparse.Namespace) -> int:
    from .parameters import parameter_text

    config = config_of(args)
    overrides = _overrides(config, args.param)  # checked before any API call
    _, pipeline = _deployed(config)
    values = {name: parameter_text(value) for name, value in overrides.items()}
    execution = pipeline.start(parameters=values or None, execution_display_name=args.display_name)
    print(f"started {execution.arn}")
    if args.wait:
        return _report(pipeline, execution.arn, wait=True, poll=args.poll)
    return 0


def status(args: argparse.Namespace) -> int:
    _, pipeline = _deployed(config_of(args))
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
        raise NotFoundError(f"pipeline {pipeline.name} has no executions yet")
    raise NotFoundError(f"no execution {reference!r} among the latest 100 of pipeline {pipeline.name}")


def executions(args: argparse.Namespace) -> int:
    from .executions import executions_table

    _, pipeline = _deployed(config_of(args))
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
    session, pipeline = _deployed(config)
    arn = put_schedule(pipeline, session, role, args.cron, args.rate, not args.disabled, overrides)
    print(f"schedule {arn} {'disabled' if args.disabled else 'enabled'}")
    return 0


def schedule_show(args: argparse.Namespace) -> int:
    from .schedules import show_schedule

    session, pipeline = _deployed(config_of(args))
    described: dict[str, Any] = show_schedule(pipeline, session)
    for key, value in described.items():
        print(f"{key.removeprefix('Schedule_').replace('_', ' ').lower()}: {value}")
    return 0


def schedule_delete(args: argparse.Namespace) -> int:
    from .schedules import delete_schedule, schedule_name

    _, pipeline = _deployed(config_of(args))
    delete_schedule(pipeline)
    print(f"schedule {schedule_name(pipeline.name)} deleted (if it existed)")
    return 0


def run_local(args: argparse.Namespace) -> int:
    from .config import parse_groups
    from .local.run import run_locally
    from .parameters import parameter_text

    groups = parse_groups(args.groups) if args.groups else None
    overrides = {
        name: parameter_text(value) for name, value in _overrides(PipelineConfig(), args.param).items()
    }
    result = run_locally(
        args.input,
        args.output,
        groups,
        args.jobs,
        use_cache=not args.no_cache,
        progress=not args.no_progress,
        parameters=overrides,
    )
    ran = len(result.outcomes) - len(result.reused)
    print(f"execution {result.execution_id}: {ran} step(s) ran, {len(result.reused)} reused from the cache")
    if result.reused:
        sources = sorted({outcome.source_execution for outcome in result.reused})
        print(f"reused: {', '.join(o.name for o in result.reused)} (from {', '.join(sources)})")
    print(f"dataset: {result.combined / 'dataset'}")
    print(f"report:  {result.combined / 'report.html'}")
    print(f"groups:  {', '.join(str(folder) for folder in result.group_outputs)}")
    return 0
