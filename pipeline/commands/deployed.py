"""The deployed pipeline, as the commands that operate it (start, status, the schedule) reach it."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

from ..config import PipelineConfig
from ..errors import NotFoundError
from ..parameters import ParameterValue

if TYPE_CHECKING:
    import boto3
    from sagemaker.mlops.workflow.pipeline import Pipeline


def deployed(config: PipelineConfig) -> tuple[boto3.Session, Pipeline]:
    """A handle on the deployed pipeline by name: no role or bucket needed."""
    from ..aws_session import boto_session

    session = boto_session(config)
    from sagemaker.core.helper.session_helper import Session
    from sagemaker.mlops.workflow.pipeline import Pipeline

    return session, Pipeline(name=config.pipeline_name, sagemaker_session=Session(boto_session=session))


def starts_checked(
    config: PipelineConfig,
    pipeline: Pipeline,
    overrides: dict[str, ParameterValue],
    display_name: str | None = None,
) -> bool:
    """Whether the deployed pipeline, started with ``overrides``, sends requests the service accepts (each
    problem printed as one ``error:`` line)."""
    from ..deployment import deployed_definition
    from ..preflight import check_start

    definition = deployed_definition(pipeline)
    if definition is None:
        raise NotFoundError(f"pipeline {pipeline.name} is not deployed: run waveform-pipeline upsert first")
    found = check_start(config, json.dumps(definition), overrides, display_name)
    for problem in found.problems:
        print(f"error: {problem}", file=sys.stderr)
    return not found.problems
