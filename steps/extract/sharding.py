"""Micro-sharding: how many workers the job may use, and the group's work balanced over them by bytes."""

from __future__ import annotations

import heapq
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .discovery import FolderListing
from .record_summary import RecordTask, split_step

# A record costs its bytes plus a fixed overhead (reading and parsing its header, opening its file, building
# rows), expressed in bytes so tiny and long records weigh on one scale: ~100 µs, the time to histogram
# ~100 kB of format-80 samples.
RECORD_OVERHEAD_BYTES = 100_000
CHUNKS_PER_WORKER = 4  # a few chunks each, handed out as workers free up, absorb the cost model's errors


def usable_cpus() -> int:
    """CPUs this process may use, not the host's count: loky's count honours affinity and cgroup quota."""
    import joblib

    return max(1, int(joblib.cpu_count(only_physical_cores=False)))


@dataclass(frozen=True)
class FolderWork:
    """A whole record set, discovered and summarised inside the worker (so header parsing is parallel too)."""

    listing: FolderListing

    @property
    def cost(self) -> float:
        return self.listing.data_bytes + RECORD_OVERHEAD_BYTES * len(self.listing.headers)


@dataclass(frozen=True)
class RecordWork:
    """A record discovered by the parent, whole or (for a long record in a narrow format) one frame range."""

    task: RecordTask
    frame_start: int = 0
    frame_end: int | None = None  # None: the whole record, summarised in the worker
    part: int = 0
    parts: int = 1

    @property
    def cost(self) -> float:
        if self.frame_end is None:
            return self.task.data_bytes + RECORD_OVERHEAD_BYTES
        share = (self.frame_end - self.frame_start) / max(self.task.header.sig_len or 1, 1)
        return share * self.task.data_bytes + RECORD_OVERHEAD_BYTES


Work = FolderWork | RecordWork


def chunk_count(workers: int) -> int:
    return workers * CHUNKS_PER_WORKER if workers > 1 else 1


def record_work(task: RecordTask, fair_share: float, window_seconds: float = 0.0) -> list[RecordWork]:
    """The record whole, or cut into frame ranges of about ``fair_share`` when its summaries merge exactly:
    a narrow format without skew, cut on frames where every signal's window ends (``split_step``)."""
    cost = task.data_bytes + RECORD_OVERHEAD_BYTES
    frames = task.header.sig_len or 0
    step = split_step(task, window_seconds)
    if step is None or cost <= fair_share or frames < 2 * step:
        return [RecordWork(task)]
    steps = frames // step  # whole steps; the last range takes the rest
    parts = min(math.ceil(cost / fair_share), steps)
    bounds = [steps * part // parts * step for part in range(parts)] + [frames]
    return [RecordWork(task, bounds[p], bounds[p + 1], p, parts) for p in range(parts)]


def balance(items: Sequence[Work], chunks: int) -> list[list[Work]]:
    """Chunks of near-equal cost, heaviest first: longest-processing-time-first over a min-heap of loads."""
    if not items:
        return []
    loads: list[tuple[float, int]] = [(0.0, index) for index in range(min(chunks, len(items)))]
    balanced: list[list[Work]] = [[] for _ in loads]
    for item in sorted(items, key=lambda item: item.cost, reverse=True):
        load, index = heapq.heappop(loads)
        balanced[index].append(item)
        heapq.heappush(loads, (load + item.cost, index))
    return sorted(balanced, key=lambda chunk: sum(item.cost for item in chunk), reverse=True)


RESOURCE_CONFIG = Path("/opt/ml/config/resourceconfig.json")  # written by SageMaker in every Processing job


@dataclass(frozen=True)
class HostShare:
    """Which share of a group's record sets this instance takes, when a group step runs on several."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count:
            raise ValueError(f"host index {self.index} is not within 0 ... {self.count - 1}")

    @property
    def name(self) -> str:
        return f"algo-{self.index + 1}"  # SageMaker's own host names

    def take(self, listings: Sequence[FolderListing]) -> list[FolderListing]:
        """This host's record sets: the same byte-balanced plan on every host, so each set is taken once."""
        if self.count == 1:
            return list(listings)
        folders = sorted(
            (FolderWork(listing) for listing in listings), key=lambda f: (-f.cost, f.listing.path)
        )
        shares = balance(folders, self.count)  # heaviest share first, in a deterministic order
        mine = shares[self.index] if self.index < len(shares) else []
        return sorted(
            (work.listing for work in mine if isinstance(work, FolderWork)), key=lambda listing: listing.path
        )


def processing_host_share(resource_config: Path = RESOURCE_CONFIG) -> HostShare:
    """This instance's share, from the Processing job's resource config; the whole group elsewhere."""
    if not resource_config.exists():
        return HostShare()
    config = json.loads(resource_config.read_text())
    hosts = sorted(config["hosts"])
    return HostShare(hosts.index(config["current_host"]), len(hosts))
