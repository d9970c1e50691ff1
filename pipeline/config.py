"""Deployment configuration: one source of truth, resolved as CLI flag > environment > config file > default.

The config file is TOML (``waveform-pipeline.toml`` in the working directory, or ``--config FILE``), with the
same keys as :class:`PipelineConfig`'s fields. Environment variables are the ones AWS users already set
(``AWS_REGION``, ``SAGEMAKER_ROLE_ARN``, …) plus ``WAVEFORM_*`` for the rest.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from functools import partial
from pathlib import Path
from typing import Any

from .errors import ConfigError, shown

DEFAULT_CONFIG_FILE = Path("waveform-pipeline.toml")

# botocore's rule for a region name (botocore.utils.validate_region_name: a host label, not all digits),
# matched against the whole value: botocore's ``$`` lets a trailing newline through, into an endpoint URL.
REGION_NAME = re.compile(r"(?![0-9]+$)(?!-)[a-zA-Z0-9-]{,63}(?<!-)")

GROUP_PRESETS: dict[str, tuple[str, ...]] = {
    "mimic3wdb": tuple(str(group) for group in range(30, 40)),  # MIMIC-III Waveform Database 1.0
    "matched": tuple(f"p{group:02d}" for group in range(10)),  # its matched subset
    # MIMIC-IV Waveform Database: the folders under waves/ (the input root), p<first 3 digits of subject_id>
    "mimic4wdb": tuple(f"p{group}" for group in range(100, 200)),
}
# The most groups a pipeline may have. The combine step is given each group step's output location, a
# property known only at run time (a reused step's is an earlier execution's), as one environment variable a
# group (steps.combine.command.group_output_environment): CreateProcessingJob takes at most 100 environment
# entries, and its container arguments (at most 100) hold the step's other options. The MIMIC-IV preset's 100
# groups fit exactly; docs/sagemaker.md says why not more.
MAX_GROUPS = 100

# How status, executions, plan, schedule show and notify show print what they found: for people, or one JSON
# document.
OUTPUT_FORMATS = ("table", "json")

# The SageMaker scikit-learn processing image: version 1.4-2-py312 runs Python 3.12 (the tag says so), on
# which the steps' pinned requirements install from wheels.
SKLEARN_IMAGE_VERSION = "1.4-2-py312"

ENVIRONMENT = {  # field -> environment variables, first set wins
    "pipeline_name": ("WAVEFORM_PIPELINE_NAME",),
    "role_arn": ("SAGEMAKER_ROLE_ARN", "WAVEFORM_ROLE_ARN"),
    "region": ("AWS_REGION", "AWS_DEFAULT_REGION"),
    "profile": ("AWS_PROFILE",),
    "bucket": ("WAVEFORM_BUCKET", "SAGEMAKER_DEFAULT_BUCKET"),
    "prefix": ("WAVEFORM_PREFIX",),
    "groups": ("WAVEFORM_GROUPS",),
    "image_uri": ("WAVEFORM_IMAGE_URI",),
    "subnets": ("WAVEFORM_SUBNETS",),
    "security_group_ids": ("WAVEFORM_SECURITY_GROUP_IDS",),
    "scheduler_role_arn": ("WAVEFORM_SCHEDULER_ROLE_ARN",),
    "glue_database": ("WAVEFORM_GLUE_DATABASE",),
    "glue_table": ("WAVEFORM_GLUE_TABLE",),
    "kms_key_id": ("WAVEFORM_KMS_KEY_ID",),
    "max_parallel_steps": ("WAVEFORM_MAX_PARALLEL_STEPS",),
    "code_root": ("WAVEFORM_CODE_ROOT",),
    "output": ("WAVEFORM_OUTPUT",),
}


# Flags whose name is not the setting's.
FLAGS = {"tags": "--tag"}


def flag_of(setting: str) -> str:
    """The command-line flag that gives a setting."""
    return FLAGS.get(setting, "--" + setting.replace("_", "-"))


def ways_to_set(setting: str) -> str:
    """Where a setting is given, as a message names them: its flag, then its environment variables."""
    variables = ENVIRONMENT.get(setting, ())
    return f"{flag_of(setting)}, {' or '.join(variables)}" if variables else flag_of(setting)


# A group's step shows as Extract-group-<group> (dag.extract_step), and a step's display name has at most 64.
MAX_GROUP_NAME = 64 - len("Extract-group-")
GROUP_NAME = re.compile(r"[A-Za-z0-9]+")  # a group's folder name is in its step's name, which takes no other


def is_group_name(name: str) -> bool:
    return bool(GROUP_NAME.fullmatch(name)) and len(name) <= MAX_GROUP_NAME


@dataclass(frozen=True)
class PipelineConfig:
    pipeline_name: str = "waveform-features"
    display_name: str = "MIMIC-III-waveform-features"  # the API allows letters, digits and hyphens only
    description: str = (
        "Per-signal features of MIMIC-III waveform record sets: one extract step per patient group, "
        "in parallel, then a combine step."
    )  # one line: the API matches its description pattern .* against the whole value
    role_arn: str = ""
    region: str = ""
    profile: str = ""
    bucket: str = ""
    prefix: str = "waveform-pipeline"
    groups: tuple[str, ...] = GROUP_PRESETS["mimic3wdb"]
    image_uri: str = ""  # empty: the region's SageMaker scikit-learn image, requirements installed at start
    subnets: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=lambda: {"project": "waveform-pipeline"})
    scheduler_role_arn: str = ""
    glue_database: str = ""
    glue_table: str = ""
    kms_key_id: str = ""  # encrypts the step code, the jobs' outputs and volumes, the dataset; empty: SSE-S3
    code_root: str = ""  # the checkout whose steps/ is packed; empty: this one
    # Steps of an execution running at once. Ten group steps at once need ten instances of the group
    # instance type, more than a new account's quota for most types; 4 fits common quotas, and a step
    # refused for its quota is retried for a day (processing_steps.retry_policies).
    max_parallel_steps: int = 4
    output: str = "table"  # how the commands that list things print: one of OUTPUT_FORMATS

    @property
    def custom_image(self) -> bool:
        return bool(self.image_uri)

    @property
    def tag_list(self) -> list[dict[str, str]]:
        """The tags as the API takes them, on the pipeline and on every job."""
        return [{"Key": key, "Value": value} for key, value in sorted(self.tags.items())]

    @property
    def code_prefix(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}/code"

    @property
    def input_root(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}/input"

    @property
    def output_root(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}/output"

    def require(self, *names: str) -> None:
        """Fail with one line naming the first missing setting and the ways to set it."""
        for name in names:
            if not getattr(self, name):
                shown_name = name.replace("_", " ")
                raise ConfigError(
                    f"{shown_name} is not set: give {ways_to_set(name)}, or set it in the config file"
                )


@dataclass(frozen=True)
class SettingType:
    """What a setting's value in the config file may be."""

    name: str  # as a message says it: "a string"
    accepts: Callable[[Any], bool]


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _names(value: Any, numbers: bool = False) -> bool:
    """A comma- or space-separated string, or a list of names (and of whole numbers: groups 30 ... 39)."""
    item_types = (str, int) if numbers else (str,)
    return isinstance(value, str) or (
        isinstance(value, list)
        and all(isinstance(item, item_types) and not isinstance(item, bool) for item in value)
    )


