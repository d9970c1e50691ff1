"""Micro-sharding: CPUs the job may use, chunks balanced by bytes, long records split and merged exactly."""

from __future__ import annotations

import itertools
import json
import os
import shlex
import shutil
import subprocess
import tracemalloc
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scripts.sample_data.records import digital_signals, write_record
from steps.extract.extraction import extract_group
from steps.extract.header import RecordHeader, read_header
from steps.extract.record_summary import RecordStart, RecordTask
from steps.extract.sharding import (
    RECORD_OVERHEAD_BYTES,
    HostShare,
    RecordWork,
    Work,
    balance,
    chunk_count,
    processing_host_share,
    record_work,
    usable_cpus,
)
from tests.paths import REAL_DATA, ROOT
from tests.reference import assert_statistics_match, reference_statistics
from tests.steps.container import container_command
from tests.steps.extract_runs import Extract


def tasks_of_sizes(tmp_path: Path, sizes: list[int], fmt: str = "80") -> list[RecordTask]:
    header_path = write_record(tmp_path, "template", fmt, digital_signals(fmt, 1000, 2, 0))
    header = read_header(header_path)
    assert isinstance(header, RecordHeader)
    return [
        RecordTask("30", "rs", f"r{i}", "waveform", header_path, f"rs/r{i}.hea",
                   replace(header, sig_len=max(size // 2, 1)), RecordStart(None, None), size)
        for i, size in enumerate(sizes)
    ]  # fmt: skip


def chunk_costs(chunks: list[list[Work]]) -> list[float]:
    return [sum(item.cost for item in chunk) for chunk in chunks]


def record_items(chunks: list[list[Work]]) -> list[RecordWork]:
    """Every item of the chunks: records only, as the parent plans them when it splits a record set."""
    items = [item for chunk in chunks for item in chunk]
    assert all(isinstance(item, RecordWork) for item in items)
    return [item for item in items if isinstance(item, RecordWork)]


def test_chunks_are_balanced_by_bytes_not_by_count(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    sizes = [int(s) for s in rng.lognormal(11, 2, 400)]  # many small records, a few large ones
    tasks = tasks_of_sizes(tmp_path, sizes, fmt="16")
    fair_share = sum(s + RECORD_OVERHEAD_BYTES for s in sizes) / chunk_count(2)
    chunks = balance([work for task in tasks for work in record_work(task, fair_share)], chunk_count(2))
    costs = chunk_costs(chunks)
    assert len(chunks) == 8
    assert max(costs) / min(costs) < 1.05
    assert costs == sorted(costs, reverse=True)  # heaviest first, so no straggler starts last
    planned = sorted((item.task.record, item.part) for item in record_items(chunks))
    assert {record for record, _ in planned} == {task.record for task in tasks}  # nothing lost
    # Count-based chunks, the reference pattern, on the same records:
    count_based = [sum(s + RECORD_OVERHEAD_BYTES for s in part) for part in np.array_split(sizes, 8)]
    assert max(count_based) / min(count_based) > 2


def test_a_record_larger_than_a_fair_share_is_cut_into_frame_ranges(tmp_path: Path) -> None:
    tasks = tasks_of_sizes(tmp_path, [50_000_000, 1_000, 2_000])
    fair_share = (50_003_000 + 3 * RECORD_OVERHEAD_BYTES) / chunk_count(2)
    chunks = balance([work for task in tasks for work in record_work(task, fair_share)], chunk_count(2))
    ranges = sorted(
        (item.frame_start, item.frame_end) for item in record_items(chunks) if item.task.record == "r0"
    )
    assert len(ranges) > 1
    assert ranges[0][0] == 0 and ranges[-1][1] == 25_000_000
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))  # contiguous, no gap, no overlap
    costs = chunk_costs(chunks)
    assert max(costs) / min(costs) < 1.2


def test_records_in_wide_formats_are_never_split(tmp_path: Path) -> None:
    (task,) = tasks_of_sizes(tmp_path, [50_000_000], fmt="32")
    assert record_work(task, fair_share=1_000_000) == [record_work(task, fair_share=1e12)[0]]
    assert chunk_count(1) == 1


def test_split_records_merge_to_the_exact_statistics(tmp_path: Path, extract: Extract) -> None:
    folder = tmp_path / "30" / "3000001"
    long80 = write_record(folder, "long80", "80", digital_signals("80", 300_000, 2, 1))
    long16 = write_record(folder, "long16", "16", digital_signals("16", 200_000, 3, 2))
    write_record(folder, "short", "80", digital_signals("80", 100, 2, 3))
    run = extract(tmp_path / "30", "--workers", "2")
    assert run.errors == []
    for header in (long80, long16):
        rows = run.features[run.features["record"] == header.stem].sort_values("signal_index")
        for row, expected in zip(rows.to_dict("records"), reference_statistics(header), strict=True):
            assert_statistics_match(row, expected, header.stem)
    single = extract(tmp_path / "30", "--workers", "1")
    assert single.features.equals(run.features)


def test_usable_cpus_honours_cpu_affinity(tmp_path: Path) -> None:
    assert usable_cpus() <= len(os.sched_getaffinity(0))
    first_cpu = min(os.sched_getaffinity(0))
    out = tmp_path / "out"
    subprocess.run(
        [*container_command("extract"), "--input-dir", str(REAL_DATA / "30"), "--output-dir", str(out)],
        cwd=ROOT,
        preexec_fn=lambda: os.sched_setaffinity(0, {first_cpu}),
        check=True,
        capture_output=True,
    )  # fmt: skip
    assert json.loads((out / "summary.json").read_text())["workers"] == 1


def test_usable_cpus_honours_the_cgroup_cpu_quota(tmp_path: Path) -> None:
    """As a container limited to one CPU (``docker --cpus 1``) sees it: its own cgroup at /sys/fs/cgroup with
    a quota of one CPU (100 ms of CPU time per 100 ms period). Staged in a private mount namespace, so nothing
    outside it changes."""
    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("needs root and unshare(1) to stage a cgroup in a private mount namespace")
    out = tmp_path / "out"
    data = REAL_DATA / "30"
    staged = (
        "mount -t tmpfs none /sys/fs/cgroup && echo '100000 100000' > /sys/fs/cgroup/cpu.max && "
        f"{shlex.join(container_command('extract'))} "
        f"--input-dir {shlex.quote(str(data))} --output-dir {shlex.quote(str(out))}"
    )
    assert len(os.sched_getaffinity(0)) > 1, "the quota must be what limits the workers"
    subprocess.run(["unshare", "--mount", "sh", "-c", staged], check=True, capture_output=True, cwd=ROOT)
    assert json.loads((out / "summary.json").read_text())["workers"] == 1


def test_many_record_sets_over_two_workers_equal_one_worker(tmp_path: Path, extract: Extract) -> None:
    for folder in range(12):
        for segment in range(1, 4):
            name = f"30{folder:05d}_{segment:04d}"
            write_record(
                tmp_path / "30" / f"30{folder:05d}",
                name,
                "80",
                digital_signals("80", 50 * segment, 2, folder),
            )
    one = extract(tmp_path / "30", "--workers", "1")
    two = extract(tmp_path / "30", "--workers", "2")
    assert one.features.equals(two.features) and len(one.features) == 12 * 3 * 2
    for key in ("headers_found", "records_discovered", "records_summarised", "rows", "bytes_read"):
        assert one.summary[key] == two.summary[key], key


def test_memory_stays_bounded_whatever_the_record_length(tmp_path: Path) -> None:
    """A 96 MB signal file is streamed: numpy's allocations (traced by tracemalloc) stay a few MB."""
    folder = tmp_path / "30" / "3000001"
    folder.mkdir(parents=True)
    frames = 32_000_000
    (folder / "long_0001.dat").write_bytes(
        np.random.default_rng(0).integers(1, 256, frames * 3, np.uint8).tobytes()
    )
    (folder / "long_0001.hea").write_text(
        f"long_0001 3 125 {frames}\n" + "".join(f"long_0001.dat 80 80/mV 8 0 0 0 0 S{i}\n" for i in range(3))
    )
    tracemalloc.start()
    try:
        summary = extract_group(tmp_path / "30", tmp_path / "out", "30", workers=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert summary.records_summarised == 1 and summary.bytes_read == frames * 3
    assert peak < 32e6, f"peak traced allocation {peak / 1e6:.0f} MB for a 96 MB file"


def test_several_instances_split_a_group_once_and_completely(tmp_path: Path, extract: Extract) -> None:
    for folder in range(9):
        name = f"30{folder:05d}_0001"
        write_record(
            tmp_path / "30" / f"30{folder:05d}", name, "80", digital_signals("80", 100 * (folder + 1), 2, 1)
        )
    whole = extract(tmp_path / "30")
    first = extract(tmp_path / "30", "--host", "0/2")
    second = extract(tmp_path / "30", "--host", "1/2")
    parts = [
        pd.read_parquet(run.output_dir / host / "features.parquet")
        for run, host in ((first, "algo-1"), (second, "algo-2"))
    ]
    assert not set(parts[0]["record"]) & set(parts[1]["record"])
    combined = pd.concat(parts).sort_values(["record_set", "record", "signal_index"]).reset_index(drop=True)
    assert combined.equals(whole.features)
    assert abs(len(parts[0]) - len(parts[1])) <= 4  # balanced by bytes, not all on one host


def test_host_share_comes_from_the_processing_job_resource_config(tmp_path: Path) -> None:
    config = tmp_path / "resourceconfig.json"
    config.write_text(json.dumps({"current_host": "algo-3", "hosts": ["algo-2", "algo-1", "algo-3"]}))
    assert processing_host_share(config) == HostShare(2, 3)
    assert processing_host_share(tmp_path / "absent.json") == HostShare(0, 1)
