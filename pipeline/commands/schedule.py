"""The pipeline's EventBridge schedule: ``schedule put``, ``schedule show``, ``schedule delete``."""

from __future__ import annotations

import argparse
import sys

from ..errors import ConfigError
from .deployed import deployed, starts_checked
from .json_output import print_json
from .settings import config_of, overrides


def schedule_put(args: argparse.Namespace) -> int:
    from ..schedules import RETRY_POLICY, put_schedule

    config = config_of(args)
    given = overrides(config, args.param)
    role = config.scheduler_role_arn or config.role_arn
    if not role:
        raise ConfigError(
            "scheduler role is not set: give --scheduler-role-arn or WAVEFORM_SCHEDULER_ROLE_ARN, or set "
            "scheduler_role_arn in the config file"
        )
    session, pipeline = deployed(config)
    if not starts_checked(config, pipeline, given):  # the starts the schedule will make
        print("error: the schedule was not put", file=sys.stderr)
        return 1
    put = put_schedule(pipeline, session, role, args.cron, args.rate, not args.disabled, given)
    print(f"schedule {put.arn} {'disabled' if args.disabled else 'enabled'}")
    print(
        f"a start that fails (after up to {RETRY_POLICY['MaximumRetryAttempts']} retries within "
        f"{RETRY_POLICY['MaximumEventAgeInSeconds']} s) goes to the dead-letter queue "
        f"{put.dead_letter_queue_arn}: waveform-pipeline schedule show counts them"
    )
    return 0


def schedule_show(args: argparse.Namespace) -> int:
    from ..schedules import show_schedule

    config = config_of(args)
    session, pipeline = deployed(config)
    described = show_schedule(pipeline, session)
    if config.output == "json":
        print_json(described.as_json())
    else:
        print(described.text())
    return 0


def schedule_delete(args: argparse.Namespace) -> int:
    from ..schedules import dead_letter_queue_name, delete_schedule, schedule_name

    _, pipeline = deployed(config_of(args))
    delete_schedule(pipeline)
    print(f"schedule {schedule_name(pipeline.name)} deleted (if it existed)")
    print(
        f"its dead-letter queue {dead_letter_queue_name(pipeline.name)} is kept with the failed starts it "
        "holds (for 14 days); aws sqs delete-queue deletes it"
    )
    return 0
