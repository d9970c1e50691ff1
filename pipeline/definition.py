"""The one function that builds the pipeline: for each group an extract step; one combine step over all of
them; caching on. ``get_pipeline`` is the entry point the SageMaker project templates expect."""

from __future__ import annotations

from pathlib import Path

import boto3
from sagemaker.core import image_uris
from sagemaker.core.workflow.pipeline_context import PipelineSession
from sagemaker.mlops.workflow.pipeline import Pipeline

from .aws_session import boto_session as make_boto_session
from .code_package import PROJECT_ROOT, StepCode, step_code
from .config import SKLEARN_IMAGE_VERSION, PipelineConfig
from .parameters import pipeline_parameters
from .processing_steps import StepContext, combine_step, extract_step

EXTRACT_CODE = ("extract", "steps/extract/extract_group.py")
COMBINE_CODE = ("combine", "steps/combine/combine_groups.py")


def get_pipeline(
    config: PipelineConfig, boto_session: boto3.Session | None = None, code_root: Path | None = None
) -> Pipeline:
    """Import this module after ``pipeline.aws_session.boto_session``: the SDK needs a region to import."""
    config.require("role_arn", "region", "bucket")
    session = PipelineSession(
        boto_session=boto_session or make_boto_session(config), default_bucket=config.bucket
    )
    parameters = pipeline_parameters(config)
    context = StepContext(config, parameters, session, image_uri(config))
    extract_code, combine_code = step_codes(code_root or Path(config.code_root or PROJECT_ROOT))
    extracts = [extract_step(context, extract_code, group) for group in config.groups]
    combine = combine_step(context, combine_code, extracts)
    return Pipeline(
        name=config.pipeline_name,
        parameters=parameters.as_list(),
        steps=[*extracts, combine],
        sagemaker_session=session,
        pipeline_experiment_config=None,  # no Experiments trial per execution: nothing here reads them
    )


def step_codes(root: Path = PROJECT_ROOT) -> tuple[StepCode, StepCode]:
    return step_code(*EXTRACT_CODE, root=root), step_code(*COMBINE_CODE, root=root)


def image_uri(config: PipelineConfig) -> str:
    """The configured image, or the region's SageMaker scikit-learn processing image."""
    if config.image_uri:
        return config.image_uri
    return str(
        image_uris.retrieve(
            "sklearn",
            region=config.region,
            version=SKLEARN_IMAGE_VERSION,
            instance_type="ml.m5.xlarge",
            image_scope="training",
        )
    )