def _tag_table(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(item, str) for item in value.values())


def _whole(value: Any) -> bool:
    return isinstance(value, int | str) and not isinstance(value, bool)


TEXT = SettingType("a string", _text)
SETTING_TYPES: dict[str, SettingType] = {
    **{f.name: TEXT for f in fields(PipelineConfig) if f.type == "str"},
    "groups": SettingType(
        "a list of group names, or a comma-separated string", partial(_names, numbers=True)
    ),
    "subnets": SettingType("a list of subnet ids, or a comma-separated string", _names),
    "security_group_ids": SettingType("a list of security group ids, or a comma-separated string", _names),
    "tags": SettingType('a table of string values ([tags] KEY = "VALUE")', _tag_table),
    "max_parallel_steps": SettingType("a whole number", _whole),
}


def load_config(
    flags: Mapping[str, Any], environ: Mapping[str, str] | None = None, config_file: Path | None = None
) -> PipelineConfig:
    """Merge the four sources; flags with value None count as not given."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}  # setting -> where it was given, as a message names it
    tags = dict(PipelineConfig().tags)  # tags add up across sources, key by key, rather than replace
    for source in (_from_file(config_file), _from_environment(environ), _from_flags(flags)):
        for key, (value, origin) in source.items():
            if value is None:
                continue
            if key == "tags":
                tags.update(parse_tags(value, origin))
            else:
                values[key], origins[key] = value, origin
    values["tags"] = tags
    if "groups" in values:
        values["groups"] = parse_groups(values["groups"], origins["groups"])
    for key in ("subnets", "security_group_ids"):
        if key in values:
            values[key] = split_names(values[key])
    if "max_parallel_steps" in values:
        values["max_parallel_steps"] = _whole_number("max parallel steps", values["max_parallel_steps"])
    unknown = sorted(set(values) - set(SETTING_TYPES))
    if unknown:
        raise ConfigError(f"unknown configuration key(s): {', '.join(unknown)}")
    config = replace(PipelineConfig(), **values)
    _validate(config, origins)
    return config


def parse_groups(value: Any, origin: str = "groups") -> tuple[str, ...]:
    """A preset name (``mimic3wdb``, ``matched``, ``mimic4wdb``) or group names, comma- or space-separated;
    ``origin``: where the value was given (``--groups``, ``WAVEFORM_GROUPS``, the config file), as an error
    names it."""
    items = split_names(value)
    if len(items) == 1 and items[0] in GROUP_PRESETS:
        return GROUP_PRESETS[items[0]]
    if not items:
        raise ConfigError(f"{origin}: no group named in {shown(value)}")
    for group in items:
        if not GROUP_NAME.fullmatch(group):
            raise ConfigError(f"{origin}: {group!r} is not a group folder name (letters and digits)")
        if len(group) > MAX_GROUP_NAME:
            raise ConfigError(
                f"{origin}: {shown(group)} is longer than {MAX_GROUP_NAME} characters, the most a step's "
                "display name (Extract-group-<group>, at most 64) can hold"
            )
    twice = sorted({group for group in items if items.count(group) > 1})
    if twice:
        raise ConfigError(f"{origin}: a group is listed twice: {', '.join(twice)}")
    check_group_count(items, origin)
    return items


def check_group_count(groups: Sequence[str], origin: str = "groups") -> None:
    """At most :data:`MAX_GROUPS` groups, and at least one: one clear line otherwise."""
    if not groups:
        raise ConfigError(f"{origin}: no group named")
    if len(groups) > MAX_GROUPS:
        raise ConfigError(
            f"{origin}: {len(groups)} groups, more than the {MAX_GROUPS} a pipeline can take (the combine "
            f"job gets one environment variable per group, and a processing job takes at most "
            f"{MAX_GROUPS}): merge group folders, or deploy a pipeline per {MAX_GROUPS} groups "
            "(--pipeline-name)"
        )


def parse_tags(value: Any, origin: str = "tags") -> dict[str, str]:
    """Tags as a table (the config file), or ``KEY=VALUE`` items (``--tag``, a list or a string), each item
    possibly a comma-separated list of them: tag keys and values cannot hold a comma (the API's pattern), but
    they can hold spaces, so only commas separate them."""
    if isinstance(value, Mapping):
        for key, tag_value in value.items():
            if not isinstance(tag_value, str):
                raise ConfigError(f"{origin}: {key} = {shown(tag_value)} is not a string")
        return {str(k): v for k, v in value.items()}
    if not isinstance(value, str | list | tuple) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{origin}: {shown(value)} is neither a table of tags nor KEY=VALUE items")
    tags = {}
    items = [value] if isinstance(value, str) else value
    for item in (part for listed in items for part in listed.split(",")):
        key, sep, tag_value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"{origin}: tag {item!r} is not KEY=VALUE")
        tags[key] = tag_value
    return tags


def _whole_number(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ConfigError(f"{name}: {shown(value)} is not a whole number")
    try:
        return int(str(value).strip())
    except ValueError:
        raise ConfigError(f"{name}: {shown(value)} is not a whole number") from None


def split_names(value: Any) -> tuple[str, ...]:
    """Names given as one string, separated by commas or spaces (``30,31``, ``"30 31"``), or as a list: how
    every setting that takes several names (groups, subnets, security groups) reads its value."""
    if isinstance(value, str):
        return tuple(part for part in re.split(r"[,\s]+", value) if part)
    return tuple(str(part) for part in value)


Source = dict[str, tuple[Any, str]]  # setting -> (value, where it was given)


def _from_flags(flags: Mapping[str, Any]) -> Source:
    return {name: (value, FLAGS.get(name, "--" + name.replace("_", "-"))) for name, value in flags.items()}


def _from_environment(environ: Mapping[str, str]) -> Source:
    values = {}
    for name, variables in ENVIRONMENT.items():
        for variable in variables:
            if environ.get(variable):
                values[name] = (environ[variable], variable)
                break
    return values


def _from_file(config_file: Path | None) -> Source:
    """The settings of the config file, each checked to be of its setting's type."""
    path = config_file or DEFAULT_CONFIG_FILE
    if not path.exists():
        if config_file is not None:
            raise ConfigError(f"config file {config_file} does not exist")
        return {}
    if not path.is_file():  # a folder, or a named pipe that would block the read until someone writes
        raise ConfigError(f"config file {path} is not a regular file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"config file {path}: {exc.strerror or exc}") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"config file {path} is not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start}"
        ) from None
    try:
        settings = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: {exc}") from None
    for key, value in settings.items():
        if key not in SETTING_TYPES:
            raise ConfigError(f"config file {path}: unknown key {key!r}")
        expected = SETTING_TYPES[key]
        if not expected.accepts(value):
            raise ConfigError(f"config file {path}: {key} = {shown(value)} is not {expected.name}")
    return {key: (value, f"{key} in {path}") for key, value in settings.items()}


