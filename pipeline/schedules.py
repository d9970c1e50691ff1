"""EventBridge Scheduler schedules of the pipeline, through the SDK's ``Pipeline.put_triggers``; a start the
scheduler cannot make (a denied role, a throttled or refused request) ends in the schedule's dead-letter
queue, where ``schedule show`` counts it, instead of vanishing.

The names and values sent here keep to botocore's ``scheduler`` and ``sqs`` models and SQS's documented rules:
the services enforce maximum lengths, patterns and ranges that botocore's client does not check.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from .parameters import ParameterValue, parameter_text

if TYPE_CHECKING:
    import boto3
    from sagemaker.mlops.workflow.pipeline import Pipeline

# What update_schedule takes again from get_schedule (it replaces the whole schedule; Target is set apart).
UPDATABLE = (
    "Name", "GroupName", "ScheduleExpression", "ScheduleExpressionTimezone", "FlexibleTimeWindow", "State",
    "StartDate", "EndDate", "Description", "KmsKeyArn", "ActionAfterCompletion",
)  # fmt: skip

# Scheduler model, Name: 1-64 of [0-9a-zA-Z-_.]. SQS CreateQueue, QueueName: 1-80 alphanumerics, hyphens and
# underscores. A pipeline name is up to 256 letters, digits and hyphens.
SCHEDULE_NAME_LIMIT = 64
QUEUE_NAME_LIMIT = 80
SCHEDULE_SUFFIX = "-schedule"
QUEUE_SUFFIX = "-schedule-dlq"
DIGEST_LENGTH = 8

# A start that has not been made within an hour is given up and dead-lettered rather than made late (the
# scheduler's default is 185 attempts over 24 hours, which can start a daily run on top of the next one).
# Model ranges: MaximumEventAgeInSeconds 60-86400, MaximumRetryAttempts 0-185.
RETRY_POLICY = {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 10}

# The dead-letter queue: SQS-managed server-side encryption (the scheduler role needs no KMS permission to
# send to it) and the longest retention SQS allows, 14 days (MessageRetentionPeriod 60-1209600 s).
QUEUE_ATTRIBUTES = {"SqsManagedSseEnabled": "true", "MessageRetentionPeriod": "1209600"}

# The SQS JSON protocol is query-compatible: the service sends the query protocol's error codes (in the
# x-amzn-query-error header, which botocore reads), moto the same; the model's shape names are kept too.
QUEUE_EXISTS_CODES = frozenset({"QueueAlreadyExists", "QueueNameExists"})
NO_QUEUE_CODES = frozenset({"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"})


def schedule_name(pipeline_name: str) -> str:
    """``<pipeline name>-schedule`` when it fits the scheduler's 64 characters, else a shortened form."""
    return fitted_name(pipeline_name, SCHEDULE_SUFFIX, SCHEDULE_NAME_LIMIT)


def dead_letter_queue_name(pipeline_name: str) -> str:
    """``<pipeline name>-schedule-dlq`` when it fits SQS's 80 characters, else a shortened form."""
    return fitted_name(pipeline_name, QUEUE_SUFFIX, QUEUE_NAME_LIMIT)


def fitted_name(pipeline_name: str, suffix: str, limit: int) -> str:
    """The name with its suffix, or, when that is too long, the name's head, ``_``, a short hash of the whole
    name, and the suffix. Pipeline names hold no ``_``, so a shortened name is never another pipeline's
    unshortened one; two long names with the same head differ in their hash."""
    if len(pipeline_name) + len(suffix) <= limit:
        return pipeline_name + suffix
    digest = hashlib.sha256(pipeline_name.encode()).hexdigest()[:DIGEST_LENGTH]
    head = pipeline_name[: limit - len(suffix) - len(digest) - 1].rstrip("-")
    return f"{head}_{digest}{suffix}"


@dataclass(frozen=True)
class PutSchedule:
    """What ``put_schedule`` set up."""

    arn: str
    dead_letter_queue_arn: str


def put_schedule(
    pipeline: Pipeline,
    session: boto3.Session,
    role_arn: str,
    cron: str | None,
    rate: str | None,
    enabled: bool,
    parameters: dict[str, ParameterValue],
) -> PutSchedule:
    """Create or update the schedule, with its dead-letter queue (created if missing). ``cron`` is
    EventBridge's six fields, ``rate`` e.g. ``"1 day"``. The queue, the retry policy and any parameter
    overrides are set on the schedule's target after ``put_triggers`` writes it: the SDK sets none of them
    (and, updating an existing schedule, drops what was there)."""
    from sagemaker.mlops.workflow.triggers import PipelineSchedule

    queue_arn = ensure_dead_letter_queue(session, dead_letter_queue_name(pipeline.name))
    name = schedule_name(pipeline.name)
    trigger = PipelineSchedule(
        name=name,
        cron=cron,
        rate=tuple(rate.split(None, 1)) if rate else None,
        enabled=enabled,
    )
    with _scheduler_role_accepted():
        (arn,) = pipeline.put_triggers(triggers=[trigger], role_arn=role_arn)
    _set_target(session, name, queue_arn, parameters)
    return PutSchedule(arn=str(arn), dead_letter_queue_arn=queue_arn)


