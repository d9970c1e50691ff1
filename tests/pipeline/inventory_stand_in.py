"""The inventory step's property file as an execution would read it, for evaluator tests whose steps are taken
as run: each group's manifest named by a fingerprint the test chooses (the data's state), as the inventory
step names it (the contract in steps/inventory). The real inventory step runs against moto's S3 in
test_content_aware_cache.py."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pipeline.definition_eval import PropertyFileReader
from steps.inventory.command import MANIFEST_FIELD, VOLUME_FIELD, group_key
from steps.inventory.manifests import manifest_uri

MANIFEST_ROOT = "s3://waveform-bucket/waveform-pipeline/output/manifests"


def inventory_reader(
    groups: Sequence[str], fingerprints: Mapping[str, str] | None = None, volume_gb: int = 5
) -> PropertyFileReader:
    """A reader of the inventory's property file: group -> fingerprint (default ``"0" * 64`` each)."""

    def read(step: Mapping[str, Any], declaration: Mapping[str, Any], properties: Mapping[str, Any]) -> Any:
        return {
            group_key(group): {
                MANIFEST_FIELD: manifest_uri(MANIFEST_ROOT, group, (fingerprints or {}).get(group, "0" * 64)),
                VOLUME_FIELD: volume_gb,
            }
            for group in groups
        }

    return read
