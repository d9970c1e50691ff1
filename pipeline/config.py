"""Deployment configuration: one source of truth, resolved as CLI flag > environment > config file > default.

The config file is TOML (``waveform-pipeline.toml`` in the working directory, or ``--config FILE``), with the
same keys as :class:`PipelineConfig`'s fields. Environment variables are the ones AWS users already set
(``AWS_REGION``, ``SAGEMAKER_ROLE_ARN``, …) plus ``WAVEFORM_*`` for the rest.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .errors import ConfigError

DEFAULT_CONFIG_FILE = Path("waveform-pipeline.toml")

GROUP_PRESETS: dict[str, tuple[str, ...]] = {
    "mimic3wdb": tuple(str(group) for group in range(30, 40)),  # MIMIC-III Waveform Database 1.0
    "matched": tuple(f"p{group:02d}" for group in range(10)),  # its matched subset
}

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
}


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
                flag = "--" + name.replace("_", "-")
                env = " or ".join(ENVIRONMENT.get(name, ()))
                where = f"{flag}, {env}" if env else flag
                raise ConfigError(
                    f"{name.replace('_', ' ')} is not set: give {where}, or set it in the config file"
                )


def load_config(
    flags: Mapping[str, Any], environ: Mapping[str, str] | None = None, config_file: Path | None = None
) -> PipelineConfig:
    """Merge the four sources; flags with value None count as not given."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    tags = dict(PipelineConfig().tags)  # tags add up across sources, key by key, rather than replace
    for source in (_from_file(config_file), _from_environment(environ), flags):
        given = {key: value for key, value in source.items() if value is not None}
        if "tags" in given:
            tags.update(parse_tags(given.pop("tags")))
        values.update(given)
    values["tags"] = tags
    if "groups" in values:
        values["groups"] = parse_groups(values["groups"])
    for key in ("subnets", "security_group_ids"):
        if key in values:
            values[key] = _as_tuple(values[key])
    if "max_parallel_steps" in values:
        values["max_parallel_steps"] = _whole_number("max parallel steps", values["max_parallel_steps"])
    known = {f.name for f in fields(PipelineConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"unknown configuration key(s): {', '.join(unknown)}")
    config = replace(PipelineConfig(), **values)
    _validate(config)
    return config


def parse_groups(value: Any) -> tuple[str, ...]:
    """A preset name (``mimic3wdb``, ``matched``) or group names, comma- or space-separated."""
    items = _as_tuple(value)
    if len(items) == 1 and items[0] in GROUP_PRESETS:
        return GROUP_PRESETS[items[0]]
    if not items:
        raise ConfigError("groups: give at least one group, or a preset: " + ", ".join(GROUP_PRESETS))
    for group in items:
        if not re.fullmatch(r"[A-Za-z0-9]+", group):
            raise ConfigError(f"groups: {group!r} is not a group folder name (letters and digits)")
    if len(set(items)) != len(items):
        raise ConfigError("groups: a group is listed twice")
    return items


def parse_tags(value: Any) -> dict[str, str]:
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    tags = {}
    for item in _as_tuple(value):
        key, sep, tag_value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"tag {item!r} is not KEY=VALUE")
        tags[key] = tag_value
    return tags


def _whole_number(name: str, value: Any) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise ConfigError(f"{name}: {value!r} is not a whole number") from None


def _as_tuple(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(part for part in re.split(r"[,\s]+", value) if part)
    return tuple(str(part) for part in value)


def _from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    values = {}
    for name, variables in ENVIRONMENT.items():
        for variable in variables:
            if environ.get(variable):
                values[name] = environ[variable]
                break
    return values


def _from_file(config_file: Path | None) -> dict[str, Any]:
    path = config_file or DEFAULT_CONFIG_FILE
    if not path.exists():
        if config_file is not None:
            raise ConfigError(f"config file {config_file} does not exist")
        return {}
    try:
        with open(path, "rb") as stream:
            return tomllib.load(stream)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"config file {path}: {exc}") from exc


def _validate(config: PipelineConfig) -> None:
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
    if not 1 <= config.max_parallel_steps <= 1000:
        raise ConfigError(f"max parallel steps {config.max_parallel_steps}: give a whole number from 1")
