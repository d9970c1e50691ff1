"""Failure notifications: an EventBridge rule on this pipeline's failed executions and failed steps, whose
target is an SNS topic (SageMaker Pipelines has none built in).

The events and their fields are the ones AWS documents in "Events that Amazon SageMaker AI sends to Amazon
EventBridge" (pipeline execution state change, pipeline step state change). The names and values sent keep to
botocore's ``events`` and ``sns`` models and SNS's documented topic-name rule.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from .errors import NotFoundError, PipelineError
from .schedules import fitted_name

if TYPE_CHECKING:
    import boto3

# EventBridge PutRule, Name: 1-64 of [.\-_A-Za-z0-9]. SNS CreateTopic, Name: 1-256 alphanumerics, hyphens and
# underscores (the API reference; the model carries no pattern).
RULE_NAME_LIMIT = 64
TOPIC_NAME_LIMIT = 256
FAILURES_SUFFIX = "-failures"
TARGET_ID = "failure-topic"  # the rule's one target; PutTargets replaces a target of the same id

EXECUTION_STATUS_CHANGE = "SageMaker Model Building Pipeline Execution Status Change"
STEP_STATUS_CHANGE = "SageMaker Model Building Pipeline Execution Step Status Change"
FAILED = "Failed"

# describe_pipeline of a pipeline that does not exist: the service answers ResourceNotFound, moto a
# ValidationException ("Could not find pipeline").
PIPELINE_NOT_FOUND_CODES = frozenset({"ResourceNotFound", "ValidationException"})
RULE_NOT_FOUND_CODES = frozenset({"ResourceNotFoundException"})
TOPIC_NOT_FOUND_CODES = frozenset({"NotFound", "NotFoundException"})
PENDING = "PendingConfirmation"  # the SubscriptionArn SNS lists for an address that has not confirmed yet


def rule_name(pipeline_name: str) -> str:
    """``<pipeline name>-failures`` when it fits EventBridge's 64 characters, else a shortened form."""
    return fitted_name(pipeline_name, FAILURES_SUFFIX, RULE_NAME_LIMIT)


def topic_name(pipeline_name: str) -> str:
    """``<pipeline name>-failures`` when it fits SNS's 256 characters, else a shortened form."""
    return fitted_name(pipeline_name, FAILURES_SUFFIX, TOPIC_NAME_LIMIT)


def event_pattern(pipeline_arn: str) -> dict[str, Any]:
    """Failed executions and failed steps of this one pipeline."""
    return {
        "source": ["aws.sagemaker"],
        "detail-type": [EXECUTION_STATUS_CHANGE, STEP_STATUS_CHANGE],
        "detail": {
            "pipelineArn": [pipeline_arn],
            "$or": [{"currentPipelineExecutionStatus": [FAILED]}, {"currentStepStatus": [FAILED]}],
        },
    }


def input_transformer(pipeline_name: str, region: str) -> dict[str, Any]:
    """The message the topic sends: one paragraph, from the event's fields. A step's event has a step name
    and a failure reason; an execution's event has neither (its reason is in ``status``)."""
    paths = {
        "event": "$.detail-type",
        "time": "$.time",
        "execution": "$.detail.pipelineExecutionArn",
        "step": "$.detail.stepName",
        "reason": "$.detail.failureReason",
    }
    console = f"https://{region}.console.aws.amazon.com/sagemaker/home?region={region}#/pipelines"
    text = (
        f"SageMaker pipeline {pipeline_name} failed: <event> at <time>. Execution: <execution>. "
        f"Step: <step>. Reason: <reason>. Each step's status and reason: waveform-pipeline --region {region} "
        f"--pipeline-name {pipeline_name} status <execution> (or SageMaker Studio's pipeline view; the "
        f"console: {console})."
    )
    return {"InputPathsMap": paths, "InputTemplate": json.dumps(text)}  # a JSON string: the message text


