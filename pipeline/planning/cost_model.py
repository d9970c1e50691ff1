"""How long a group step takes and what it costs, from the group's bytes and objects and an instance type.

A group step in File mode, on each of its instances:

1. starts (``STARTUP_SECONDS``);
2. copies the whole group onto its gp2 volume, at the slowest of File mode's rate, the instance's baseline
   network and EBS bandwidths and the volume's throughput (a ``FullyReplicated`` input: every instance copies
   all of it), and no faster than the volume's (or the instance's) IOPS allow: a file takes an I/O at least;
3. reads its share of the files back from the volume (the slower of the volume and the instance's EBS
   bandwidth, and their IOPS) while the extract step computes on every vCPU; reading and computing overlap,
   so this phase lasts as long as the slower of the two.

Cost: the instances' price for that time, plus each instance's volume at its GB-month price, both pro rata
to the second, plus a GET request per object per instance. Every figure and its source: ``cost_figures`` and
``instance_types``; docs/cost-model.md.

The inventory step heads every execution, also one whose data did not change (a schedule's): it starts, lists
every group a page at a time (its threads list groups side by side) and keeps each group's manifest; it costs
its instance and volume for that time, its LIST requests, and a HEAD and at most a PUT a group's manifest.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .cost_figures import (
    EXTRACT_BYTES_PER_CORE_SECOND,
    EXTRACT_SECONDS_PER_OBJECT,
    FILE_MODE_BYTES_PER_SECOND,
    GP2_IOPS_PER_GB,
    GP2_MAX_BYTES_PER_SECOND,
    GP2_MAX_IOPS,
    GP2_MIN_IOPS,
    GP2_SMALL_BYTES_PER_SECOND,
    GP2_SMALL_VOLUME_GB,
    HOURS_PER_MONTH,
    LIST_PAGE_SECONDS,
    S3_GET_DOLLARS,
    S3_LIST_DOLLARS,
    SSD_IO_BYTES,
    STARTUP_SECONDS,
    VOLUME_DOLLARS_PER_GB_MONTH,
)
from .instance_types import InstanceType

TB = 1e12
HOUR = 3600.0


@dataclass(frozen=True)
class GroupEstimate:
    """One group step's predicted times (seconds, on each of its instances) and cost (US dollars)."""

    instance: InstanceType
    instances: int
    objects: int  # the group's, each copied by every instance
    volume_gb: int
    startup_seconds: float
    download_seconds: float
    read_seconds: float
    compute_seconds: float

    @property
    def total_seconds(self) -> float:
        return self.startup_seconds + self.download_seconds + max(self.read_seconds, self.compute_seconds)

    @property
    def bound(self) -> str:
        """What the phase after the download waits on: ``read`` (I/O-bound) or ``compute``."""
        return "compute" if self.compute_seconds > self.read_seconds else "read"

    @property
    def instance_dollars(self) -> float:
        return self.instances * self.instance.dollars_per_hour * self.total_seconds / HOUR

    @property
    def volume_dollars(self) -> float:
        months = self.total_seconds / HOUR / HOURS_PER_MONTH.value
        return self.instances * self.volume_gb * VOLUME_DOLLARS_PER_GB_MONTH.value * months

    @property
    def request_dollars(self) -> float:
        return self.instances * self.objects * S3_GET_DOLLARS.value

    @property
    def dollars(self) -> float:
        return self.instance_dollars + self.volume_dollars + self.request_dollars

    def as_json(self) -> dict[str, Any]:
        return {
            "seconds": {
                "startup": round(self.startup_seconds, 1),
                "download": round(self.download_seconds, 1),
                "read": round(self.read_seconds, 1),
                "compute": round(self.compute_seconds, 1),
                "total": round(self.total_seconds, 1),
            },
            "bound": self.bound,
            "cost_usd": {
                "instances": round(self.instance_dollars, 4),
                "volumes": round(self.volume_dollars, 4),
                "requests": round(self.request_dollars, 4),
                "total": round(self.dollars, 4),
            },
        }


@dataclass(frozen=True)
class InventoryEstimate:
    """The inventory step's predicted time (seconds) and cost (US dollars), on every execution."""

    instance: InstanceType
    volume_gb: int
    groups: int
    list_requests: int  # ListObjectsV2: a page of up to 1,000 keys, one at least a group
    startup_seconds: float
    listing_seconds: float

    @property
    def total_seconds(self) -> float:
        return self.startup_seconds + self.listing_seconds

    @property
    def instance_dollars(self) -> float:
        return self.instance.dollars_per_hour * self.total_seconds / HOUR

    @property
    def volume_dollars(self) -> float:
        months = self.total_seconds / HOUR / HOURS_PER_MONTH.value
        return self.volume_gb * VOLUME_DOLLARS_PER_GB_MONTH.value * months

    @property
    def request_dollars(self) -> float:
        """LIST requests, and a group's manifest looked for (HEAD, a GET's price) and put if new (PUT, a
        LIST's price): an upper bound, as an unchanged group's manifest is not put again."""
        return (self.list_requests + self.groups) * S3_LIST_DOLLARS.value + self.groups * S3_GET_DOLLARS.value

    @property
    def dollars(self) -> float:
        return self.instance_dollars + self.volume_dollars + self.request_dollars

    def as_json(self) -> dict[str, Any]:
        return {
            "instance_type": self.instance.name,
            "volume_gb": self.volume_gb,
            "list_requests": self.list_requests,
            "seconds": {
                "startup": round(self.startup_seconds, 1),
                "listing": round(self.listing_seconds, 1),
                "total": round(self.total_seconds, 1),
            },
            "cost_usd": {
                "instance": round(self.instance_dollars, 4),
                "volume": round(self.volume_dollars, 4),
                "requests": round(self.request_dollars, 4),
                "total": round(self.dollars, 4),
            },
        }


