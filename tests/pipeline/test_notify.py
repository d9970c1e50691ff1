"""``notify put / show / delete`` through boto3 to moto's server: the rule on this pipeline's failures, its
topic (created, or the user's), the topic policy letting the rule publish, subscriptions, and names that fit
the services' rules. moto does not implement TestEventPattern, nor deliver to an SNS target, so the rule's
pattern and message are checked by EventBridge's own matching as moto implements it: the same pattern and
input transformer on a rule of a bus of the test's, whose target is a queue the test reads."""

from __future__ import annotations

import json
import re
from typing import Any

import botocore.session
import pytest

from pipeline.notifications import (
    EXECUTION_STATUS_CHANGE,
    STEP_STATUS_CHANGE,
    TARGET_ID,
    rule_name,
    topic_name,
)
from tests.aws import MotoAws
from tests.pipeline.cli_fixtures import PIPELINE, Cli

# SNS's rule for a topic name (the CreateTopic API reference; the model carries none).
SNS_TOPIC_NAME = re.compile(r"[A-Za-z0-9_-]{1,256}")


def events_shape(operation: str, member: str) -> Any:
    model = botocore.session.get_session().get_service_model("events")
    return model.operation_model(operation).input_shape.members[member]


def fits(shape: Any, value: str) -> bool:
    metadata = shape.metadata
    pattern = metadata.get("pattern")
    return metadata.get("min", 0) <= len(value) <= metadata.get("max", len(value)) and (
        pattern is None or re.fullmatch(pattern, value) is not None
    )


@pytest.fixture
def deployed(deployable: Cli) -> Cli:
    """The default pipeline, deployed."""
    assert deployable("upsert")[0] == 0
    return deployable


def put(cli: Cli, *args: str) -> str:
    code, out, err = cli("notify", "put", *args)
    assert code == 0, err
    return out


def topic_arn(aws: MotoAws, name: str = topic_name(PIPELINE)) -> str:
    return f"arn:aws:sns:{aws.region}:{aws.account_id}:{name}"


def the_pipeline_arn(aws: MotoAws, name: str = PIPELINE) -> str:
    return str(aws.client("sagemaker").describe_pipeline(PipelineName=name)["PipelineArn"])


def topic_policy(aws: MotoAws, arn: str) -> dict[str, Any]:
    attributes = aws.client("sns").get_topic_attributes(TopicArn=arn)["Attributes"]
    return dict(json.loads(attributes["Policy"]))


def test_put_creates_the_topic_the_rule_its_target_and_the_topic_policy(deployed: Cli, aws: MotoAws) -> None:
    out = put(deployed, "--email", "icu-team@example.com")
    events = aws.client("events")
    rule = events.describe_rule(Name=f"{PIPELINE}-failures")
    assert out.splitlines() == [
        f"rule {rule['Arn']}: failed executions and failed steps of {PIPELINE}",
        f"go to the topic {topic_arn(aws)}",
        "icu-team@example.com: SNS has mailed it a confirmation link; nothing is sent there until it is "
        "followed",
        "waveform-pipeline notify show lists the subscriptions and which are confirmed",
    ]
    assert rule["State"] == "ENABLED"
    assert json.loads(rule["EventPattern"]) == {
        "source": ["aws.sagemaker"],
        "detail-type": [EXECUTION_STATUS_CHANGE, STEP_STATUS_CHANGE],
        "detail": {
            "pipelineArn": [the_pipeline_arn(aws)],
            "$or": [{"currentPipelineExecutionStatus": ["Failed"]}, {"currentStepStatus": ["Failed"]}],
        },
    }
    (target,) = events.list_targets_by_rule(Rule=f"{PIPELINE}-failures")["Targets"]
    assert target["Id"] == TARGET_ID and target["Arn"] == topic_arn(aws)
    assert set(target["InputTransformer"]["InputPathsMap"]) == {
        "event",
        "time",
        "execution",
        "step",
        "reason",
    }

    statements = topic_policy(aws, topic_arn(aws))["Statement"]
    (publish,) = [s for s in statements if s.get("Principal") == {"Service": "events.amazonaws.com"}]
    assert publish["Action"] == "sns:Publish" and publish["Resource"] == topic_arn(aws)
    assert publish["Condition"] == {"ArnEquals": {"aws:SourceArn": rule["Arn"]}}
    assert len(statements) > 1  # SNS's default statement (the owner's) is kept

    attributes = aws.client("sns").get_topic_attributes(TopicArn=topic_arn(aws))["Attributes"]
    assert "KmsMasterKeyId" not in attributes  # no key configured: see docs (alias/aws/sns would lose them)
    (subscription,) = aws.client("sns").list_subscriptions_by_topic(TopicArn=topic_arn(aws))["Subscriptions"]
    assert (subscription["Protocol"], subscription["Endpoint"]) == ("email", "icu-team@example.com")