def pipeline_arn(session: boto3.Session, pipeline_name: str) -> str:
    """The deployed pipeline's ARN, as the service spells it (the events carry that spelling)."""
    try:
        described = session.client("sagemaker").describe_pipeline(PipelineName=pipeline_name)
    except ClientError as exc:
        if _error_code(exc) in PIPELINE_NOT_FOUND_CODES:
            raise NotFoundError(
                f"pipeline {pipeline_name} is not deployed: run waveform-pipeline upsert first"
            ) from None
        raise
    return str(described["PipelineArn"])


@dataclass(frozen=True)
class PutNotifications:
    """What ``put_notifications`` set up."""

    rule_arn: str
    topic_arn: str
    created_topic: bool  # False: the user's --topic-arn
    subscribed: list[str]  # the addresses asked to confirm (SNS mails each a confirmation link)


def put_notifications(
    session: boto3.Session,
    pipeline_name: str,
    region: str,
    kms_key_id: str,
    topic_arn: str | None,
    emails: list[str],
    tags: list[dict[str, str]] | None = None,
) -> PutNotifications:
    """Create or update the rule and its target; create the topic unless ``topic_arn`` is given; let the rule
    publish to the topic (and no longer to a topic it sent to before); subscribe ``emails``; tag the rule and
    the topic created with ``tags`` (the deployment's, as its pipeline and jobs are). Every step is
    idempotent: running it again changes nothing."""
    arn = pipeline_arn(session, pipeline_name)
    sns = session.client("sns")
    created = topic_arn is None
    if topic_arn is None:
        topic_arn = str(sns.create_topic(Name=topic_name(pipeline_name))["TopicArn"])
        if tags:
            sns.tag_resource(ResourceArn=topic_arn, Tags=tags)
        # Only a customer managed key can encrypt a topic EventBridge publishes to (its key policy must let
        # events.amazonaws.com use it); under the AWS managed alias/aws/sns every notification would be lost.
        # So the topic is encrypted with the configured key, or not at all.
        if kms_key_id:
            sns.set_topic_attributes(
                TopicArn=topic_arn, AttributeName="KmsMasterKeyId", AttributeValue=kms_key_id
            )
    events = session.client("events")
    name = rule_name(pipeline_name)
    rule_arn = str(
        events.put_rule(
            Name=name,
            EventPattern=json.dumps(event_pattern(arn)),
            State="ENABLED",
            Description=f"Failed executions and steps of SageMaker pipeline {pipeline_name} to SNS",
        )["RuleArn"]
    )
    if tags:  # PutRule's own Tags apply only when it creates the rule
        events.tag_resource(ResourceARN=rule_arn, Tags=tags)
    before = [str(t["Arn"]) for t in events.list_targets_by_rule(Rule=name).get("Targets", [])]
    allow_rule_to_publish(session, topic_arn, rule_arn)
    target = {"Id": TARGET_ID, "Arn": topic_arn, "InputTransformer": input_transformer(pipeline_name, region)}
    failed = events.put_targets(Rule=name, Targets=[target]).get("FailedEntries", [])
    if failed:
        entry = failed[0]
        raise PipelineError(
            f"the rule {name} did not take the topic {topic_arn} as its target: "
            f"{entry.get('ErrorCode', '')}: {entry.get('ErrorMessage', '')}"
        )
    for old in before:
        if old != topic_arn:  # the rule no longer sends there: nor may it publish there
            withdraw_rule(session, old, rule_arn)
    for email in emails:
        sns.subscribe(TopicArn=topic_arn, Protocol="email", Endpoint=email)
    return PutNotifications(rule_arn, topic_arn, created, list(emails))


def publish_statement(topic_arn: str, rule_arn: str) -> dict[str, Any]:
    """The topic policy's statement letting EventBridge publish for this rule only."""
    return {
        "Sid": "EventBridgeRule" + hashlib.sha256(rule_arn.encode()).hexdigest()[:12],
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sns:Publish",
        "Resource": topic_arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
    }


