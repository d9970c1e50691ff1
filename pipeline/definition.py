"""The one function that builds the pipeline: an inventory of the groups' objects; for each group an extract
step reading what the inventory listed; one combine step over all of them; caching on. ``get_pipeline`` is
the entry point the SageMaker project templates expect.

The SDK is imported inside the functions, once the configured region is exported: importing it creates
clients, which need a region (``aws_session.export_region``), so importing this module needs none.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from .aws_session import boto_session as make_boto_session
from .aws_session import export_region
from .config import SKLEARN_IMAGE_VERSION, PipelineConfig, check_group_count
from .dag import COMBINE_STEP, INVENTORY_STEP, extract_step
from .errors import ConfigError
from .step_code import StepCode, code_root, step_codes

if TYPE_CHECKING:
    import boto3
    from sagemaker.mlops.workflow.pipeline import Pipeline


def get_pipeline(
    config: PipelineConfig,
    boto_session: boto3.Session | None = None,
    codes: Mapping[str, StepCode] | None = None,
) -> Pipeline:
    """The pipeline for ``config``; ``codes``: the steps' code packages, when the caller has built them."""
    config.require("role_arn", "region", "bucket")
    check_group_count(config.groups)
    export_region(config)
    from sagemaker.core.workflow.pipeline_context import PipelineSession
    from sagemaker.mlops.workflow.pipeline import Pipeline

    from .processing_steps import PipelineParameters, StepContext
    from .processing_steps import combine_step as sdk_combine_step
    from .processing_steps import extract_step as sdk_extract_step
    from .processing_steps import inventory_step as sdk_inventory_step

    session = PipelineSession(
        boto_session=boto_session or make_boto_session(config), default_bucket=config.bucket
    )
    parameters = PipelineParameters.of(config)
    context = StepContext(config, parameters, session, image_uri(config))
    codes = codes or step_codes(code_root(config))
    # an inventory of every group's objects, which decides whether a group step runs or is reused
    inventory = sdk_inventory_step(context, codes[INVENTORY_STEP.code], INVENTORY_STEP)
    extracts = []
    for group in config.groups:  # for each group an extract step
        step = extract_step(group)
        extracts.append((step, sdk_extract_step(context, codes[step.code], step, inventory)))
    # one combine step over all of them
    combine = sdk_combine_step(context, codes[COMBINE_STEP.code], COMBINE_STEP, extracts, inventory)
    return Pipeline(
        name=config.pipeline_name,
        parameters=parameters.as_list(),
        steps=[inventory, *(sdk_step for _, sdk_step in extracts), combine],
        sagemaker_session=session,
        pipeline_experiment_config=None,  # no Experiments trial per execution: nothing here reads them
    )


def image_uri(config: PipelineConfig) -> str:
    """The configured image, or the region's SageMaker scikit-learn processing image; a region the SDK has no
    such image for fails in one line (the SDK's own error is a ValueError listing every region it knows)."""
    if config.image_uri:
        return config.image_uri
    export_region(config)
    from sagemaker.core import image_uris

    known = _image_regions(image_uris.config_for_framework("sklearn"))
    if known is not None and config.region not in known:
        raise ConfigError(
            f"region {config.region!r}: the SageMaker SDK ({_version('sagemaker')}) knows no scikit-learn "
            f"image {SKLEARN_IMAGE_VERSION} there; give an image with --image-uri (WAVEFORM_IMAGE_URI, or "
            "image_uri in the config file), or a region the SDK knows, such as us-east-1"
        )
    return str(
        image_uris.retrieve(
            "sklearn",
            region=config.region,
            version=SKLEARN_IMAGE_VERSION,
            instance_type="ml.m5.xlarge",
            image_scope="training",
        )
    )


def _image_regions(framework: Mapping[str, Any]) -> set[str] | None:
    """The regions the SDK's image table has the scikit-learn image for; None if the table is not shaped as
    SDK 3.x shapes it (the SDK's own lookup then decides)."""
    try:
        return set(framework["training"]["versions"][SKLEARN_IMAGE_VERSION]["registries"])
    except (KeyError, TypeError):
        return None


def _version(distribution: str) -> str:
    try:
        return f"version {version(distribution)}"
    except PackageNotFoundError:
        return "installed here"