def test_put_twice_changes_nothing(deployed: Cli, aws: MotoAws) -> None:
    put(deployed, "--email", "icu-team@example.com")
    before = topic_policy(aws, topic_arn(aws))
    put(deployed, "--email", "icu-team@example.com")
    assert topic_policy(aws, topic_arn(aws)) == before
    assert len(aws.client("sns").list_topics()["Topics"]) == 1
    assert len(aws.client("events").list_rules()["Rules"]) == 1
    assert len(aws.client("events").list_targets_by_rule(Rule=rule_name(PIPELINE))["Targets"]) == 1
    subscriptions = aws.client("sns").list_subscriptions_by_topic(TopicArn=topic_arn(aws))["Subscriptions"]
    assert len(subscriptions) == 1


def test_put_encrypts_the_topic_with_the_configured_key(deployed: Cli, aws: MotoAws) -> None:
    key = aws.kms_key_arn(aws.create_kms_key())
    put(deployed, "--kms-key-id", key)
    attributes = aws.client("sns").get_topic_attributes(TopicArn=topic_arn(aws))["Attributes"]
    assert attributes["KmsMasterKeyId"] == key


def test_put_with_a_topic_arn_uses_that_topic_and_keeps_its_policy(deployed: Cli, aws: MotoAws) -> None:
    sns = aws.client("sns")
    theirs = sns.create_topic(Name="team-alerts")["TopicArn"]
    owner = {
        "Sid": "TeamPublishes",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{aws.account_id}:root"},
        "Action": "sns:Publish",
        "Resource": theirs,
    }
    policy = {"Version": "2012-10-17", "Statement": [owner]}
    sns.set_topic_attributes(TopicArn=theirs, AttributeName="Policy", AttributeValue=json.dumps(policy))

    out = put(deployed, "--topic-arn", theirs)
    assert f"go to the topic {theirs} (yours, as given)" in out
    assert [topic["TopicArn"] for topic in sns.list_topics()["Topics"]] == [theirs]  # none created
    (target,) = aws.client("events").list_targets_by_rule(Rule=rule_name(PIPELINE))["Targets"]
    assert target["Arn"] == theirs
    statements = topic_policy(aws, theirs)["Statement"]
    assert statements[0] == owner and len(statements) == 2
    assert statements[1]["Principal"] == {"Service": "events.amazonaws.com"}


def _event(pipeline_arn: str, detail_type: str, **detail: str) -> dict[str, Any]:
    """A PutEvents entry shaped as AWS's documented examples of the two events."""
    execution = f"{pipeline_arn}/execution/p4jn9xou8a8s"
    return {
        "Source": "aws.sagemaker",
        "DetailType": detail_type,
        "Resources": [pipeline_arn, execution],
        "Detail": json.dumps({"pipelineArn": pipeline_arn, "pipelineExecutionArn": execution, **detail}),
        "EventBusName": "pattern-check",
    }