def allow_rule_to_publish(session: boto3.Session, topic_arn: str, rule_arn: str) -> None:
    """Add (or renew) ``publish_statement`` in the topic's policy, keeping its other statements."""
    sns = session.client("sns")
    attributes = sns.get_topic_attributes(TopicArn=topic_arn)["Attributes"]
    policy = json.loads(attributes.get("Policy") or '{"Version": "2012-10-17", "Statement": []}')
    statement = publish_statement(topic_arn, rule_arn)
    kept = [s for s in _statements(policy) if s.get("Sid") != statement["Sid"]]
    policy["Statement"] = [*kept, statement]
    sns.set_topic_attributes(TopicArn=topic_arn, AttributeName="Policy", AttributeValue=json.dumps(policy))


def withdraw_rule(session: boto3.Session, topic_arn: str, rule_arn: str) -> None:
    """Remove ``publish_statement`` from the topic's policy, keeping its other statements; a topic that is
    gone has nothing to remove."""
    sns = session.client("sns")
    try:
        attributes = sns.get_topic_attributes(TopicArn=topic_arn)["Attributes"]
    except ClientError as exc:
        if _error_code(exc) in TOPIC_NOT_FOUND_CODES:
            return
        raise
    policy = json.loads(attributes.get("Policy") or "{}")
    sid = publish_statement(topic_arn, rule_arn)["Sid"]
    statements = _statements(policy)
    kept = [s for s in statements if s.get("Sid") != sid]
    if len(kept) < len(statements):
        policy["Statement"] = kept
        sns.set_topic_attributes(
            TopicArn=topic_arn, AttributeName="Policy", AttributeValue=json.dumps(policy)
        )


def _statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    statements = policy.get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


@dataclass(frozen=True)
class Subscription:
    protocol: str
    endpoint: str
    arn: str  # "PendingConfirmation" until the address confirms

    @property
    def pending(self) -> bool:
        return self.arn == PENDING


@dataclass(frozen=True)
class Topic:
    """The rule's topic; ``exists`` False when it has been deleted since."""

    arn: str
    exists: bool
    kms_key: str  # "" when not encrypted
    rule_may_publish: bool
    subscriptions: list[Subscription]


@dataclass(frozen=True)
class NotificationsDescription:
    """The rule and its topic as ``notify show`` reports them."""

    rule_name: str
    rule_arn: str
    state: str
    pattern: dict[str, Any]
    topics: list[Topic]

    def as_json(self) -> dict[str, Any]:
        return {
            "rule": {
                "name": self.rule_name,
                "arn": self.rule_arn,
                "state": self.state,
                "pattern": self.pattern,
            },
            "topics": [
                {
                    "arn": topic.arn,
                    "exists": topic.exists,
                    "kms_key": topic.kms_key or None,
                    "rule_may_publish": topic.rule_may_publish,
                    "subscriptions": [
                        {"protocol": s.protocol, "endpoint": s.endpoint, "arn": s.arn, "pending": s.pending}
                        for s in topic.subscriptions
                    ],
                    "pending_confirmation": sum(s.pending for s in topic.subscriptions),
                }
                for topic in self.topics
            ],
        }

    def text(self) -> str:
        detail = self.pattern.get("detail", {})
        matched = ", ".join(_statuses(detail)) or "no status"
        lines = [
            f"rule: {self.rule_arn}",
            f"state: {self.state}",
            f"matches: {matched} of {', '.join(detail.get('pipelineArn', [])) or 'every pipeline'}",
        ]
        if not self.topics:
            lines.append("topic: none, so nothing is sent: run notify put again")
        for topic in self.topics:
            if not topic.exists:
                lines.append(f"topic: {topic.arn} does not exist: run notify put again to create it")
                continue
            lines.append(f"topic: {topic.arn}")
            lines.append(f"encryption: {topic.kms_key or 'none'}")
            lines.append(
                "topic policy lets the rule publish: "
                + ("yes" if topic.rule_may_publish else "no: run notify put again to add the statement")
            )
            pending = sum(s.pending for s in topic.subscriptions)
            lines.append(
                f"subscriptions: {len(topic.subscriptions)} ({pending} pending confirmation)"
                if topic.subscriptions
                else "subscriptions: none, so no one is told: notify put --email ADDRESS adds one"
            )
            lines.extend(
                f"  {s.protocol} {s.endpoint}: {'pending confirmation' if s.pending else 'confirmed'}"
                for s in topic.subscriptions
            )
        return "\n".join(lines)


