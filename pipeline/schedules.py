"""EventBridge Scheduler schedules of the pipeline, through the SDK's ``Pipeline.put_triggers``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from sagemaker.mlops.workflow.pipeline import Pipeline
from sagemaker.mlops.workflow.triggers import PipelineSchedule

from .parameters import ParameterValue, parameter_text

# What update_schedule takes again from get_schedule (it replaces the whole schedule).
UPDATABLE = (
    "Name", "GroupName", "ScheduleExpression", "ScheduleExpressionTimezone", "FlexibleTimeWindow", "State",
    "StartDate", "EndDate", "Description", "KmsKeyArn", "ActionAfterCompletion",
)  # fmt: skip


def schedule_name(pipeline_name: str) -> str:
    return f"{pipeline_name}-schedule"


def put_schedule(
    pipeline: Pipeline,
    session: boto3.Session,
    role_arn: str,
    cron: str | None,
    rate: str | None,
    enabled: bool,
    parameters: dict[str, ParameterValue],
) -> str:
    """Create or update the schedule; return its ARN. ``cron`` is EventBridge's six fields, ``rate`` e.g.
    ``"1 day"``. Parameter overrides are set on the schedule's target after ``put_triggers`` creates it:
    the SDK passes none."""
    trigger = PipelineSchedule(
        name=schedule_name(pipeline.name),
        cron=cron,
        rate=tuple(rate.split(None, 1)) if rate else None,
        enabled=enabled,
    )
    with _scheduler_role_accepted():
        (arn,) = pipeline.put_triggers(triggers=[trigger], role_arn=role_arn)
    if parameters:
        _set_target_parameters(session, schedule_name(pipeline.name), parameters)
    return str(arn)


@contextmanager
def _scheduler_role_accepted() -> Iterator[None]:
    """SDK 3.27's ``put_triggers`` checks the scheduler's role as if it were a pipeline role (trusted by
    sagemaker.amazonaws.com), which a least-privilege scheduler role is not: it is trusted by
    scheduler.amazonaws.com only. The SDK's own switch turns that check off for this one call."""
    previous = os.environ.get("SAGEMAKER_VALIDATE_ROLE")
    os.environ["SAGEMAKER_VALIDATE_ROLE"] = "false"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("SAGEMAKER_VALIDATE_ROLE", None)
        else:
            os.environ["SAGEMAKER_VALIDATE_ROLE"] = previous


def _set_target_parameters(session: boto3.Session, name: str, parameters: dict[str, ParameterValue]) -> None:
    scheduler = session.client("scheduler")
    current = scheduler.get_schedule(Name=name)
    target = dict(current["Target"])
    target["SageMakerPipelineParameters"] = {
        "PipelineParameterList": [
            {"Name": key, "Value": parameter_text(value)} for key, value in sorted(parameters.items())
        ]
    }
    update = {key: current[key] for key in UPDATABLE if current.get(key) is not None}
    scheduler.update_schedule(**update, Target=target)


def show_schedule(pipeline: Pipeline, session: boto3.Session) -> dict[str, Any]:
    """The SDK's description of the schedule, with the parameter overrides its target carries."""
    name = schedule_name(pipeline.name)
    described = dict(pipeline.describe_trigger(trigger_name=name))
    target = session.client("scheduler").get_schedule(Name=name)["Target"]
    overrides = target.get("SageMakerPipelineParameters", {}).get("PipelineParameterList", [])
    described["Schedule_Parameters"] = {item["Name"]: item["Value"] for item in overrides}
    return described


def delete_schedule(pipeline: Pipeline) -> None:
    pipeline.delete_triggers(trigger_names=[schedule_name(pipeline.name)])