def estimate_inventory(
    instance: InstanceType, volume_gb: int, pages_per_group: Sequence[int], threads: int
) -> InventoryEstimate:
    """The inventory step listing groups of ``pages_per_group`` ListObjectsV2 pages, ``threads`` groups at
    once, each page waited for in turn."""
    pages = [max(1, p) for p in pages_per_group]
    return InventoryEstimate(
        instance=instance,
        volume_gb=volume_gb,
        groups=len(pages),
        list_requests=sum(pages),
        startup_seconds=STARTUP_SECONDS.value,
        listing_seconds=wall_seconds([p * LIST_PAGE_SECONDS.value for p in pages], threads),
    )


def volume_bytes_per_second(volume_gb: int) -> float:
    """The throughput of a gp2 volume of ``volume_gb`` GiB."""
    small = volume_gb <= GP2_SMALL_VOLUME_GB
    return (GP2_SMALL_BYTES_PER_SECOND if small else GP2_MAX_BYTES_PER_SECOND).value


def download_bytes_per_second(instance: InstanceType, volume_gb: int) -> float:
    """File mode's copy onto the volume: S3 over the network, then EBS writes to the volume."""
    return min(
        FILE_MODE_BYTES_PER_SECOND.value,
        instance.network_bytes_per_second,
        instance.ebs_bytes_per_second,
        volume_bytes_per_second(volume_gb),
    )


def read_bytes_per_second(instance: InstanceType, volume_gb: int) -> float:
    return min(instance.ebs_bytes_per_second, volume_bytes_per_second(volume_gb))


def iops(instance: InstanceType, volume_gb: int) -> float:
    """The I/O operations a second the volume, on this instance, sustains (its baseline, not its burst)."""
    volume = min(max(GP2_IOPS_PER_GB.value * volume_gb, GP2_MIN_IOPS), GP2_MAX_IOPS)
    return min(volume, instance.ebs_iops)


def io_operations(group_bytes: float, objects: float) -> float:
    """The I/Os that write (or read) ``objects`` files of ``group_bytes`` in all: one a file at least, and
    one more for each full I/O's worth of bytes."""
    return objects + group_bytes / SSD_IO_BYTES.value


def compute_seconds(instance: InstanceType, group_bytes: float, objects: float) -> float:
    """The extract step's time on every vCPU of ``instance`` (at its sustained share, for burstable types)."""
    vcpu_seconds = (
        group_bytes / EXTRACT_BYTES_PER_CORE_SECOND.value + objects * EXTRACT_SECONDS_PER_OBJECT.value
    )
    return vcpu_seconds / (instance.vcpus * instance.cpu_baseline)


def estimate_group(
    instance: InstanceType, group_bytes: int, objects: int, volume_gb: int, instances: int = 1
) -> GroupEstimate:
    """A group step of ``group_bytes`` in ``objects`` objects on ``instances`` of ``instance``, each with a
    volume of ``volume_gb``: every instance copies the whole group and extracts its share of it."""
    share_bytes, share_objects = group_bytes / instances, objects / instances
    return GroupEstimate(
        instance=instance,
        instances=instances,
        objects=objects,
        volume_gb=volume_gb,
        startup_seconds=STARTUP_SECONDS.value,
        download_seconds=max(
            group_bytes / download_bytes_per_second(instance, volume_gb),
            io_operations(group_bytes, objects) / iops(instance, volume_gb),
        ),
        read_seconds=max(
            share_bytes / read_bytes_per_second(instance, volume_gb),
            io_operations(share_bytes, share_objects) / iops(instance, volume_gb),
        ),
        compute_seconds=compute_seconds(instance, share_bytes, share_objects),
    )


def wall_seconds(step_seconds: Sequence[float], parallel: int) -> float:
    """The run's length when its steps, in this order, each start as soon as one of ``parallel`` places is
    free (as the pipeline's parallelism limit lets them)."""
    free_at = [0.0] * min(parallel, len(step_seconds))
    for seconds in step_seconds:
        heapq.heappush(free_at, heapq.heappop(free_at) + seconds)
    return max(free_at, default=0.0)


def cheapest_io_bound(
    candidates: Iterable[InstanceType], group_bytes: int, objects: int, volume_gb: int
) -> InstanceType:
    """Among ``candidates``, the cheapest per TB whose vCPUs keep up with its reads (the step waits on I/O,
    never on computing) for a group of ``group_bytes`` in ``objects`` objects."""
    estimates = (estimate_group(instance, group_bytes, objects, volume_gb) for instance in candidates)
    io_bound = [estimate for estimate in estimates if estimate.bound == "read"]
    if not io_bound:
        raise ValueError("no candidate keeps up with its reads")
    return min(io_bound, key=lambda estimate: estimate.dollars).instance
