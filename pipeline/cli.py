"""``waveform-pipeline``: the project's command line.

Every command's errors end in one clear line and a non-zero exit, never a traceback. Building the parser
imports nothing heavy (the handlers import what they need when they run), so ``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import io
import math
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

from steps.combine import command as combine_step
from steps.extract import command as extract_step
from steps.extract.command import positive_int

from . import commands
from .config import GROUP_PRESETS
from .errors import failure_of
from .parameters import DESCRIPTIONS

PARAMETERS_HELP = "pipeline parameters (--param NAME=VALUE):\n" + "\n".join(
    f"  {name}: {text}" for name, text in DESCRIPTIONS.items()
)


class Subcommands(Protocol):
    """What ``add_subparsers`` returns, as far as this module uses it."""

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser: ...


EPILOG = (
    "Settings come from flags, then the environment (AWS_PROFILE, AWS_REGION, SAGEMAKER_ROLE_ARN, "
    "WAVEFORM_BUCKET, ...), then waveform-pipeline.toml, then defaults."
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="waveform-pipeline",
        description="Turn MIMIC-III waveform record sets into per-signal features, on SageMaker or here.",
        epilog=EPILOG,
    )
    parser.add_argument("--version", action=_Version, help="print the installed version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    settings = _settings_parser()
    settings_but_role = _settings_parser(execution_role=False)  # schedule put's --role-arn is the scheduler's

    _step_command(sub, "extract", extract_step, "summarise every record of one patient-group folder, here")
    _step_command(sub, "combine", combine_step, "merge group outputs into the dataset and reports, here")

    definition = _command(
        sub, "definition", commands.definition, "print the pipeline definition (JSON)", settings
    )
    definition.add_argument("-o", "--output", type=Path, help="write it to FILE instead of standard output")

    diff = _command(
        sub, "diff", commands.diff, "what an upsert would change in the deployed pipeline", settings
    )
    diff.add_argument(
        "--exit-code", action="store_true", help="exit 1 when there are changes, as git diff does"
    )

    check = _command(
        sub,
        "check",
        commands.check,
        "check every request a deployment and a start send against the service's rules; send none",
        settings,
    )
    check.epilog = PARAMETERS_HELP
    _param_argument(check)
    check.add_argument("--display-name", help="an execution display name to check")

    _command(
        sub,
        "upsert",
        commands.upsert,
        "check, upload step code, create or update the pipeline",
        settings,
    )

    start = _command(sub, "start", commands.start, "start an execution", settings)
    start.epilog = PARAMETERS_HELP
    _param_argument(start)
    start.add_argument("--display-name", help="the execution's display name")
    _wait_arguments(start)

    status = _command(
        sub, "status", commands.status, "an execution's steps; exit code = its outcome", settings
    )
    status.add_argument("execution", nargs="?", help="execution id or ARN (default: the latest)")
    _wait_arguments(status)

    executions = _command(sub, "executions", commands.executions, "list recent executions", settings)
    executions.add_argument("--limit", type=positive_int, default=20, help="how many (default: %(default)s)")

    schedule = sub.add_parser("schedule", help="EventBridge schedule of the pipeline: put, show, delete")
    schedule_sub = schedule.add_subparsers(dest="schedule_command", required=True, metavar="ACTION")
    put = _command(
        schedule_sub, "put", commands.schedule_put, "create or update the schedule", settings_but_role
    )
    when = put.add_mutually_exclusive_group(required=True)
    when.add_argument("--cron", help='EventBridge cron: six fields, e.g. "0 3 * * ? *"')
    when.add_argument("--rate", help='EventBridge rate, e.g. "1 day" or "12 hours"')
    _param_argument(put)
    put.add_argument("--role-arn", dest="scheduler_role_arn", help="role EventBridge Scheduler assumes")
    put.add_argument("--disabled", action="store_true", help="create it disabled")
    _command(schedule_sub, "show", commands.schedule_show, "show the schedule", settings)
    _command(schedule_sub, "delete", commands.schedule_delete, "delete the schedule", settings)

    _command(sub, "graph", commands.graph, "the DAG as Mermaid text", settings)

    local = sub.add_parser(
        "run-local",
        help="run the whole pipeline here: every group's extract step, then combine (no AWS account)",
        description="Run the pipeline's own definition on this machine: the groups' extract steps "
        "concurrently, then the combine step, with SageMaker's caching (a rerun resumes or reuses).",
    )
    local.add_argument("--input", type=Path, required=True, help="folder holding the group folders")
    local.add_argument(
        "--output", type=Path, required=True, help="folder for executions, outputs and the cache"
    )
    local.add_argument(
        "--groups", help="groups to run, comma-separated (default: every group folder in --input)"
    )
    local.add_argument("--jobs", type=positive_int, help="CPUs to use in all (default: every usable CPU)")
    local.add_argument(
        "--no-cache", action="store_true", help="run every step, even if an earlier run matches"
    )
    local.add_argument("--no-progress", action="store_true", help="no progress bars")
    _param_argument(local)
    local.epilog = PARAMETERS_HELP
    local.formatter_class = argparse.RawDescriptionHelpFormatter
    local.set_defaults(handler=commands.run_local)
    return parser


def _settings_parser(execution_role: bool = True) -> argparse.ArgumentParser:
    settings = argparse.ArgumentParser(add_help=False)
    group = settings.add_argument_group("settings (flag > environment > config file > default)")
    group.add_argument(
        "--config", type=Path, help="TOML config file (default: ./waveform-pipeline.toml if present)"
    )
    group.add_argument("--profile", help="AWS profile (AWS_PROFILE)")
    group.add_argument("--region", help="AWS region (AWS_REGION, AWS_DEFAULT_REGION)")
    group.add_argument("--pipeline-name", help="pipeline name (WAVEFORM_PIPELINE_NAME)")
    if execution_role:
        group.add_argument("--role-arn", help="execution role ARN (SAGEMAKER_ROLE_ARN)")
    group.add_argument("--bucket", help="bucket for code, default input and output (WAVEFORM_BUCKET)")
    group.add_argument("--prefix", help="key prefix in that bucket (WAVEFORM_PREFIX)")
    group.add_argument(
        "--groups", help=f"groups, comma-separated, or a preset: {', '.join(GROUP_PRESETS)} (WAVEFORM_GROUPS)"
    )
    group.add_argument("--image-uri", help="custom image with the steps' requirements (WAVEFORM_IMAGE_URI)")
    group.add_argument("--subnets", help="VPC subnet ids, comma-separated (WAVEFORM_SUBNETS)")
    group.add_argument("--security-group-ids", help="security group ids, comma-separated")
    group.add_argument("--tag", dest="tags", action="append", metavar="KEY=VALUE", help="tag (repeatable)")
    group.add_argument(
        "--max-parallel-steps",
        type=positive_int,
        help="steps of an execution at once: instances needed = this x GroupInstanceCount "
        "(WAVEFORM_MAX_PARALLEL_STEPS; default: 4)",
    )
    group.add_argument(
        "--kms-key-id",
        help="KMS key (id, ARN or alias) for the step code, the jobs' outputs and volumes, and the dataset "
        "(WAVEFORM_KMS_KEY_ID; default: SSE-S3)",
    )
    return settings


def _command(
    sub: Subcommands,
    name: str,
    handler: Callable[[argparse.Namespace], int],
    help_text: str,
    settings: argparse.ArgumentParser,
) -> argparse.ArgumentParser:
    command = sub.add_parser(
        name,
        help=help_text,
        description=help_text,
        parents=[settings],
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    command.set_defaults(handler=handler)
    return command


class _Version(argparse.Action):
    """``--version``: the installed package's version, looked up only when asked for."""

    def __init__(self, option_strings: list[str], dest: str, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("waveform-pipeline")
        except PackageNotFoundError:
            found = "(not installed: run make install)"
        print(f"{parser.prog} {found}")
        parser.exit()


def _step_command(sub: Subcommands, name: str, module: ModuleType, help_text: str) -> None:
    command = sub.add_parser(
        name,
        help=help_text,
        description=module.DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    module.build_parser(command)
    command.set_defaults(handler=module.run)


def _param_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE", help="override a pipeline parameter"
    )


def seconds(text: str) -> float:
    """An argument type: a finite number of seconds above 0 (``nan``, ``inf`` and ``-1`` parse as floats)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds above 0, not {text!r}")
    return value


def _wait_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--wait", action="store_true", help="wait until the execution finishes")
    parser.add_argument(
        "--poll", type=seconds, default=30.0, help="seconds between polls (default: %(default)s)"
    )


def main(argv: list[str] | None = None) -> int:
    _never_fail_to_print()
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        failure = failure_of(exc)
        if failure is None:
            raise  # a bug: its traceback is what a report needs
        print(f"error: {failure.message}", file=sys.stderr)
        return failure.exit_code


def _never_fail_to_print() -> None:
    """Print a path that is not UTF-8 (its bytes decoded with surrogate escapes) as Python's standard error
    does, with backslash escapes, rather than fail on it after the work is done."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper) and stream.errors == "strict":
            stream.reconfigure(errors="backslashreplace")
