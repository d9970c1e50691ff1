"""``waveform-pipeline``: the project's command line.

Every command's errors end in one clear line and a non-zero exit, never a traceback. Building the parser
imports nothing heavy (the handlers import what they need when they run), so ``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import io
import math
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

from steps.combine import command as combine_step
from steps.contract.arguments import DEFAULT_WINDOW_SECONDS, WINDOW_SECONDS_OPTION, window_seconds
from steps.extract import command as extract_step
from steps.extract.command import positive_int

from .commands import build, executions, local, notify, plan, schedule
from .errors import failure_of
from .global_options import add_global_options, settings_flags_given
from .parameters import DESCRIPTIONS

PARAMETERS_HELP = "pipeline parameters (--param NAME=VALUE):\n" + "\n".join(
    f"  {name}: {text}" for name, text in DESCRIPTIONS.items()
)


class Subcommands(Protocol):
    """What ``add_subparsers`` returns, as far as this module uses it."""

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser: ...


class Parser(argparse.ArgumentParser):
    """Every parser of the CLI (a command's parser is of its parent's class): no option is taken by an
    abbreviation, so an old spelling (run-local --input) is an error instead of a guess (--input-dir)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)


HELP_WIDTH = 100
EPILOG = textwrap.fill(
    "The settings and --output go before the command (waveform-pipeline --region eu-west-1 status) or after "
    "it. Each comes from its flag, then the environment (AWS_PROFILE, AWS_REGION, SAGEMAKER_ROLE_ARN, "
    "WAVEFORM_BUCKET, ...), then waveform-pipeline.toml, then its default. extract, combine and run-local "
    "run here and take no settings.",
    HELP_WIDTH,
)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="waveform-pipeline",
        description="Turn MIMIC-III waveform record sets into per-signal features, on SageMaker or here.",
        epilog=EPILOG,
    )
    parser.add_argument("--version", action=_Version, help="print the installed version and exit")
    add_global_options(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", title="commands")

    _step_command(sub, "extract", extract_step, "summarise every record of one patient-group folder, here")
    _step_command(sub, "combine", combine_step, "merge group outputs into the dataset and reports, here")
    _run_local_command(sub)

    definition = _command(
        sub,
        "definition",
        build.definition,
        "print the pipeline definition (JSON); needs no AWS account: placeholders stand in for a region, "
        "role or bucket not configured",
    )
    definition.add_argument(
        "-f", "--file", type=Path, metavar="FILE", help="write it to FILE instead of standard output"
    )
    _command(
        sub,
        "graph",
        build.graph,
        "print the DAG as Mermaid text; needs no AWS account, as definition",
    )

    diff = _command(sub, "diff", build.diff, "what an upsert would change in the deployed pipeline")
    diff.add_argument(
        "--exit-code", action="store_true", help="exit 1 when there are changes, as git diff does"
    )

    check = _command(
        sub,
        "check",
        build.check,
        "check every request a deployment and a start send against the service's rules; send none",
        epilog=PARAMETERS_HELP,
    )
    _param_argument(check)
    check.add_argument("--display-name", help="an execution display name to check")

    _command(sub, "upsert", build.upsert, "check, upload step code, create or update the pipeline")
    _plan_command(sub)

    start = _command(sub, "start", executions.start, "start an execution", epilog=PARAMETERS_HELP)
    _param_argument(start)
    start.add_argument("--display-name", help="the execution's display name")
    _wait_arguments(start)

    status = _command(
        sub,
        "status",
        executions.status,
        "an execution's steps and where its outputs are (the dataset, the reports, each group's); "
        "exit code = its outcome: 0 succeeded, 1 failed or stopped, 3 still running",
    )
    status.add_argument("execution", nargs="?", help="execution id or ARN (default: the latest)")
    _wait_arguments(status)

    listing = _command(sub, "executions", executions.executions, "list recent executions")
    listing.add_argument("--limit", type=positive_int, default=20, help="how many (default: %(default)s)")

    _schedule_command(sub)
    _notify_command(sub)
    return parser


def _plan_command(sub: Subcommands) -> None:
    from steps.inventory.volumes import VOLUME_QUOTA_GB, VOLUME_QUOTA_NAME

    from .planning.instance_types import INSTANCE_TYPES

    command = _command(
        sub,
        "plan",
        plan.plan,
        "list the input root's groups (objects, bytes, a fingerprint of their keys, sizes and ETags) and "
        "predict each group step's volume, download, read and compute time and cost on an instance type, "
        "before a run; lists S3 objects and calls nothing else (docs/cost-model.md)",
    )
    command.add_argument(
        "--instance-type",
        type=_known_instance_type,
        metavar="TYPE",
        help=f"the group steps' instance type, one of {', '.join(INSTANCE_TYPES)} (default: the pipeline's "
        "GroupInstanceType)",
    )
    command.add_argument(
        "--instance-count",
        type=positive_int,
        metavar="N",
        help="instances a group step (default: the pipeline's GroupInstanceCount)",
    )
    command.add_argument(
        "--volume-quota-gb",
        type=positive_int,
        default=VOLUME_QUOTA_GB,
        metavar="GB",
        help=f"your account's quota '{VOLUME_QUOTA_NAME}', if you raised it (default: %(default)s)",
    )
    command.add_argument(
        WINDOW_SECONDS_OPTION,
        type=window_seconds,
        metavar="SECONDS",
        help="the window length the volumes are sized for: shorter windows need more (default: the "
        f"pipeline's WindowSeconds, {DEFAULT_WINDOW_SECONDS:g}; 0: no windows)",
    )
    command.add_argument(
        "--input-root",
        metavar="URI",
        help="list this s3://bucket/prefix, or a local folder of group folders, instead of the pipeline's "
        "InputRoot (s3://<bucket>/<prefix>/input)",
    )
    command.add_argument("--no-progress", action="store_true", help="no progress bar")


def _known_instance_type(text: str) -> str:
    from .planning.instance_types import INSTANCE_TYPES

    if text not in INSTANCE_TYPES:
        raise argparse.ArgumentTypeError(
            f"{text!r} has no figures in the cost model (pipeline/planning/instance_types.py); known: "
            f"{', '.join(INSTANCE_TYPES)}"
        )
    return text


def _run_local_command(sub: Subcommands) -> None:
    local_run = sub.add_parser(
        "run-local",
        help="run the whole pipeline here: every group's extract step, then combine (no AWS account)",
        description=textwrap.fill(
            "Run the pipeline's own definition on this machine: the groups' extract steps concurrently, "
            "then the combine step, with SageMaker's caching (a rerun resumes or reuses).",
            HELP_WIDTH,
        ),
        epilog=PARAMETERS_HELP,
    )
    local_run.add_argument(
        "--input-dir", type=Path, required=True, metavar="DIR", help="folder holding the group folders"
    )
    local_run.add_argument(
        "--output-dir",
        type=Path,
        required=True,
        metavar="DIR",
        help="folder for executions, outputs and the cache",
    )
    local_run.add_argument(
        "--groups",
        metavar="LIST",
        help="groups to run, comma-separated (default: every group folder in --input-dir)",
    )
    local_run.add_argument("--jobs", type=positive_int, help="CPUs to use in all (default: every usable CPU)")
    local_run.add_argument(
        "--no-cache", action="store_true", help="run every step, even if an earlier run matches"
    )
    local_run.add_argument("--no-progress", action="store_true", help="no progress bars")
    local_run.add_argument(
        WINDOW_SECONDS_OPTION,
        type=window_seconds,
        metavar="SECONDS",
        help="length of the windows every signal is summarised in (windows.parquet, the windows dataset); "
        f"0: no windows (the pipeline parameter WindowSeconds; default: "
        f"{DEFAULT_WINDOW_SECONDS:g})",
    )
    _param_argument(local_run)
    local_run.set_defaults(handler=local.run_local)


def _schedule_command(sub: Subcommands) -> None:
    group = sub.add_parser(
        "schedule",
        help="EventBridge schedule of the pipeline: put, show, delete",
        description="The pipeline's EventBridge Scheduler schedule, with a dead-letter queue for the starts "
        "that fail.",
    )
    actions = group.add_subparsers(dest="schedule_command", required=True, metavar="ACTION", title="actions")
    put = _command(
        actions, "put", schedule.schedule_put, "create or update the schedule", epilog=PARAMETERS_HELP
    )
    when = put.add_mutually_exclusive_group(required=True)
    when.add_argument("--cron", help='EventBridge cron: six fields, e.g. "0 3 * * ? *"')
    when.add_argument("--rate", help='EventBridge rate, e.g. "1 day" or "12 hours"')
    _param_argument(put)
    put.add_argument(
        "--scheduler-role-arn",
        metavar="ARN",
        help="role EventBridge Scheduler assumes to start the pipeline (WAVEFORM_SCHEDULER_ROLE_ARN; "
        "default: the execution role setting)",
    )
    put.add_argument("--disabled", action="store_true", help="create it disabled")
    _command(actions, "show", schedule.schedule_show, "show the schedule and its dead-letter queue")
    _command(actions, "delete", schedule.schedule_delete, "delete the schedule (its queue is kept)")


def _notify_command(sub: Subcommands) -> None:
    group = sub.add_parser(
        "notify",
        help="failure notifications of the pipeline: put, show, delete",
        description=textwrap.fill(
            "An EventBridge rule on the pipeline's failed executions and failed steps, sending a "
            "one-paragraph message to an SNS topic (<pipeline>-failures, or yours), so its subscribers.",
            HELP_WIDTH,
        ),
    )
    actions = group.add_subparsers(dest="notify_command", required=True, metavar="ACTION", title="actions")
    put = _command(
        actions,
        "put",
        notify.notify_put,
        "create or update the rule and its topic (the pipeline must be deployed)",
    )
    put.add_argument(
        "--email",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="subscribe this address to the topic (repeatable); SNS mails it a link to confirm first",
    )
    put.add_argument(
        "--topic-arn",
        metavar="ARN",
        help="send to this SNS topic instead of creating <pipeline>-failures (its policy gets a statement "
        "letting the rule publish)",
    )
    _command(actions, "show", notify.notify_show, "show the rule, its topic and the topic's subscriptions")
    _command(actions, "delete", notify.notify_delete, "delete the rule (its topic is kept)")


def _command(
    sub: Subcommands,
    name: str,
    handler: Callable[[argparse.Namespace], int],
    help_text: str,
    epilog: str = EPILOG,
) -> argparse.ArgumentParser:
    """A command that works with the settings (the SageMaker commands): they may follow its name too."""
    description = textwrap.fill(help_text[0].upper() + help_text[1:] + ".", HELP_WIDTH)
    command = sub.add_parser(name, help=help_text, description=description, epilog=epilog)
    add_global_options(command, after_command=True)
    command.set_defaults(handler=handler, takes_settings=True)
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
    command = sub.add_parser(name, help=help_text, description=module.DESCRIPTION)
    module.build_parser(command)
    command.set_defaults(handler=module.run)


def _param_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a pipeline parameter (repeatable)",
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
    previous = sys.unraisablehook
    sys.unraisablehook = interrupt_again
    _IGNORED_INTERRUPT.clear()
    try:
        return _main(argv)
    finally:
        sys.unraisablehook = previous


def _main(argv: list[str] | None) -> int:
    _never_fail_to_print()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "takes_settings", False) and (given := settings_flags_given(args)):
        parser.error(
            f"{', '.join(given)} before {args.command}: settings are for the SageMaker commands; "
            f"{args.command} runs here and takes its own options, after its name"
        )
    try:
        code = int(args.handler(args))
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        failure = failure_of(exc)
        if failure is None:
            raise  # a bug: its traceback is what a report needs
        print(f"error: {failure.message}", file=sys.stderr)
        return failure.exit_code
    if _IGNORED_INTERRUPT.is_set():
        print("error: interrupted", file=sys.stderr)
        return 130
    return code


# A Ctrl-C that landed where the interpreter could only ignore it (see ``interrupt_again``).
_IGNORED_INTERRUPT = threading.Event()


def interrupt_again(unraisable: Any) -> None:
    """A Ctrl-C that lands in a weakref callback or a finaliser (an import's module lock, seen in a local run)
    is "ignored" by the interpreter, which prints a traceback and carries on. Remember it instead, silently:
    the command then ends as interrupted, in one line (re-raising it here could only be ignored again).
    Anything else goes to the default hook."""
    if unraisable.exc_type is not None and issubclass(unraisable.exc_type, KeyboardInterrupt):
        _IGNORED_INTERRUPT.set()
        return
    sys.__unraisablehook__(unraisable)


def _never_fail_to_print() -> None:
    """Print a path that is not UTF-8 (its bytes decoded with surrogate escapes) as Python's standard error
    does, with backslash escapes, rather than fail on it after the work is done."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper) and stream.errors == "strict":
            stream.reconfigure(errors="backslashreplace")