def _statuses(detail: dict[str, Any]) -> list[str]:
    """ "failed executions", "failed steps", from the pattern's ``$or``."""
    names = {"currentPipelineExecutionStatus": "executions", "currentStepStatus": "steps"}
    return [
        f"{'/'.join(values).lower()} {names.get(field, field)}"
        for alternative in detail.get("$or", [])
        for field, values in alternative.items()
    ]


def show_notifications(session: boto3.Session, pipeline_name: str) -> NotificationsDescription:
    """The pipeline's failure rule, its target topic and that topic's subscriptions."""
    events = session.client("events")
    name = rule_name(pipeline_name)
    try:
        rule = events.describe_rule(Name=name)
    except ClientError as exc:
        if _error_code(exc) in RULE_NOT_FOUND_CODES:
            raise NotFoundError(
                f"pipeline {pipeline_name} has no failure notifications (no rule {name}): "
                "run waveform-pipeline notify put"
            ) from None
        raise
    targets = events.list_targets_by_rule(Rule=name).get("Targets", [])
    return NotificationsDescription(
        rule_name=name,
        rule_arn=str(rule["Arn"]),
        state=str(rule.get("State", "")),
        pattern=json.loads(rule.get("EventPattern") or "{}"),
        topics=[_topic(session, str(target["Arn"]), str(rule["Arn"])) for target in targets],
    )


def _topic(session: boto3.Session, topic_arn: str, rule_arn: str) -> Topic:
    sns = session.client("sns")
    try:
        attributes = sns.get_topic_attributes(TopicArn=topic_arn)["Attributes"]
    except ClientError as exc:
        if _error_code(exc) in TOPIC_NOT_FOUND_CODES:
            return Topic(topic_arn, False, "", False, [])
        raise
    policy = json.loads(attributes.get("Policy") or "{}")
    wanted = publish_statement(topic_arn, rule_arn)
    may_publish = any({key: s.get(key) for key in wanted} == wanted for s in _statements(policy))
    subscriptions: list[Subscription] = []
    pages = sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn)
    for page in pages:
        subscriptions.extend(
            Subscription(str(s["Protocol"]), str(s["Endpoint"]), str(s["SubscriptionArn"]))
            for s in page.get("Subscriptions", [])
        )
    return Topic(topic_arn, True, str(attributes.get("KmsMasterKeyId", "")), may_publish, subscriptions)


@dataclass(frozen=True)
class DeletedNotifications:
    rule_existed: bool
    topic_arns: list[str]  # the topics the rule sent to, kept


def delete_notifications(session: boto3.Session, pipeline_name: str) -> DeletedNotifications:
    """Remove the rule's targets, then the rule (if it exists), and from each topic's policy the statement
    that let the rule publish. The topics are kept: they may have other subscribers or publishers."""
    events = session.client("events")
    name = rule_name(pipeline_name)
    try:
        rule_arn = str(events.describe_rule(Name=name)["Arn"])
        targets = events.list_targets_by_rule(Rule=name).get("Targets", [])
    except ClientError as exc:
        if _error_code(exc) in RULE_NOT_FOUND_CODES:
            return DeletedNotifications(False, [])
        raise
    if targets:
        events.remove_targets(Rule=name, Ids=[str(target["Id"]) for target in targets])
    events.delete_rule(Name=name)
    for target in targets:
        withdraw_rule(session, str(target["Arn"]), rule_arn)
    return DeletedNotifications(True, [str(target["Arn"]) for target in targets])


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