def test_the_rule_matches_failures_of_this_pipeline_only_and_says_what_failed(
    deployed: Cli, aws: MotoAws
) -> None:
    put(deployed)
    events, sqs = aws.client("events"), aws.client("sqs")
    rule = events.describe_rule(Name=rule_name(PIPELINE))
    (target,) = events.list_targets_by_rule(Rule=rule_name(PIPELINE))["Targets"]
    # The same pattern and message on a bus of the test's, to a queue it reads.
    events.create_event_bus(Name="pattern-check")
    events.put_rule(Name="pattern-check", EventBusName="pattern-check", EventPattern=rule["EventPattern"])
    queue = sqs.create_queue(QueueName="pattern-check")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_targets(
        Rule="pattern-check",
        EventBusName="pattern-check",
        Targets=[{"Id": "queue", "Arn": queue_arn, "InputTransformer": target["InputTransformer"]}],
    )

    ours = the_pipeline_arn(aws)
    other = ours.replace(f"pipeline/{PIPELINE}", "pipeline/another-pipeline")
    reason = "ClientError: AlgorithmError: see job logs"
    entries = [
        _event(
            ours, STEP_STATUS_CHANGE, stepName="Extract30", currentStepStatus="Failed", failureReason=reason
        ),
        _event(ours, STEP_STATUS_CHANGE, stepName="Extract31", currentStepStatus="Succeeded"),
        _event(ours, EXECUTION_STATUS_CHANGE, currentPipelineExecutionStatus="Succeeded"),
        _event(ours, EXECUTION_STATUS_CHANGE, currentPipelineExecutionStatus="Stopped"),
        _event(
            other, STEP_STATUS_CHANGE, stepName="Extract30", currentStepStatus="Failed", failureReason=reason
        ),
        _event(other, EXECUTION_STATUS_CHANGE, currentPipelineExecutionStatus="Failed"),
        {**_event(ours, STEP_STATUS_CHANGE, currentStepStatus="Failed"), "Source": "custom.sagemaker"},
    ]
    assert events.put_events(Entries=entries)["FailedEntryCount"] == 0
    received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    assert len(received) == 1  # the one failed step of this pipeline
    message = json.loads(received[0]["Body"])  # the template is a JSON string: the message is its text
    execution = f"{ours}/execution/p4jn9xou8a8s"
    assert message.startswith(f"SageMaker pipeline {PIPELINE} failed: {STEP_STATUS_CHANGE} at ")
    assert f"Execution: {execution}. Step: Extract30. Reason: {reason}." in message
    assert f"--pipeline-name {PIPELINE} status {execution}" in message
    assert "\n" not in message

    events.put_events(
        Entries=[_event(ours, EXECUTION_STATUS_CHANGE, currentPipelineExecutionStatus="Failed")]
    )
    received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    assert len(received) == 1
    assert json.loads(received[0]["Body"]).startswith(
        f"SageMaker pipeline {PIPELINE} failed: {EXECUTION_STATUS_CHANGE} at "
    )


def test_show_lists_the_rule_the_topic_and_pending_subscriptions(deployed: Cli, aws: MotoAws) -> None:
    put(deployed, "--email", "icu-team@example.com", "--email", "on-call@example.com")
    sns = aws.client("sns")
    # moto confirms an email subscription at once: pending ones (SubscriptionArn "PendingConfirmation", as
    # SNS lists them) cannot be made here.
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=topic_arn(aws))["Subscriptions"]

    code, out, _ = deployed("notify", "show")
    assert code == 0
    rule_arn = aws.client("events").describe_rule(Name=rule_name(PIPELINE))["Arn"]
    assert out.splitlines() == [
        f"rule: {rule_arn}",
        "state: ENABLED",
        f"matches: failed executions, failed steps of {the_pipeline_arn(aws)}",
        f"topic: {topic_arn(aws)}",
        "encryption: none",
        "topic policy lets the rule publish: yes",
        "subscriptions: 2 (0 pending confirmation)",
        *(f"  email {s['Endpoint']}: confirmed" for s in subscriptions),
    ]

    code, out, _ = deployed("--output", "json", "notify", "show")
    assert code == 0
    document = json.loads(out)
    assert document["rule"]["name"] == rule_name(PIPELINE) and document["rule"]["state"] == "ENABLED"
    assert document["rule"]["pattern"]["detail"]["pipelineArn"] == [the_pipeline_arn(aws)]
    (topic,) = document["topics"]
    assert topic["arn"] == topic_arn(aws) and topic["exists"] and topic["rule_may_publish"]
    assert topic["kms_key"] is None and topic["pending_confirmation"] == 0
    assert topic["subscriptions"] == [
        {"protocol": "email", "endpoint": s["Endpoint"], "arn": s["SubscriptionArn"], "pending": False}
        for s in subscriptions
    ]

    # The policy statement removed by hand, then the topic deleted: show says so, and how to mend it.
    policy = topic_policy(aws, topic_arn(aws))
    policy["Statement"] = [
        s for s in policy["Statement"] if s.get("Principal") != {"Service": "events.amazonaws.com"}
    ]
    sns.set_topic_attributes(
        TopicArn=topic_arn(aws), AttributeName="Policy", AttributeValue=json.dumps(policy)
    )
    out = deployed("notify", "show")[1]
    assert "topic policy lets the rule publish: no: run notify put again to add the statement" in out
    sns.delete_topic(TopicArn=topic_arn(aws))
    out = deployed("notify", "show")[1]
    assert out.endswith(f"topic: {topic_arn(aws)} does not exist: run notify put again to create it\n")


