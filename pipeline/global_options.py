"""The global options of ``waveform-pipeline``: ``--config``, the settings (``--region``, ``--bucket``, ...)
and ``--output``, each defined once here.

They go before the command, as the AWS CLI takes its own (``waveform-pipeline --region eu-west-1 status``),
and, for scripts written when they belonged to each command, after it too (``status --region eu-west-1``).
The copies after the command have no default (``argparse.SUPPRESS``): argparse parses a command's options into
a namespace of its own and copies every value over the main one, so a default there would undo a value given
before the command. A repeatable option (``--tag``) keeps what follows the command apart, and the two lists
are added up.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from steps.extract.command import positive_int

from .config import ENVIRONMENT, GROUP_PRESETS, OUTPUT_FORMATS, PipelineConfig, flag_of

AFTER_COMMAND = "_after_command"  # the suffix of a repeatable option's destination after the command
CONFIG_FILE_DEST = "config_file"


@dataclass(frozen=True)
class Setting:
    """A setting's option: the flag that gives the ``PipelineConfig`` field ``name``."""

    name: str
    help: str
    metavar: str | None = None
    type: Callable[[str], Any] | None = None
    choices: tuple[str, ...] | None = None
    repeatable: bool = False
    shown_default: str = ""  # the default as help shows it, when it needs saying

    @property
    def flag(self) -> str:
        return flag_of(self.name)

    @property
    def dest(self) -> str:
        return f"setting_{self.name}"  # apart from the step commands' own options (combine's --region)

    @property
    def help_text(self) -> str:
        variables = " or ".join(ENVIRONMENT.get(self.name, ()))
        notes = [
            *([variables] if variables else []),
            *([f"default: {self.shown_default}"] if self.shown_default else []),
        ]
        return f"{self.help} ({'; '.join(notes)})" if notes else self.help


DEFAULTS = PipelineConfig()


SETTINGS = (
    Setting("profile", "AWS profile", "NAME"),
    Setting("region", "AWS region", "REGION"),
    Setting("pipeline_name", "pipeline name", "NAME", shown_default=DEFAULTS.pipeline_name),
    Setting("role_arn", "execution role ARN", "ARN"),
    Setting("bucket", "bucket for code, default input and output", "BUCKET"),
    Setting("prefix", "key prefix in that bucket", "PREFIX", shown_default=DEFAULTS.prefix),
    Setting(
        "groups",
        f"groups, comma-separated (30,31), or a preset: {', '.join(GROUP_PRESETS)}",
        "LIST",
        shown_default=next(
            (name for name, groups in GROUP_PRESETS.items() if groups == DEFAULTS.groups),
            ",".join(DEFAULTS.groups),
        ),
    ),
    Setting("image_uri", "custom image with the steps' requirements", "URI"),
    Setting("subnets", "VPC subnet ids, comma-separated", "LIST"),
    Setting("security_group_ids", "security group ids, comma-separated", "LIST"),
    Setting(
        "tags",
        "tags of the pipeline and its jobs, comma-separated (team=icu,owner=me); repeatable",
        "KEY=VALUE",
        repeatable=True,
    ),
    Setting(
        "max_parallel_steps",
        "steps of an execution at once: instances needed = this x GroupInstanceCount",
        "N",
        type=positive_int,
        shown_default=str(DEFAULTS.max_parallel_steps),
    ),
    Setting(
        "kms_key_id",
        "KMS key (id, ARN or alias) for the step code, the jobs' outputs and volumes, and the dataset",
        "KEY",
        shown_default="SSE-S3",
    ),
)
OUTPUT = Setting(
    "output",
    "how status, executions, plan, schedule show and notify show print: a table, or one JSON document; other "
    "commands print text",
    choices=OUTPUT_FORMATS,
    shown_default=DEFAULTS.output,
)
SETTINGS_TITLE = "settings, before or after the command (flag > environment > config file > default)"
OUTPUT_TITLE = "output, before or after the command"


def add_global_options(parser: argparse.ArgumentParser, after_command: bool = False) -> None:
    """Add every global option to ``parser``: the main parser's (before the command), or a command's."""
    default = argparse.SUPPRESS if after_command else None
    settings = parser.add_argument_group(SETTINGS_TITLE)
    settings.add_argument(
        "--config",
        dest=CONFIG_FILE_DEST,
        type=Path,
        default=default,
        metavar="FILE",
        help="TOML config file (default: ./waveform-pipeline.toml if present)",
    )
    for setting in SETTINGS:
        _add(settings, setting, default, after_command)
    _add(parser.add_argument_group(OUTPUT_TITLE), OUTPUT, default, after_command)


def _add(group: Any, setting: Setting, default: Any, after_command: bool) -> None:
    extra: dict[str, Any] = {"action": "append"} if setting.repeatable else {"type": setting.type}
    if setting.choices:
        extra["choices"] = setting.choices
    dest = setting.dest + (AFTER_COMMAND if after_command and setting.repeatable else "")
    group.add_argument(
        setting.flag, dest=dest, default=default, metavar=setting.metavar, help=setting.help_text, **extra
    )


def given_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The settings the global options gave, by ``PipelineConfig`` field (None: not given)."""
    given = {}
    for setting in (*SETTINGS, OUTPUT):
        value = getattr(args, setting.dest, None)
        if setting.repeatable:
            value = [*(value or []), *(getattr(args, setting.dest + AFTER_COMMAND, None) or [])] or None
        given[setting.name] = value
    return given


def config_file(args: argparse.Namespace) -> Path | None:
    value = getattr(args, CONFIG_FILE_DEST, None)
    return value if isinstance(value, Path) else None


def settings_flags_given(args: argparse.Namespace) -> list[str]:
    """The flags of the settings given before the command (``--config`` among them; ``--output`` not, which
    any command takes): what a command that takes no settings refuses."""
    flags = ["--config"] if getattr(args, CONFIG_FILE_DEST, None) is not None else []
    return flags + [s.flag for s in SETTINGS if getattr(args, s.dest, None) is not None]
