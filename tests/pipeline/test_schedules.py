"""``schedule put / show / delete`` through the real SDK and boto3 to moto's server: the schedule, its
target's parameter overrides, retry policy and dead-letter queue, and names that fit the services' rules."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import botocore.session
import pytest

from pipeline.schedules import RETRY_POLICY, dead_letter_queue_name, schedule_name
from tests.aws import MotoAws
from tests.pipeline.cli_fixtures import PIPELINE, Cli

# SQS's rules for a queue name and its retention (the model's shapes carry neither; the CreateQueue API
# reference does): 1-80 alphanumerics, hyphens and underscores; MessageRetentionPeriod at most 14 days.
SQS_QUEUE_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")
SQS_MAX_RETENTION_SECONDS = 1_209_600


def scheduler_shape(*path: str) -> Any:
    """The shape at ``path`` under CreateSchedule's input in botocore's scheduler model."""
    shape = botocore.session.get_session().get_service_model("scheduler").operation_model("CreateSchedule")
    shape = shape.input_shape
    for member in path:
        shape = shape.members[member]
    return shape


def fits(shape: Any, value: str) -> bool:
    metadata = shape.metadata
    pattern = metadata.get("pattern")
    return metadata.get("min", 0) <= len(value) <= metadata.get("max", len(value)) and (
        pattern is None or re.fullmatch(pattern, value) is not None
    )


def put(cli: Cli, role: str, *args: str) -> str:
    code, out, err = cli("schedule", "put", *args, "--scheduler-role-arn", role)
    assert code == 0, err
    return out


def queue_url(aws: MotoAws, name: str = dead_letter_queue_name(PIPELINE)) -> str:
    return str(aws.client("sqs").get_queue_url(QueueName=name)["QueueUrl"])


def queue_attributes(aws: MotoAws, *names: str) -> dict[str, str]:
    response = aws.client("sqs").get_queue_attributes(QueueUrl=queue_url(aws), AttributeNames=list(names))
    return dict(response["Attributes"])


@pytest.fixture
def scheduled(deployable: Cli, aws: MotoAws) -> str:
    """The default pipeline deployed, and the ARN of a role the scheduler can assume."""
    assert deployable("upsert")[0] == 0
    return aws.create_role("waveform-scheduler", service="scheduler.amazonaws.com")


def test_schedule_put_show_delete(deployable: Cli, aws: MotoAws, scheduled: str) -> None:
    scheduler_role = scheduled
    out = put(deployable, scheduler_role, "--cron", "0 3 * * ? *", "--param", "InputVersion=2026-11")
    assert out.startswith(
        f"schedule arn:aws:scheduler:us-east-1:{aws.account_id}:schedule/default/{PIPELINE}-schedule"
    )
    code, out, _ = deployable("schedule", "show")
    assert "expression: cron(0 3 * * ? *)" in out and "state: ENABLED" in out
    assert "parameters: {'InputVersion': '2026-11'}" in out and f"role: {scheduler_role}" in out
    target = aws.client("scheduler").get_schedule(Name=f"{PIPELINE}-schedule")["Target"]
    assert target["Arn"].endswith(f":pipeline/{PIPELINE}")

    put(deployable, scheduler_role, "--rate", "1 day", "--disabled")
    out = deployable("schedule", "show")[1]
    assert "expression: rate(1 day)" in out and "state: DISABLED" in out and "parameters: {}" in out

    code, _, err = deployable(
        "schedule", "put", "--cron", "0 3 * * ? *", "--param", "Bad=1", "--scheduler-role-arn", scheduler_role
    )
    assert code == 1 and err.startswith("error: unknown parameter 'Bad'")

    code, out, _ = deployable("schedule", "delete")
    assert code == 0
    assert out.splitlines() == [
        f"schedule {PIPELINE}-schedule deleted (if it existed)",
        f"its dead-letter queue {PIPELINE}-schedule-dlq is kept with the failed starts it holds "
        "(for 14 days); aws sqs delete-queue deletes it",
    ]
    queue_url(aws)  # kept, as it says
    code, _, err = deployable("schedule", "show")
    assert code == 1 and err.startswith("error: GetSchedule failed: ResourceNotFoundException")


def test_put_sets_an_encrypted_dead_letter_queue_and_a_retry_policy_on_the_target(
    deployable: Cli,
    aws: MotoAws,
    scheduled: str,
) -> None:
    out = put(deployable, scheduled, "--cron", "0 3 * * ? *", "--param", "StrictMode=true")
    attributes = queue_attributes(aws, "All")
    assert queue_url(aws).endswith(f"/{PIPELINE}-schedule-dlq")  # the default pipeline's: a short name
    assert attributes["SqsManagedSseEnabled"] == "true"  # no KMS permission needed to send to it
    assert int(attributes["MessageRetentionPeriod"]) == SQS_MAX_RETENTION_SECONDS
    queue_arn = attributes["QueueArn"]
    assert out.splitlines()[1] == (
        "a start that fails (after up to 10 retries within 3600 s) goes to the dead-letter queue "
        f"{queue_arn}: waveform-pipeline schedule show counts them"
    )

    def target() -> dict[str, Any]:
        return dict(aws.client("scheduler").get_schedule(Name=schedule_name(PIPELINE))["Target"])

    assert target()["DeadLetterConfig"] == {"Arn": queue_arn}
    assert fits(scheduler_shape("Target", "DeadLetterConfig", "Arn"), queue_arn)
    assert target()["RetryPolicy"] == RETRY_POLICY
    for field, value in RETRY_POLICY.items():
        limits = scheduler_shape("Target", "RetryPolicy", field).metadata
        assert limits["min"] <= value <= limits["max"]
    assert target()["SageMakerPipelineParameters"] == {
        "PipelineParameterList": [{"Name": "StrictMode", "Value": "true"}]
    }

    # put_triggers replaces the whole target (dropping the queue and policy); put sets them again, and
    # gives the queue its attributes back if they were changed by hand.
    aws.client("sqs").set_queue_attributes(
        QueueUrl=queue_url(aws), Attributes={"MessageRetentionPeriod": "60", "SqsManagedSseEnabled": "false"}
    )
    put(deployable, scheduled, "--rate", "1 day")
    assert target()["DeadLetterConfig"] == {"Arn": queue_arn} and target()["RetryPolicy"] == RETRY_POLICY
    assert target()["SageMakerPipelineParameters"] == {}
    attributes = queue_attributes(aws, "MessageRetentionPeriod", "SqsManagedSseEnabled")
    assert attributes == {
        "MessageRetentionPeriod": str(SQS_MAX_RETENTION_SECONDS),
        "SqsManagedSseEnabled": "true",
    }
    assert len(aws.client("sqs").list_queues()["QueueUrls"]) == 1


def test_show_counts_the_failed_starts_waiting_in_the_dead_letter_queue(
    deployable: Cli,
    aws: MotoAws,
    scheduled: str,
) -> None:
    put(deployable, scheduled, "--cron", "0 3 * * ? *")
    queue_arn = queue_attributes(aws, "QueueArn")["QueueArn"]
    code, out, _ = deployable("schedule", "show")
    assert code == 0
    assert "retry policy: up to 10 retries within 3600 s\n" in out
    assert out.endswith(f"dead-letter queue: {queue_arn}\nfailed starts waiting: 0\n")
    code, out, _ = deployable("--output", "json", "schedule", "show")
    assert code == 0
    document = json.loads(out)  # one JSON document, fields for a script to read
    assert document["name"] == schedule_name(PIPELINE) and document["state"] == "ENABLED"
    assert document["expression"] == "cron(0 3 * * ? *)" and document["role"] == scheduled
    assert document["parameters"] == {} and document["retry_policy"] == RETRY_POLICY
    assert document["dead_letter_queue"] == {
        "arn": queue_arn,
        "url": queue_url(aws),
        "failed_starts_waiting": 0,
    }
    assert datetime.fromisoformat(document["start_date"]).tzinfo is not None

    # What EventBridge Scheduler sends when the scheduler role may not start the pipeline.
    aws.client("sqs").send_message(
        QueueUrl=queue_url(aws), MessageBody='{"errorCode": "AccessDeniedException"}'
    )
    out = deployable("schedule", "show")[1]
    assert out.endswith(
        f"failed starts waiting: 1 (each says why: aws sqs receive-message --queue-url {queue_url(aws)})\n"
    )

    aws.client("sqs").delete_queue(QueueUrl=queue_url(aws))
    out = deployable("schedule", "show")[1]
    assert out.endswith(
        f"dead-letter queue: {queue_arn} does not exist: run schedule put again to create it\n"
    )

    # A schedule put before schedules had a dead-letter queue.
    scheduler = aws.client("scheduler")
    current = scheduler.get_schedule(Name=schedule_name(PIPELINE))
    target = {key: value for key, value in current["Target"].items() if key != "DeadLetterConfig"}
    kept = ("Name", "ScheduleExpression", "FlexibleTimeWindow", "State", "StartDate")
    scheduler.update_schedule(**{key: current[key] for key in kept}, Target=target)
    out = deployable("schedule", "show")[1]
    assert out.endswith(
        "dead-letter queue: none, so a start that fails is lost: run schedule put again to add one\n"
    )


@pytest.mark.parametrize("length", [1, 17, 55, 56, 64, 67, 68, 80, 200, 256])
def test_names_fit_the_scheduler_and_sqs_for_every_pipeline_name_length(length: int) -> None:
    pipeline_name = ("waveform-" * 30)[: length - 1] + "x"
    name, queue = schedule_name(pipeline_name), dead_letter_queue_name(pipeline_name)
    assert fits(scheduler_shape("Name"), name), name
    assert SQS_QUEUE_NAME.fullmatch(queue), queue
    assert fits(
        scheduler_shape("Target", "DeadLetterConfig", "Arn"), f"arn:aws:sqs:us-east-1:123456789012:{queue}"
    )
    assert (schedule_name(pipeline_name), dead_letter_queue_name(pipeline_name)) == (name, queue)
    if length + len("-schedule") <= 64:
        assert name == f"{pipeline_name}-schedule"  # as before: existing schedules are found again
    else:
        assert name.startswith(pipeline_name[:40]) and name.endswith("-schedule") and len(name) <= 64
    if length + len("-schedule-dlq") <= 80:
        assert queue == f"{pipeline_name}-schedule-dlq"
    else:
        assert queue.startswith(pipeline_name[:50]) and len(queue) <= 80


def test_long_names_that_share_their_head_get_different_schedules_and_queues() -> None:
    first, second = "a" * 200, "a" * 199 + "b"
    assert schedule_name(first) != schedule_name(second)
    assert dead_letter_queue_name(first) != dead_letter_queue_name(second)
    assert schedule_name(PIPELINE) == "waveform-features-schedule"


def test_a_pipeline_with_the_longest_name_is_scheduled_shown_and_deleted(
    deployable: Cli,
    aws: MotoAws,
) -> None:
    pipeline_name = "w" + "-x" * 127 + "y"  # 256 characters: the longest the SageMaker API allows
    assert len(pipeline_name) == 256
    assert deployable("upsert", "--pipeline-name", pipeline_name)[0] == 0
    role = aws.create_role("waveform-scheduler", service="scheduler.amazonaws.com")
    out = put(deployable, role, "--pipeline-name", pipeline_name, "--rate", "12 hours")
    assert out.startswith(f"schedule arn:aws:scheduler:us-east-1:{aws.account_id}:schedule/default/")
    assert out.split()[1].rsplit("/", 1)[1] == schedule_name(pipeline_name)
    target = aws.client("scheduler").get_schedule(Name=schedule_name(pipeline_name))["Target"]
    assert target["Arn"].endswith(f":pipeline/{pipeline_name}")
    assert target["DeadLetterConfig"]["Arn"].endswith(f":{dead_letter_queue_name(pipeline_name)}")
    code, out, _ = deployable("schedule", "show", "--pipeline-name", pipeline_name)
    assert code == 0 and "failed starts waiting: 0" in out
    code, out, _ = deployable("schedule", "delete", "--pipeline-name", pipeline_name)
    assert code == 0 and out.startswith(f"schedule {schedule_name(pipeline_name)} deleted")


def test_put_checks_the_starts_it_will_make_and_puts_nothing_they_would_break(
    deployable: Cli, aws: MotoAws, scheduled: str
) -> None:
    code, _, err = deployable(
        "schedule",
        "put",
        "--rate",
        "1 day",
        "--param",
        "InputRoot=s3://bucket/input/",
        "--scheduler-role-arn",
        scheduled,
    )
    assert code == 1
    assert err.splitlines() == [
        "error: parameter InputRoot 's3://bucket/input/': give an S3 URI, s3://bucket or s3://bucket/prefix, "
        "without a trailing '/' or an empty folder ('//')",
        "error: the schedule was not put",
    ]
    scheduler = aws.client("scheduler")
    with pytest.raises(scheduler.exceptions.ResourceNotFoundException):
        scheduler.get_schedule(Name=schedule_name(PIPELINE))