def test_delete_removes_the_rule_and_keeps_the_topic(deployed: Cli, aws: MotoAws) -> None:
    put(deployed, "--email", "icu-team@example.com")
    code, out, _ = deployed("notify", "delete")
    assert code == 0
    assert out.splitlines() == [
        f"rule {PIPELINE}-failures deleted",
        f"its topic {topic_arn(aws)} is kept (it may have other subscribers); "
        f"aws sns delete-topic --topic-arn {topic_arn(aws)} deletes it",
    ]
    assert aws.client("events").list_rules()["Rules"] == []
    assert aws.client("sns").get_topic_attributes(TopicArn=topic_arn(aws))["Attributes"]["TopicArn"]

    code, out, _ = deployed("notify", "delete")
    assert code == 0 and out == f"rule {PIPELINE}-failures does not exist: nothing to delete\n"
    code, out, err = deployed("notify", "show")
    assert code == 1 and out == ""
    assert err == (
        f"error: pipeline {PIPELINE} has no failure notifications (no rule {PIPELINE}-failures): "
        "run waveform-pipeline notify put\n"
    )


def publish_statements(aws: MotoAws, arn: str) -> list[dict[str, Any]]:
    """The statements of the topic's policy that let EventBridge publish."""
    statements = topic_policy(aws, arn)["Statement"]
    return [s for s in statements if s.get("Principal") == {"Service": "events.amazonaws.com"}]


def test_delete_withdraws_the_rules_permission_to_publish_and_keeps_the_rest(
    deployed: Cli, aws: MotoAws
) -> None:
    put(deployed)
    before = topic_policy(aws, topic_arn(aws))["Statement"]
    assert deployed("notify", "delete")[0] == 0
    after = topic_policy(aws, topic_arn(aws))["Statement"]
    assert publish_statements(aws, topic_arn(aws)) == []
    assert after == [s for s in before if s.get("Principal") != {"Service": "events.amazonaws.com"}]
    assert after  # SNS's default statement (the owner's) is kept


def test_switching_topics_moves_the_permission_to_publish(deployed: Cli, aws: MotoAws) -> None:
    put(deployed)
    ours = topic_arn(aws)
    theirs = aws.client("sns").create_topic(Name="team-alerts")["TopicArn"]
    put(deployed, "--topic-arn", theirs)
    assert publish_statements(aws, ours) == [] and len(publish_statements(aws, theirs)) == 1
    (target,) = aws.client("events").list_targets_by_rule(Rule=rule_name(PIPELINE))["Targets"]
    assert target["Arn"] == theirs
    aws.client("sns").delete_topic(TopicArn=theirs)  # a topic gone: nothing to withdraw, no error
    assert deployed("notify", "delete")[0] == 0


