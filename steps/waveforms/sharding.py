"""Micro-sharding: how many workers the job may use, and records balanced over them by bytes."""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import joblib

from .record_summary import RecordTask

# A record costs its bytes plus a fixed overhead (opening files, parsing, building rows), expressed in bytes
# so tiny and long records weigh on one scale. Measured: ~150 µs a record, the time to histogram ~100 kB.
RECORD_OVERHEAD_BYTES = 100_000
CHUNKS_PER_WORKER = 4  # a few chunks each, handed out as workers free up, absorb the model's errors


def usable_cpus() -> int:
    """CPUs this process may use, not the host's count: loky's count honours affinity and cgroup quota."""
    return max(1, int(joblib.cpu_count(only_physical_cores=False)))


@dataclass(frozen=True)
class WorkItem:
    """A whole record, or (for a long record in a narrow format) one frame range of it."""

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


def plan_chunks(tasks: list[RecordTask], workers: int) -> list[list[WorkItem]]:
    """Chunks of near-equal cost, largest first: longest-processing-time-first over a min-heap of loads.

    A record heavier than one chunk's fair share is cut into frame ranges (when its format allows an exact
    merge), so one long record never leaves a straggler.
    """
    if not tasks:
        return []
    n_chunks = max(1, workers * CHUNKS_PER_WORKER) if workers > 1 else 1
    total = sum(task.data_bytes + RECORD_OVERHEAD_BYTES for task in tasks)
    fair_share = total / n_chunks
    items: list[WorkItem] = []
    for task in tasks:
        cost = task.data_bytes + RECORD_OVERHEAD_BYTES
        if workers > 1 and task.splittable and cost > fair_share:
            items.extend(_split(task, math.ceil(cost / fair_share)))
        else:
            items.append(WorkItem(task))
    items.sort(key=lambda item: item.cost, reverse=True)
    loads: list[tuple[float, int]] = [(0.0, index) for index in range(min(n_chunks, len(items)))]
    chunks: list[list[WorkItem]] = [[] for _ in loads]
    for item in items:
        load, index = heapq.heappop(loads)
        chunks[index].append(item)
        heapq.heappush(loads, (load + item.cost, index))
    return sorted(chunks, key=lambda chunk: sum(item.cost for item in chunk), reverse=True)


def _split(task: RecordTask, parts: int) -> list[WorkItem]:
    frames = task.header.sig_len or 0
    parts = max(1, min(parts, frames))
    bounds = [frames * part // parts for part in range(parts + 1)]
    return [WorkItem(task, bounds[p], bounds[p + 1], p, parts) for p in range(parts)]
