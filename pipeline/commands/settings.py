"""The configuration a command resolves from its options, and its ``--param`` overrides."""

from __future__ import annotations

import argparse

from ..config import PipelineConfig, load_config
from ..global_options import config_file, given_settings
from ..parameters import ParameterValue, parse_overrides, pipeline_parameters


def config_of(args: argparse.Namespace) -> PipelineConfig:
    """The resolved settings; their region becomes every AWS client's default at once, before any handler
    imports the SDK (which creates clients as it is imported)."""
    from ..aws_session import export_region

    flags = given_settings(args)
    flags["scheduler_role_arn"] = getattr(args, "scheduler_role_arn", None)  # schedule put's own option
    config = load_config(flags, config_file=config_file(args))
    export_region(config)
    return config


def overrides(config: PipelineConfig, items: list[str]) -> dict[str, ParameterValue]:
    """The ``--param NAME=VALUE`` items, checked against the pipeline's parameters before any API call."""
    return parse_overrides(items, pipeline_parameters(config))