def _validate(config: PipelineConfig, origins: Mapping[str, str]) -> None:
    if not re.fullmatch(r"[A-Za-z0-9](-*[A-Za-z0-9]){0,255}", config.pipeline_name):
        raise ConfigError(f"pipeline name {config.pipeline_name!r}: letters, digits and hyphens, up to 256")
    if config.role_arn and not config.role_arn.startswith("arn:"):
        raise ConfigError(f"role ARN {config.role_arn!r} is not an ARN (arn:aws:iam::ACCOUNT:role/NAME)")
    if config.bucket and not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", config.bucket):
        raise ConfigError(f"bucket {config.bucket!r} is not an S3 bucket name")
    if bool(config.glue_database) != bool(config.glue_table):
        raise ConfigError("glue database and glue table go together: give both, or neither")
    if config.code_root and not (Path(config.code_root) / "steps").is_dir():
        raise ConfigError(f"code root {config.code_root} holds no steps/ folder")
    if config.prefix != config.prefix.strip("/") or not config.prefix:
        raise ConfigError(f"prefix {config.prefix!r}: give it without leading or trailing '/'")
    if config.kms_key_id and not re.fullmatch(r"[a-zA-Z0-9:/_-]{1,2048}", config.kms_key_id):
        raise ConfigError(f"KMS key {config.kms_key_id!r} is not a key id, key ARN, alias or alias ARN")
    if config.subnets and not config.custom_image:
        raise ConfigError(
            "subnets without a custom image: jobs in a VPC cannot install their requirements from PyPI "
            "without a NAT gateway; build steps/Dockerfile (docs/container.md), push it to ECR and give "
            "--image-uri"
        )
    if config.region and not REGION_NAME.fullmatch(config.region):
        raise ConfigError(
            f"{origins.get('region', 'region')}: {shown(config.region)} is not an AWS region name "
            "(such as us-east-1)"
        )
    if config.output not in OUTPUT_FORMATS:
        raise ConfigError(
            f"{origins.get('output', 'output')}: {shown(config.output)} is not an output format: "
            f"{' or '.join(OUTPUT_FORMATS)}"
        )
    if not 1 <= config.max_parallel_steps <= 1000:
        raise ConfigError(f"max parallel steps {config.max_parallel_steps}: give a whole number from 1")
