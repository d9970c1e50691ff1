"""EventBridge Scheduler schedules of the pipeline, through the SDK's ``Pipeline.put_triggers``."""

from __future__ import annotations

from typing import Any

import boto3
from sagemaker.mlops.workflow.pipeline import Pipeline
from sagemaker.mlops.workflow.triggers import PipelineSchedule

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
    parameters: dict[str, str | int | float | bool],
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
    (arn,) = pipeline.put_triggers(triggers=[trigger], role_arn=role_arn)
    if parameters:
        _set_target_parameters(session, schedule_name(pipeline.name), parameters)
    return str(arn)


def _set_target_parameters(
    session: boto3.Session, name: str, parameters: dict[str, str | int | float | bool]
) -> None:
    scheduler = session.client("scheduler")
    current = scheduler.get_schedule(Name=name)
    target = dict(current["Target"])
    target["SageMakerPipelineParameters"] = {
        "PipelineParameterList": [
            {"Name": key, "Value": _text(value)} for key, value in sorted(parameters.items())
        ]
    }
    update = {key: current[key] for key in UPDATABLE if current.get(key) is not None}
    scheduler.update_schedule(**update, Target=target)


def _text(value: str | int | float | bool) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


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
