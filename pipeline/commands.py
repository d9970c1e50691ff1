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

    from .preflight import Preflight
    from .step_code import StepCode

SETTINGS = ("profile", "region", "pipeline_name", "role_arn", "bucket", "prefix", "groups", "image_uri",
            "subnets", "security_group_ids", "tags", "kms_key_id", "scheduler_role_arn",
            "max_parallel_steps")  # fmt: skip


def config_of(args: argparse.Namespace) -> PipelineConfig:
    """The resolved settings; their region becomes every AWS client's default at once, before any handler
    imports the SDK (which creates clients as it is imported)."""
    from .aws_session import export_region

    flags = {name: getattr(args, name, None) for name in SETTINGS}
    config = load_config(flags, config_file=getattr(args, "config", None))
    export_region(config)
    return config


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
    _, _, pipeline, _ = _built(args)
    from .definition_json import definition_changes
    from .deployment import deployed_definition

    changes = definition_changes(deployed_definition(pipeline), json.loads(pipeline.definition()))
    print("\n".join(changes) if changes else "no changes: the deployed definition is the same")
    return 1 if changes and args.exit_code else 0


def check(args: argparse.Namespace) -> int:
    config, _, pipeline, _ = _built(args)
    overrides = _overrides(config, args.param)
    found = _checked(config, pipeline, overrides, args.display_name)
    for note in found.notes:
        print(note)
    if found.problems:
        return 1
    steps = len(pipeline.steps)
    print(f"ok: the requests of the pipeline, its {steps} steps and its schedule fit the service's rules")
    return 0


def _checked(
    config: PipelineConfig,
    pipeline: Pipeline,
    overrides: dict[str, ParameterValue] | None = None,
    display_name: str | None = None,
) -> Preflight:
    """The preflight check of this deployment; each problem printed as one ``error:`` line."""
    from .deployment import pipeline_description
    from .preflight import check_deployment

    description = pipeline_description(config, pipeline)
    found = check_deployment(config, pipeline.definition(), description, overrides, display_name)
    for problem in found.problems:
        print(f"error: {problem}", file=sys.stderr)
    return found


def upsert(args: argparse.Namespace) -> int:
    config, session, pipeline, codes = _built(args)
    if _checked(config, pipeline).problems:
        print("error: nothing was deployed (see waveform-pipeline check)", file=sys.stderr)
        return 1
    from .deployment import upload_step_code, upsert_pipeline

    uploaded = upload_step_code(session, config, codes.values())
    response = upsert_pipeline(pipeline, config)
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
    if not _starts_checked(config, pipeline, overrides, args.display_name):
        print("error: nothing was started", file=sys.stderr)
        return 1
    values = {name: parameter_text(value) for name, value in overrides.items()}
    execution = pipeline.start(parameters=values or None, execution_display_name=args.display_name)
    print(f"started {execution.arn}")
    if args.wait:
        return _report(pipeline, execution.arn, wait=True, poll=args.poll)
    return 0


def _starts_checked(
    config: PipelineConfig,
    pipeline: Pipeline,
    overrides: dict[str, ParameterValue],
    display_name: str | None = None,
) -> bool:
    """Whether the deployed pipeline, started with ``overrides``, sends requests the service accepts (each
    problem printed as one ``error:`` line)."""
    from .deployment import deployed_definition
    from .preflight import check_start

    deployed = deployed_definition(pipeline)
    if deployed is None:
        raise NotFoundError(f"pipeline {pipeline.name} is not deployed: run waveform-pipeline upsert first")
    found = check_start(config, json.dumps(deployed), overrides, display_name)
    for problem in found.problems:
        print(f"error: {problem}", file=sys.stderr)
    return not found.problems


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
    from .schedules import RETRY_POLICY, put_schedule

    config = config_of(args)
    overrides = _overrides(config, args.param)
    role = config.scheduler_role_arn or config.role_arn
    if not role:
        raise ConfigError("scheduler role is not set: give --role-arn or WAVEFORM_SCHEDULER_ROLE_ARN")
    session, pipeline = _deployed(config)
    if not _starts_checked(config, pipeline, overrides):  # the starts the schedule will make
        print("error: the schedule was not put", file=sys.stderr)
        return 1
    put = put_schedule(pipeline, session, role, args.cron, args.rate, not args.disabled, overrides)
    print(f"schedule {put.arn} {'disabled' if args.disabled else 'enabled'}")
    print(
        f"a start that fails (after up to {RETRY_POLICY['MaximumRetryAttempts']} retries within "
        f"{RETRY_POLICY['MaximumEventAgeInSeconds']} s) goes to the dead-letter queue "
        f"{put.dead_letter_queue_arn}: waveform-pipeline schedule show counts them"
    )
    return 0


def schedule_show(args: argparse.Namespace) -> int:
    from .schedules import show_schedule

    session, pipeline = _deployed(config_of(args))
    described: dict[str, Any] = show_schedule(pipeline, session)
    queue = described.pop("Schedule_Dead_Letter_Queue")
    for key, value in described.items():
        print(f"{key.removeprefix('Schedule_').replace('_', ' ').lower()}: {value}")
    if queue is None:
        print("dead-letter queue: none, so a start that fails is lost: run schedule put again to add one")
    elif queue.url is None:
        print(f"dead-letter queue: {queue.arn} does not exist: run schedule put again to create it")
    else:
        print(f"dead-letter queue: {queue.arn}")
        hint = f" (each says why: aws sqs receive-message --queue-url {queue.url})" if queue.waiting else ""
        print(f"failed starts waiting: {queue.waiting}{hint}")
    return 0


def schedule_delete(args: argparse.Namespace) -> int:
    from .schedules import dead_letter_queue_name, delete_schedule, schedule_name

    _, pipeline = _deployed(config_of(args))
    delete_schedule(pipeline)
    print(f"schedule {schedule_name(pipeline.name)} deleted (if it existed)")
    print(
        f"its dead-letter queue {dead_letter_queue_name(pipeline.name)} is kept with the failed starts it "
        "holds (for 14 days); aws sqs delete-queue deletes it"
    )
    return 0


def run_local(args: argparse.Namespace) -> int:
    from .config import parse_groups
    from .local.run import run_locally
    from .local.summary import summary_lines
    from .parameters import parameter_text

    groups = parse_groups(args.groups, "--groups") if args.groups is not None else None
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
    print("\n".join(summary_lines(result, args.output)))
    return 0