def test_the_rule_and_the_topic_carry_the_deployments_tags(deployed: Cli, aws: MotoAws) -> None:
    put(deployed, "--tag", "team=icu")
    rule = aws.client("events").describe_rule(Name=rule_name(PIPELINE))
    rule_tags = aws.client("events").list_tags_for_resource(ResourceARN=rule["Arn"])["Tags"]
    topic_tags = aws.client("sns").list_tags_for_resource(ResourceArn=topic_arn(aws))["Tags"]
    for tags in (rule_tags, topic_tags):
        assert {"Key": "team", "Value": "icu"} in tags
        assert {"Key": "project", "Value": "waveform-pipeline"} in tags


def test_put_for_a_pipeline_that_is_not_deployed_is_one_line_and_creates_nothing(
    deployable: Cli, aws: MotoAws
) -> None:
    code, out, err = deployable("notify", "put", "--email", "icu-team@example.com")
    assert code == 1 and out == ""
    assert err == f"error: pipeline {PIPELINE} is not deployed: run waveform-pipeline upsert first\n"
    assert aws.client("sns").list_topics()["Topics"] == []
    assert aws.client("events").list_rules()["Rules"] == []


def test_a_service_error_is_one_line(deployed: Cli, aws: MotoAws) -> None:
    code, _, err = deployed("notify", "put", "--topic-arn", topic_arn(aws, "no-such-topic"))
    assert code == 1
    assert err.startswith("error: GetTopicAttributes failed: NotFound") and err.count("\n") == 1


@pytest.mark.parametrize("length", [1, 55, 56, 64, 200, 247, 248, 256])
def test_names_fit_eventbridge_and_sns_for_every_pipeline_name_length(length: int) -> None:
    pipeline_name = ("waveform-" * 30)[: length - 1] + "x"
    rule, topic = rule_name(pipeline_name), topic_name(pipeline_name)
    assert fits(events_shape("PutRule", "Name"), rule), rule
    assert SNS_TOPIC_NAME.fullmatch(topic), topic
    if length + len("-failures") <= 64:
        assert rule == f"{pipeline_name}-failures"
    else:
        assert rule.endswith("-failures") and len(rule) <= 64
    if length + len("-failures") <= 256:
        assert topic == f"{pipeline_name}-failures"
    assert rule_name("a" * 200) != rule_name("a" * 199 + "b")


def test_a_pipeline_with_the_longest_name_gets_notifications_shown_and_deleted(
    deployable: Cli, aws: MotoAws
) -> None:
    pipeline_name = "w" + "-x" * 127 + "y"  # 256 characters: the longest the SageMaker API allows
    assert deployable("upsert", "--pipeline-name", pipeline_name)[0] == 0
    put(deployable, "--pipeline-name", pipeline_name, "--email", "icu-team@example.com")
    rule = aws.client("events").describe_rule(Name=rule_name(pipeline_name))
    assert json.loads(rule["EventPattern"])["detail"]["pipelineArn"] == [the_pipeline_arn(aws, pipeline_name)]
    (target,) = aws.client("events").list_targets_by_rule(Rule=rule_name(pipeline_name))["Targets"]
    assert target["Arn"] == topic_arn(aws, topic_name(pipeline_name))
    code, out, _ = deployable("notify", "show", "--pipeline-name", pipeline_name)
    assert code == 0 and "subscriptions: 1 (0 pending confirmation)" in out
    code, out, _ = deployable("notify", "delete", "--pipeline-name", pipeline_name)
    assert code == 0 and out.startswith(f"rule {rule_name(pipeline_name)} deleted")


def test_show_counts_subscriptions_pending_confirmation() -> None:
    """What SNS lists until an address follows its confirmation link (moto confirms at once)."""
    from pipeline.notifications import PENDING, NotificationsDescription, Subscription, Topic

    subscriptions = [
        Subscription("email", "icu-team@example.com", PENDING),
        Subscription("email", "on-call@example.com", "arn:aws:sns:us-east-1:123456789012:t:1"),
    ]
    described = NotificationsDescription(
        "r",
        "arn:aws:events:us-east-1:123456789012:rule/r",
        "ENABLED",
        {},
        [Topic("t", True, "", True, subscriptions)],
    )
    assert (
        "subscriptions: 2 (1 pending confirmation)\n  email icu-team@example.com: pending confirmation"
        in (described.text())
    )
    assert described.as_json()["topics"][0]["pending_confirmation"] == 1
