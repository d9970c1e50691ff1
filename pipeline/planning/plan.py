"""What ``waveform-pipeline plan`` reports: each group's objects, bytes and fingerprint as listed, the volume
it needs, and its step's predicted times and cost on an instance type (``cost_model``); the run's totals; and
the groups that are empty or need more volume than the quota allows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from steps.inventory.listing import LISTING_THREADS, PAGE_SIZE, S3_SCHEME, GroupListing
from steps.inventory.volumes import MAX_VOLUME_GB, VOLUME_QUOTA_NAME, combine_volume_gb, volume_gb

from ..dag import INVENTORY_INSTANCE_TYPE, INVENTORY_VOLUME_GB
from ..executions import render_table
from .cost_figures import FIGURES, PRICE_REGION, S3_LIST_DOLLARS
from .cost_model import (
    TB,
    GroupEstimate,
    InventoryEstimate,
    estimate_group,
    estimate_inventory,
    wall_seconds,
)
from .instance_types import SOURCES, InstanceType, instance_type

FINGERPRINT_SHOWN = 12  # hex digits of a fingerprint in the table (JSON has all 64)
COST_MODEL_DOC = "docs/cost-model.md"
HEADERS = (
    *("GROUP", "OBJECTS", "SIZE", "VOLUME"),
    *("DOWNLOAD", "READ", "COMPUTE", "TOTAL", "COST", "FINGERPRINT"),
)


@dataclass(frozen=True)
class GroupPlan:
    listing: GroupListing
    estimate: GroupEstimate

    @property
    def empty(self) -> bool:
        return self.listing.objects == 0

    def as_json(self) -> dict[str, Any]:
        return {
            "group": self.listing.group,
            "prefix": self.listing.prefix,
            "objects": self.listing.objects,
            "bytes": self.listing.bytes,
            "fingerprint": self.listing.fingerprint,
            "volume_gb": self.estimate.volume_gb,
            **self.estimate.as_json(),
        }


@dataclass(frozen=True)
class Plan:
    input_root: str
    instance: InstanceType
    instances: int  # per group step
    parallel: int  # group steps at once
    volume_quota_gb: int
    groups: list[GroupPlan]
    inventory: InventoryEstimate  # the step before the group steps, on every execution
    window_seconds: float  # what the volumes are sized for
    combine_volume_gb: int

    @property
    def objects(self) -> int:
        return sum(g.listing.objects for g in self.groups)

    @property
    def bytes(self) -> int:
        return sum(g.listing.bytes for g in self.groups)

    @property
    def dollars(self) -> float:
        """The inventory step and every group step."""
        return self.inventory.dollars + sum(g.estimate.dollars for g in self.groups)

    @property
    def dollars_per_tb(self) -> float | None:
        return self.dollars / (self.bytes / TB) if self.bytes else None

    @property
    def instance_hours(self) -> float:
        group_seconds = sum(g.estimate.instances * g.estimate.total_seconds for g in self.groups)
        return (self.inventory.total_seconds + group_seconds) / 3600

    @property
    def wall_seconds(self) -> float:
        """The inventory step, then the group steps, ``parallel`` at a time."""
        groups = wall_seconds([g.estimate.total_seconds for g in self.groups], self.parallel)
        return self.inventory.total_seconds + groups

    @property
    def list_requests(self) -> int:
        """The ListObjectsV2 requests this plan's listing made: one a page, one at least a group; none for a
        local folder."""
        if not self.input_root.startswith(S3_SCHEME):
            return 0
        return sum(max(1, g.listing.pages) for g in self.groups)

    @property
    def empty_groups(self) -> list[str]:
        return [g.listing.group for g in self.groups if g.empty]

    @property
    def over_quota(self) -> list[GroupPlan]:
        return [g for g in self.groups if g.estimate.volume_gb > self.volume_quota_gb]

    def as_json(self) -> dict[str, Any]:
        per_tb = self.dollars_per_tb
        return {
            "input_root": self.input_root,
            "instance_type": self.instance.as_json(),
            "instances_per_group": self.instances,
            "max_parallel_steps": self.parallel,
            "volume_quota_gb": self.volume_quota_gb,
            "window_seconds": self.window_seconds,
            "combine_volume_gb": self.combine_volume_gb,
            "price_region": PRICE_REGION,
            "groups": [g.as_json() for g in self.groups],
            "inventory": self.inventory.as_json(),
            "totals": {
                "objects": self.objects,
                "bytes": self.bytes,
                "instance_hours": round(self.instance_hours, 3),
                "wall_seconds": round(self.wall_seconds, 1),
                "cost_usd": round(self.dollars, 4),
                "cost_usd_per_tb": round(per_tb, 4) if per_tb is not None else None,
                "list_requests": self.list_requests,
                "listing_cost_usd": round(self.list_requests * S3_LIST_DOLLARS.value, 4),
            },
            "empty_groups": self.empty_groups,
            "over_volume_quota": [
                {"group": g.listing.group, "volume_gb": g.estimate.volume_gb} for g in self.over_quota
            ],
            "combine_over_volume_quota": self.combine_volume_gb > self.volume_quota_gb,
            "volume_quota_name": VOLUME_QUOTA_NAME,
            "figures": {
                **{name: figure.as_json() for name, figure in FIGURES.items()},
                **{f"instance {columns}": source for columns, source in SOURCES.items()},
            },
            "model": COST_MODEL_DOC,
        }

    def text(self) -> str:
        i = self.instance
        lines = [
            f"input root: {self.input_root} ({len(self.groups)} group(s))",
            f"instance: {self.instances} x {i.name} per group step ({i.vcpus} vCPUs, {i.memory_gib:g} GiB, "
            f"${i.dollars_per_hour:g} an hour in {PRICE_REGION})",
            render_table(HEADERS, [_row(g) for g in self.groups] + [self._total_row()]),
            "read and compute overlap: a step's TOTAL is its start-up, download, and the longer of the two",
            f"volumes: each group's data and its outputs with windows of {self.window_seconds:g} s "
            f"(--window-seconds); the combine step's {self.combine_volume_gb:,} GB",
            self._inventory_line(),
            self._run_line(),
            f"this listing: {self.list_requests:,} ListObjectsV2 request(s), "
            f"${self.list_requests * S3_LIST_DOLLARS.value:,.2f}"
            if self.input_root.startswith(S3_SCHEME)
            else "this listing: a local folder, no S3 request",
        ]
        if self.empty_groups:
            lines.append(f"empty: {', '.join(self.empty_groups)} (no objects under the group's folder)")
        for g in self.over_quota:
            lines.append(self._over_quota_line(f"group {g.listing.group}", g.estimate.volume_gb))
        if self.combine_volume_gb > self.volume_quota_gb:
            lines.append(self._over_quota_line("the combine step", self.combine_volume_gb))
        lines.append(f"figures and their sources: {COST_MODEL_DOC} (plan --output json lists them)")
        return "\n".join(lines)

    def _total_row(self) -> Sequence[str]:
        return ("total", f"{self.objects:,}", size_text(self.bytes), *[""] * 5, f"${self.dollars:,.2f}", "")

    def _inventory_line(self) -> str:
        i = self.inventory
        return (
            f"inventory step: {duration_text(i.total_seconds)} on {i.instance.name}, {i.list_requests:,} "
            f"ListObjectsV2 request(s), ${i.dollars:,.2f}, on every execution (one whose data did not "
            "change runs it alone)"
        )

    def _run_line(self) -> str:
        per_tb = self.dollars_per_tb
        return (
            f"run: {duration_text(self.wall_seconds)}, the inventory step then {self.parallel} group step(s) "
            "at a time, "
            f"{self.instance_hours:,.1f} instance-hours, ${self.dollars:,.2f}"
            + (f", ${per_tb:,.2f} per TB" if per_tb is not None else "")
            + " (the combine step's few minutes not counted)"
        )

    def _over_quota_line(self, step: str, volume: int) -> str:
        shorter = ", or choose longer windows" if self.window_seconds else ""
        if volume > MAX_VOLUME_GB:
            remedy = "split the group's folder" if step.startswith("group") else "use fewer groups a pipeline"
            return (
                f"over the volume quota: {step} needs {volume:,} GB, more than the {MAX_VOLUME_GB:,} GB a "
                f"Processing instance's volume can have: {remedy}{shorter}"
            )
        return (
            f"over the volume quota: {step} needs {volume:,} GB, more than the "
            f"{self.volume_quota_gb:,} GB of '{VOLUME_QUOTA_NAME}': raise it in Service Quotas, then "
            "plan --volume-quota-gb N"
        )


def make_plan(
    input_root: str,
    listings: Sequence[GroupListing],
    instance: InstanceType,
    instances: int,
    parallel: int,
    volume_quota_gb: int,
    window_seconds: float,
) -> Plan:
    """The plan of the groups ``listings`` found, their volumes sized for windows of ``window_seconds``."""
    groups = [
        GroupPlan(
            listing,
            estimate_group(
                instance, listing.bytes, listing.objects, volume_gb(listing.bytes, window_seconds), instances
            ),
        )
        for listing in listings
    ]
    on_s3 = input_root.startswith(S3_SCHEME)
    pages = [listing.pages if on_s3 else s3_pages(listing.objects) for listing in listings]
    inventory = estimate_inventory(
        instance_type(INVENTORY_INSTANCE_TYPE), INVENTORY_VOLUME_GB, pages, LISTING_THREADS
    )
    combine_volume = combine_volume_gb([listing.bytes for listing in listings], window_seconds)
    return Plan(
        input_root, instance, instances, parallel, volume_quota_gb, groups, inventory, window_seconds,
        combine_volume,
    )  # fmt: skip


def s3_pages(objects: int) -> int:
    """The ListObjectsV2 pages a group of ``objects`` takes once in S3 (a local folder's, before its upload);
    an empty group takes one."""
    return max(1, -(-objects // PAGE_SIZE))


def _row(g: GroupPlan) -> Sequence[str]:
    e = g.estimate
    return (
        g.listing.group,
        f"{g.listing.objects:,}",
        size_text(g.listing.bytes),
        f"{e.volume_gb:,} GB",
        duration_text(e.download_seconds),
        duration_text(e.read_seconds),
        duration_text(e.compute_seconds),
        duration_text(e.total_seconds),
        f"${e.dollars:,.2f}",
        g.listing.fingerprint[:FINGERPRINT_SHOWN],
    )


def size_text(size: int) -> str:
    """Bytes in decimal units, as S3 and the price pages count them: ``670.0 GB``, ``6.70 TB``."""
    if size >= TB:
        return f"{size / TB:,.2f} TB"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:,.1f} {unit}"
    return f"{size} B"


def duration_text(seconds: float) -> str:
    """``2h42m``, ``18m``, ``45s``: whole minutes from a minute on."""
    if seconds < 60:
        return f"{seconds:.0f}s"
    minutes = round(seconds / 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"
