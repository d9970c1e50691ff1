"""Stand-ins for the settings ``graph`` and ``definition`` need only to print: with no region, role or bucket
configured they still print the pipeline, with these clearly fake values (AWS's own documentation examples:
account 111122223333, bucket amzn-s3-demo-bucket) where a real one would be, and say so on standard error."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..config import PipelineConfig, ways_to_set

PLACEHOLDERS = {
    "region": "us-east-1",
    "role_arn": "arn:aws:iam::111122223333:role/placeholder-execution-role",
    "bucket": "amzn-s3-demo-bucket",
}
SHOWN_AS = {"region": "region", "role_arn": "execution role", "bucket": "bucket"}


def with_placeholders(config: PipelineConfig) -> tuple[PipelineConfig, list[str]]:
    """``config`` with a placeholder for each of region, role and bucket that is not set; and their names."""
    missing = [name for name in PLACEHOLDERS if not getattr(config, name)]
    filled: dict[str, Any] = {name: PLACEHOLDERS[name] for name in missing}
    return replace(config, **filled), missing


def placeholder_note(missing: list[str]) -> str:
    """One line: which values are placeholders, and how to give real ones."""
    stand_ins = ", ".join(f"{SHOWN_AS[name]} {PLACEHOLDERS[name]}" for name in missing)
    ways = "; ".join(f"{SHOWN_AS[name]}: {ways_to_set(name)}" for name in missing)
    return (
        f"note: not configured, so placeholders stand in: {stand_ins} (to give real ones: {ways}; or the "
        "config file)"
    )
