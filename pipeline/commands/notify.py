"""Failure notifications of the pipeline: ``notify put``, ``notify show``, ``notify delete``."""

from __future__ import annotations

import argparse

from ..aws_session import boto_session
from .json_output import print_json
from .settings import config_of


def notify_put(args: argparse.Namespace) -> int:
    from ..notifications import put_notifications

    config = config_of(args)
    session = boto_session(config)
    put = put_notifications(
        session,
        config.pipeline_name,
        config.region,
        config.kms_key_id,
        args.topic_arn,
        args.email,
        config.tag_list,
    )
    print(f"rule {put.rule_arn}: failed executions and failed steps of {config.pipeline_name}")
    print(f"go to the topic {put.topic_arn}" + ("" if put.created_topic else " (yours, as given)"))
    for email in put.subscribed:
        print(f"{email}: SNS has mailed it a confirmation link; nothing is sent there until it is followed")
    print("waveform-pipeline notify show lists the subscriptions and which are confirmed")
    return 0


def notify_show(args: argparse.Namespace) -> int:
    from ..notifications import show_notifications

    config = config_of(args)
    described = show_notifications(boto_session(config), config.pipeline_name)
    if config.output == "json":
        print_json(described.as_json())
    else:
        print(described.text())
    return 0


def notify_delete(args: argparse.Namespace) -> int:
    from ..notifications import delete_notifications, rule_name

    config = config_of(args)
    deleted = delete_notifications(boto_session(config), config.pipeline_name)
    name = rule_name(config.pipeline_name)
    print(
        f"rule {name} deleted" if deleted.rule_existed else f"rule {name} does not exist: nothing to delete"
    )
    for topic in deleted.topic_arns:
        print(
            f"its topic {topic} is kept (it may have other subscribers); "
            f"aws sns delete-topic --topic-arn {topic} deletes it"
        )
    return 0
