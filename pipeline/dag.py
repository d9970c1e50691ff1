"""The pipeline's steps as data: an inventory step, then for each group an extract step, then one combine step
over all of them.

What a step is (its name, its group, which step code it runs, its container paths and arguments) is written
here once, free of the SDK: ``processing_steps`` declares these steps to the SDK, the local runner executes
them, and both read the same description, so a group travels with its step as data and is never decoded
from a step's name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from steps.combine import command as combine_command
from steps.extract import command as extract_command
from steps.inventory import command as inventory_command

from .config import PipelineConfig

CONTAINER_ROOT = "/opt/ml/processing"
CODE_DIR = f"{CONTAINER_ROOT}/input/code"
RECORDS_DIR = f"{CONTAINER_ROOT}/input/records"
GROUP_OUTPUTS_DIR = f"{CONTAINER_ROOT}/input/groups"  # where the combine step fetches the groups' outputs
OUTPUT_DIR = f"{CONTAINER_ROOT}/output"
GROUP_OUTPUT_NAME = "group"
COMBINED_OUTPUT_NAME = "combined"
INVENTORY_OUTPUT_NAME = "inventory"
INVENTORY_PROPERTY_FILE = "Inventory"  # the name the group steps' JsonGet expressions read it by
MANIFESTS_FOLDER = "manifests"  # under the output root: <group>/<fingerprint>.manifest
MANIFEST_FILE = "ManifestFile"  # an S3Input's S3DataType when its S3Uri names a manifest, as a group's does
# The inventory lists S3 and writes one manifest per group (tens of MB for a group of a million objects): the
# smallest Processing instance does it, on a volume that holds every group's manifest while it is written.
# Here, free of the SDK, because plan costs the step too.
INVENTORY_INSTANCE_TYPE = "ml.t3.medium"
INVENTORY_VOLUME_GB = 10

# Arguments only a Processing job understands: the combine step writes its dataset to S3 beside its job's
# output there (an execution id in its arguments would change its cache key on every run). A local run
# leaves them out, and the step writes the dataset with pyarrow beside its reports, its default.
DATASET_S3_URI_OPTION = "--dataset-s3-uri"
CLOUD_ONLY_ARGUMENTS = (DATASET_S3_URI_OPTION, combine_command.FROM_JOB_OUTPUT)


@dataclass(frozen=True)
class DagStep:
    """One step of the pipeline."""

    name: str
    display_name: str  # Studio shows it; the definition schema allows [A-Za-z0-9-_]{1,64}
    description: str
    code: str  # the folder under steps/ whose code it runs: "inventory", "extract" or "combine"
    group: str | None = None  # the patient group an extract step summarises


INVENTORY_STEP = DagStep(
    name="Inventory",
    display_name="Inventory-of-groups",
    description="List each group's objects (keys, sizes, ETags) into a manifest named by their fingerprint, "
    "and size each group's volume: a group step re-runs exactly when its manifest changes.",
    code="inventory",
)


def extract_step(group: str) -> DagStep:
    return DagStep(
        name=f"Extract{group}",
        display_name=f"Extract-group-{group}",
        description=f"Summarise every WFDB record of patient group {group} over every vCPU.",
        code="extract",
        group=group,
    )


COMBINE_STEP = DagStep(
    name="Combine",
    display_name="Combine-groups",
    description="Merge the groups' features into one Parquet dataset, signal statistics, quality report.",
    code="combine",
)


def dag_steps(groups: Sequence[str]) -> list[DagStep]:
    """The inventory step; for each group an extract step; then the combine step over all of them."""
    return [INVENTORY_STEP, *(extract_step(group) for group in groups), COMBINE_STEP]


def inventory_arguments(
    config: PipelineConfig,
    input_root: Any,
    manifest_root: Any,
    volume_size_argument: Any,
    volume_quota_argument: Any,
    window_seconds_argument: Any,
) -> list[Any]:
    """The inventory step's container arguments; the roots and the ``--option=VALUE`` arguments may be
    expressions."""
    return inventory_command.arguments(
        input_root,
        config.groups,
        manifest_root,
        OUTPUT_DIR,
        volume_size_argument,
        volume_quota_argument,
        window_seconds_argument,
        kms_key_id=config.kms_key_id,
        region=config.region,
    )


def inventory_path(group: str | None, field: str) -> str:
    """Where a group's ``field`` (``inventory_command.MANIFEST_FIELD`` or ``VOLUME_FIELD``) is in the
    inventory step's property file; with no group, the combine step's (``VOLUME_FIELD``)."""
    return inventory_command.property_path(group, field)


def extract_arguments(group: str, input_version_argument: Any, window_seconds_argument: Any) -> list[Any]:
    """An extract step's container arguments; ``input_version_argument`` (``--input-version=VALUE``) and
    ``window_seconds_argument`` (``--window-seconds=VALUE``) may be expressions."""
    return extract_command.arguments(
        RECORDS_DIR, OUTPUT_DIR, group, input_version_argument, window_seconds_argument
    )


def combine_arguments(config: PipelineConfig, strict: Any) -> list[Any]:
    """The combine step's container arguments, the cloud-only ones included: strictness (an expression), and
    the deployment's region, KMS key and Glue table. The groups' outputs are in its environment
    (:func:`combine_environment`)."""
    arguments = combine_command.arguments(
        GROUP_OUTPUTS_DIR,
        OUTPUT_DIR,
        strict,
        region=config.region,
        kms_key_id=config.kms_key_id,
        glue_database=config.glue_database,
        glue_table=config.glue_table,
    )
    return [*arguments, *CLOUD_ONLY_ARGUMENTS]


def combine_environment(
    group_outputs: Sequence[tuple[str, Any]], join: Callable[[str, list[Any]], Any]
) -> dict[str, Any]:
    """The combine step's environment: each group's name and output location (an expression), one variable a
    group, joined with ``join`` (the SDK's Join, which the service resolves keeping the location whole)."""
    return combine_command.group_output_environment(group_outputs, join)


def local_arguments(arguments: Sequence[str]) -> list[str]:
    """A step's resolved container arguments less the cloud-only ones."""
    kept: list[str] = []
    index = 0
    while index < len(arguments):
        if tuple(arguments[index : index + len(CLOUD_ONLY_ARGUMENTS)]) == CLOUD_ONLY_ARGUMENTS:
            index += len(CLOUD_ONLY_ARGUMENTS)
            continue
        kept.append(arguments[index])
        index += 1
    return kept
