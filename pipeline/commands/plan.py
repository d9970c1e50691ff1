"""``plan``: list the input root's groups and predict each group step's volume, times and cost, before a run.

It lists objects (S3's ListObjectsV2, or a local folder's files) and calls nothing else: no SageMaker call,
and the SageMaker SDK is never imported.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..config import PipelineConfig
from ..errors import ConfigError
from .json_output import print_json
from .settings import config_of

S3_SCHEME = "s3://"


def plan(args: argparse.Namespace) -> int:
    from ..parameters import WINDOW_SECONDS_PARAMETER, pipeline_parameters
    from ..planning.instance_types import instance_type
    from ..planning.parallel_listing import list_with_progress
    from ..planning.plan import make_plan

    config = config_of(args)
    defaults = {parameter.name: parameter.default for parameter in pipeline_parameters(config)}
    root = args.input_root or _configured_root(config.input_root, config.bucket)
    progress = sys.stderr.isatty() and not args.no_progress
    if root.startswith(S3_SCHEME):
        _check_s3_root(root)
        listings = list_with_progress(root, config.groups, _s3_client(config, len(config.groups)), progress)
    else:
        if not Path(root).is_dir():
            raise ConfigError(f"--input-root {root}: no such folder (give a folder, or s3://bucket/prefix)")
        listings = list_with_progress(root, config.groups, None, progress)
    made = make_plan(
        root,
        listings,
        instance_type(args.instance_type or str(defaults["GroupInstanceType"])),
        args.instance_count or int(defaults["GroupInstanceCount"]),
        config.max_parallel_steps,
        args.volume_quota_gb,
        float(defaults[WINDOW_SECONDS_PARAMETER]) if args.window_seconds is None else args.window_seconds,
    )
    if config.output == "json":
        print_json(made.as_json())
    else:
        print(made.text())
    return 0


def _configured_root(input_root: str, bucket: str) -> str:
    if not bucket:
        raise ConfigError(
            "bucket is not set: give --bucket, WAVEFORM_BUCKET or SAGEMAKER_DEFAULT_BUCKET (the input root "
            "is s3://<bucket>/<prefix>/input), or --input-root"
        )
    return input_root


def _check_s3_root(root: str) -> None:
    bucket = root[len(S3_SCHEME) :].split("/", 1)[0]
    if not bucket:
        raise ConfigError(f"--input-root {root}: no bucket (give s3://bucket/prefix)")


def _s3_client(config: PipelineConfig, threads: int) -> Any:
    from botocore.config import Config

    from steps.inventory.listing import connections_for

    from ..aws_session import boto_session

    return boto_session(config).client("s3", config=Config(max_pool_connections=connections_for(threads)))