def ensure_dead_letter_queue(session: boto3.Session, name: str) -> str:
    """The queue's ARN; created with ``QUEUE_ATTRIBUTES``, or given them again if it exists with others."""
    sqs = session.client("sqs")
    try:
        url = sqs.create_queue(QueueName=name, Attributes=QUEUE_ATTRIBUTES)["QueueUrl"]
    except ClientError as exc:  # the queue exists with other attributes (changed since we created it)
        if _error_code(exc) not in QUEUE_EXISTS_CODES:
            raise
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        sqs.set_queue_attributes(QueueUrl=url, Attributes=QUEUE_ATTRIBUTES)
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return str(attributes["QueueArn"])


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


def _set_target(
    session: boto3.Session, name: str, queue_arn: str, parameters: dict[str, ParameterValue]
) -> None:
    scheduler = session.client("scheduler")
    current = scheduler.get_schedule(Name=name)
    target = dict(current["Target"])
    target["DeadLetterConfig"] = {"Arn": queue_arn}
    target["RetryPolicy"] = dict(RETRY_POLICY)
    target["SageMakerPipelineParameters"] = (
        {
            "PipelineParameterList": [
                {"Name": key, "Value": parameter_text(value)} for key, value in sorted(parameters.items())
            ]
        }
        if parameters
        else {}  # what the SDK sends: the target is a pipeline, with no overrides
    )
    update = {key: current[key] for key in UPDATABLE if current.get(key) is not None}
    scheduler.update_schedule(**update, Target=target)


@dataclass(frozen=True)
class DeadLetterQueue:
    """The schedule's dead-letter queue; ``url`` and ``waiting`` are None when the queue no longer exists."""

    arn: str
    url: str | None
    waiting: int | None  # failed starts in it (SQS's ApproximateNumberOfMessages)


@dataclass(frozen=True)
class ScheduleDescription:
    """The schedule as ``schedule show`` reports it: the SDK's description (``describe_trigger``), with the
    parameter overrides and retry policy its target carries, and its dead-letter queue (None: it has none)."""

    name: str
    arn: str
    expression: str
    state: str
    start_date: str  # ISO 8601, as the SDK gives it
    role: str
    parameters: dict[str, str]
    retry_policy: dict[str, int] | None  # None: the scheduler's default
    dead_letter_queue: DeadLetterQueue | None

    def as_json(self) -> dict[str, Any]:
        queue = self.dead_letter_queue
        return {
            "name": self.name,
            "arn": self.arn,
            "expression": self.expression,
            "state": self.state,
            "start_date": self.start_date,
            "role": self.role,
            "parameters": self.parameters,
            "retry_policy": self.retry_policy,
            "dead_letter_queue": None
            if queue is None
            else {"arn": queue.arn, "url": queue.url, "failed_starts_waiting": queue.waiting},
        }

    def text(self) -> str:
        retry = self.retry_policy
        lines = [
            f"arn: {self.arn}",
            f"expression: {self.expression}",
            f"state: {self.state}",
            f"start date: {self.start_date}",
            f"role: {self.role}",
            f"parameters: {self.parameters}",
            "retry policy: "
            + (
                f"up to {retry['MaximumRetryAttempts']} retries within {retry['MaximumEventAgeInSeconds']} s"
                if retry
                else "the scheduler's default"
            ),
        ]
        queue = self.dead_letter_queue
        if queue is None:
            lines.append(
                "dead-letter queue: none, so a start that fails is lost: run schedule put again to add one"
            )
        elif queue.url is None:
            lines.append(
                f"dead-letter queue: {queue.arn} does not exist: run schedule put again to create it"
            )
        else:
            lines.append(f"dead-letter queue: {queue.arn}")
            hint = (
                f" (each says why: aws sqs receive-message --queue-url {queue.url})" if queue.waiting else ""
            )
            lines.append(f"failed starts waiting: {queue.waiting}{hint}")
        return "\n".join(lines)


def show_schedule(pipeline: Pipeline, session: boto3.Session) -> ScheduleDescription:
    """The pipeline's schedule, its target's settings and its dead-letter queue."""
    name = schedule_name(pipeline.name)
    described = pipeline.describe_trigger(trigger_name=name)
    target = session.client("scheduler").get_schedule(Name=name)["Target"]
    overrides = target.get("SageMakerPipelineParameters", {}).get("PipelineParameterList", [])
    retry = target.get("RetryPolicy")
    queue_arn = target.get("DeadLetterConfig", {}).get("Arn")
    return ScheduleDescription(
        name=name,
        arn=described["Schedule_Arn"],
        expression=described["Schedule_Expression"],
        state=described["Schedule_State"],
        start_date=described["Schedule_Start_Date"],
        role=described["Schedule_Role"],
        parameters={item["Name"]: item["Value"] for item in overrides},
        retry_policy=dict(retry) if retry else None,
        dead_letter_queue=dead_letter_queue(session, queue_arn) if queue_arn else None,
    )


def dead_letter_queue(session: boto3.Session, queue_arn: str) -> DeadLetterQueue:
    """The queue behind ``queue_arn`` and how many failed starts wait in it."""
    *_, account, queue = queue_arn.split(":")
    sqs = session.client("sqs")
    try:
        url = sqs.get_queue_url(QueueName=queue, QueueOwnerAWSAccountId=account)["QueueUrl"]
    except ClientError as exc:
        if _error_code(exc) in NO_QUEUE_CODES:
            return DeadLetterQueue(queue_arn, None, None)
        raise
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return DeadLetterQueue(queue_arn, url, int(attributes["Attributes"]["ApproximateNumberOfMessages"]))


def delete_schedule(pipeline: Pipeline) -> None:
    """Delete the schedule (if it exists). Its dead-letter queue is kept, with the failed starts it holds."""
    pipeline.delete_triggers(trigger_names=[schedule_name(pipeline.name)])


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
