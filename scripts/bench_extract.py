"""Benchmark of our extractor against the reference joblib + wfdb + pandas pattern, on the same files.

What is measured, for each workload of ``scripts.sample_data.bench_workloads`` (``long``: throughput per byte;
``tiny``: cost per record) and with 1 worker and with every CPU (``joblib.cpu_count()``):

* **baseline**: the pattern this project replaces, written out here: list the segment headers (skipping
  master and layout headers by name), split the list into as many equal-count chunks as workers
  (``np.array_split``), and run the chunks with ``joblib.Parallel``; per record
  ``wfdb.rdrecord(physical=True)`` and ``pandas.DataFrame(p_signal).describe()``.
* **ours**: ``steps.extract.extraction.extract_group`` with the same worker count and windows on (60 s by
  default, ``--window-seconds``), written to a temporary folder (discovery, summaries, windows and the
  parquet/JSON outputs are all inside the timing).

**Marginal work time.** Each method runs on the workload (*once*) and on a folder holding it twice (*twice*:
two sub-folders of hard links to the same files); the figure is ``best(twice) - best(once)``: the time the
workload's own work takes, start-up and fixed costs (worker start, imports, the output files' fixed part)
cancelling out.

Both run in this one process on the same generated files. Each (method, workers) pair gets one untimed warm-up
run first, so loky's worker start-up, imports and the page cache are not in the figures; the figure is the
best of ``--repeats`` timed runs (``--our-repeats`` for ours, whose runs take well under a second).
Throughput is in MB (10^6 bytes) of ``.dat`` a second; "per core" divides it by the worker count.

Peak RSS per worker is measured here as the kernel's high-water mark (``VmHWM``) of each loky worker, or of
this process with 1 worker (both methods then run in-process; the mark is reset first through
``/proc/self/clear_refs``). The figure each method reports itself (``ru_maxrss``) is shown too but is not
used: a loky worker is started by vfork + exec, and Linux carries the parent's peak into the child's
``ru_maxrss``, so that figure is at least this process's peak when the worker started. loky's reusable
executor is shut down between methods, so each method's workers are its own.

Results are printed as tables with the targets marked PASS/MISS, and written to ``<data dir>/results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import psutil
import wfdb
from joblib import Parallel, delayed
from joblib.externals.loky import get_reusable_executor

from scripts.sample_data import bench_workloads
from steps.contract.arguments import DEFAULT_WINDOW_SECONDS
from steps.extract.extraction import extract_group

PROJECT_ROOT = Path(__file__).resolve().parents[1]
LAYOUT = "_layout"
METHODS = ("ours", "baseline")  # ours first: the in-process 1-worker run then starts from the leaner process

LONG_PER_CORE_TARGET = 15.0  # ours / baseline MB/s per core, long workload
TINY_RECORDS_TARGET = 10.0  # ours / baseline records/s, tiny workload
EFFICIENCY_TARGET = 0.85  # ours: speed(N workers) / (N x speed(1 worker))
RSS_TARGET_MB = 300.0  # ours: peak RSS per worker


@dataclass(frozen=True)
class RunResult:
    """One run of a method: what it processed, and the peak RSS per worker it reports itself."""

    records: int
    bytes_read: int
    reported_rss_mb: float


Runner = Callable[[Path, int], RunResult]


@dataclass(frozen=True)
class Measurement:
    workload: str
    method: str
    workers: int
    seconds: float  # marginal: best of the runs on the workload twice, minus best of the runs on it once
    runs: list[float]  # on the workload once
    runs_twice: list[float]
    records: int
    data_bytes: int
    bytes_read: int  # as the method counts it
    peak_rss_mb: float | None  # VmHWM, see the module docstring; None where /proc is not available
    start_rss_mb: float | None  # with 1 worker: this process's RSS before the method ran, part of its peak
    reported_rss_mb: float  # ru_maxrss as the method reports it (inflated by the parent's peak)

    @property
    def mb_per_s(self) -> float:
        return self.data_bytes / 1e6 / self.seconds

    @property
    def mb_per_s_per_core(self) -> float:
        return self.mb_per_s / self.workers

    @property
    def records_per_s(self) -> float:
        return self.records / self.seconds

    @property
    def rss_mb(self) -> float:
        return self.peak_rss_mb if self.peak_rss_mb is not None else self.reported_rss_mb

    def as_json(self) -> dict[str, Any]:
        figures = {
            "mb_per_s": self.mb_per_s,
            "mb_per_s_per_core": self.mb_per_s_per_core,
            "records_per_s": self.records_per_s,
        }
        return {**asdict(self), **{key: round(value, 3) for key, value in figures.items()}}


@dataclass(frozen=True)
class Verdict:
    workload: str
    name: str
    value: float
    target: float
    unit: str  # "x": a ratio, "%": a share, "MB": a size (lower is better)

    @property
    def passed(self) -> bool:
        return self.value <= self.target if self.unit == "MB" else self.value >= self.target

    def line(self) -> str:
        sign = "<=" if self.unit == "MB" else ">="
        status = "PASS" if self.passed else "MISS"
        return f"{status}  {self.name}: {self.format(self.value)} (target {sign} {self.format(self.target)})"

    def format(self, figure: float) -> str:
        if self.unit == "%":
            return f"{figure:.0%}"
        if self.unit == "MB":
            return f"{figure:.0f} MB"
        return f"{figure:.1f}x"


# --- the baseline: the reference pattern --------------------------------------------------------------------


@dataclass
class BaselineChunk:
    summaries: list[pd.DataFrame]
    bytes_read: int
    peak_rss_mb: float


def segment_headers(group_dir: Path) -> list[Path]:
    """Every segment header; a master is named as its record set's folder, a layout ends in ``_layout``."""
    headers = group_dir.rglob("*.hea")
    return sorted(
        path for path in headers if path.stem != path.parent.name and not path.stem.endswith(LAYOUT)
    )


def baseline_chunk(record_paths: list[str]) -> BaselineChunk:
    """Run in a worker: read each record in physical units and describe its signals with pandas."""
    summaries = []
    bytes_read = 0
    for record_path in record_paths:
        record = wfdb.rdrecord(record_path, physical=True)
        summaries.append(pd.DataFrame(record.p_signal, columns=record.sig_name).describe())
        folder = os.path.dirname(record_path)
        bytes_read += sum(os.path.getsize(os.path.join(folder, name)) for name in set(record.file_name))
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return BaselineChunk(summaries, bytes_read, peak_rss_mb)


def run_baseline(group_dir: Path, workers: int) -> RunResult:
    record_paths = [str(path.with_suffix("")) for path in segment_headers(group_dir)]
    chunks = [chunk.tolist() for chunk in np.array_split(np.array(record_paths, dtype=object), workers)]
    results = Parallel(n_jobs=workers)(delayed(baseline_chunk)(chunk) for chunk in chunks if chunk)
    return RunResult(
        records=sum(len(result.summaries) for result in results),
        bytes_read=sum(result.bytes_read for result in results),
        reported_rss_mb=max(result.peak_rss_mb for result in results),
    )


# --- ours ---------------------------------------------------------------------------------------------------


def ours_runner(output_dir: Path, window_seconds: float) -> Runner:
    def run_ours(group_dir: Path, workers: int) -> RunResult:
        summary = extract_group(
            group_dir, output_dir, bench_workloads.GROUP, workers, window_seconds=window_seconds
        )
        if summary.records_failed:
            raise RuntimeError(f"ours failed {summary.records_failed} records of {group_dir}")
        return RunResult(summary.records_summarised, summary.bytes_read, summary.peak_rss_mb_per_worker)

    return run_ours


# --- peak RSS -----------------------------------------------------------------------------------------------


def shutdown_workers() -> None:
    get_reusable_executor().shutdown(wait=True)


def reset_peak_rss() -> bool:
    """Reset this process's RSS high-water mark to its current RSS (Linux); False where that is impossible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def vm_hwm_mb(pid: int | str) -> float | None:
    """A process's peak RSS (``VmHWM``) in MiB, from ``/proc``; None where it cannot be read."""
    return proc_status_mb(pid, "VmHWM")


def vm_rss_mb() -> float | None:
    """This process's current RSS in MiB."""
    return proc_status_mb("self", "VmRSS")


def proc_status_mb(pid: int | str, field: str) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return None


def loky_worker_pids() -> list[int]:
    """The live loky worker processes of this process (not loky's resource tracker)."""
    workers = []
    for child in psutil.Process().children(recursive=True):
        try:
            if any("popen_loky_posix" in part for part in child.cmdline()):
                workers.append(child.pid)
        except psutil.Error:
            continue  # a worker that went away between listing and reading
    return workers


def peak_rss_per_worker_mb(workers: int, reset_ok: bool) -> float | None:
    if workers == 1:
        return vm_hwm_mb("self") if reset_ok else None
    peaks = [peak for peak in map(vm_hwm_mb, loky_worker_pids()) if peak is not None]
    return max(peaks) if peaks else None


# --- measuring ----------------------------------------------------------------------------------------------


def measure(
    workload: str, method: str, run: Runner, group_dirs: tuple[Path, Path], workers: int, repeats: int
) -> Measurement:
    """On the workload once and twice (``group_dirs``), one untimed warm-up run each, then ``repeats`` timed
    runs of each in alternation, with this method's own workers; the marginal time of the best runs."""
    once, twice = group_dirs
    shutdown_workers()
    reset_ok = reset_peak_rss()
    start_rss = vm_rss_mb() if workers == 1 and reset_ok else None
    run(once, workers)
    run(twice, workers)
    runs: dict[Path, list[float]] = {once: [], twice: []}
    results: dict[Path, RunResult] = {}
    for _ in range(repeats):
        for folder in (once, twice):
            started = time.perf_counter()
            results[folder] = run(folder, workers)
            runs[folder].append(time.perf_counter() - started)
    peak = peak_rss_per_worker_mb(workers, reset_ok)
    shutdown_workers()
    result = results[once]
    if results[twice].records != 2 * result.records or results[twice].bytes_read != 2 * result.bytes_read:
        raise RuntimeError(f"{workload}: {method} did not do twice the work on the workload twice")
    return Measurement(
        workload=workload,
        method=method,
        workers=workers,
        seconds=min(runs[twice]) - min(runs[once]),
        runs=[round(seconds, 4) for seconds in runs[once]],
        runs_twice=[round(seconds, 4) for seconds in runs[twice]],
        records=result.records,
        data_bytes=dat_bytes(once),
        bytes_read=result.bytes_read,
        peak_rss_mb=round(peak, 1) if peak is not None else None,
        start_rss_mb=round(start_rss, 1) if start_rss is not None else None,
        reported_rss_mb=round(result.reported_rss_mb, 1),
    )


def workload_twice(group_dir: Path) -> Path:
    """A folder holding the workload twice, as two sub-folders of hard links to its files (made once)."""
    twice = group_dir.parent.parent / f"{group_dir.parent.name}-twice" / group_dir.name
    if not (twice / "done").exists():
        shutil.rmtree(twice, ignore_errors=True)
        for copy in ("a", "b"):
            for source in group_dir.rglob("*"):
                target = twice / copy / source.relative_to(group_dir)
                if source.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.link(source, target)
        (twice / "done").write_text("")
    return twice


def dat_bytes(group_dir: Path) -> int:
    return sum(path.stat().st_size for path in group_dir.rglob("*.dat"))


def worker_counts() -> list[int]:
    return sorted({1, max(1, int(joblib.cpu_count()))})


def bench_workload(
    workload: str, group_dir: Path, repeats: int, our_repeats: int, window_seconds: float
) -> list[Measurement]:
    measurements = []
    folders = (group_dir, workload_twice(group_dir))
    with tempfile.TemporaryDirectory(prefix="bench-ours-") as output_dir:
        runners: dict[str, Runner] = {
            "ours": ours_runner(Path(output_dir), window_seconds),
            "baseline": run_baseline,
        }
        for workers in worker_counts():
            for method in METHODS:
                print(f"  {workload}: {method} with {workers} worker(s) ...", flush=True)
                times = our_repeats if method == "ours" else repeats
                measurements.append(measure(workload, method, runners[method], folders, workers, times))
    check_same_work(measurements, expected_records=len(segment_headers(group_dir)))
    return measurements


def check_same_work(measurements: Sequence[Measurement], expected_records: int) -> None:
    """Both methods processed every segment and every ``.dat`` byte (ours failing none: checked per run)."""
    for m in measurements:
        if m.records != expected_records or m.bytes_read != m.data_bytes:
            raise RuntimeError(
                f"{m.workload}: {m.method} with {m.workers} workers processed {m.records} records and "
                f"{m.bytes_read} bytes; the workload holds {expected_records} and {m.data_bytes}"
            )


# --- verdicts and output ------------------------------------------------------------------------------------


def find(measurements: Sequence[Measurement], method: str, workers: int) -> Measurement:
    return next(m for m in measurements if m.method == method and m.workers == workers)


def verdicts(workload: str, measurements: Sequence[Measurement]) -> list[Verdict]:
    counts = worker_counts()
    found: list[Verdict] = []
    for workers in counts:
        ours, baseline = find(measurements, "ours", workers), find(measurements, "baseline", workers)
        if workload == "long":
            ratio = ours.mb_per_s_per_core / baseline.mb_per_s_per_core
            name = f"ours/baseline MB/s per core, {workers} worker(s)"
            found.append(Verdict(workload, name, ratio, LONG_PER_CORE_TARGET, "x"))
        else:
            ratio = ours.records_per_s / baseline.records_per_s
            name = f"ours/baseline records/s, {workers} worker(s)"
            found.append(Verdict(workload, name, ratio, TINY_RECORDS_TARGET, "x"))
    if len(counts) > 1:
        efficiency = parallel_efficiency(measurements, "ours", counts[-1])
        name = f"ours parallel efficiency 1 -> {counts[-1]} workers"
        found.append(Verdict(workload, name, efficiency, EFFICIENCY_TARGET, "%"))
    peak = max(m.rss_mb for m in measurements if m.method == "ours")
    found.append(Verdict(workload, "ours peak RSS per worker", peak, RSS_TARGET_MB, "MB"))
    return found


def parallel_efficiency(measurements: Sequence[Measurement], method: str, workers: int) -> float:
    one, many = find(measurements, method, 1), find(measurements, method, workers)
    return one.seconds / (workers * many.seconds)


def print_table(workload: str, measurements: Sequence[Measurement]) -> None:
    first = measurements[0]
    print(f"\n{workload}: {first.records} records, {first.data_bytes / 1e6:.1f} MB of .dat")
    header = (
        f"{'method':<9} {'workers':>7} {'seconds':>8} {'MB/s':>8} {'MB/s/core':>9} {'records/s':>9} "
        f"{'RSS/worker MB':>13} {'ru_maxrss MB':>12} {'RSS before MB':>13}"
    )
    print(header)
    print("-" * len(header))
    for m in measurements:
        print(
            f"{m.method:<9} {m.workers:>7} {m.seconds:>8.3f} {m.mb_per_s:>8.1f} {m.mb_per_s_per_core:>9.1f} "
            f"{m.records_per_s:>9.0f} {optional(m.peak_rss_mb):>13} {m.reported_rss_mb:>12.0f} "
            f"{optional(m.start_rss_mb):>13}"
        )


def optional(figure: float | None) -> str:
    return "-" if figure is None else f"{figure:.0f}"


def print_verdicts(found: Sequence[Verdict], extra: Sequence[str]) -> None:
    for verdict in found:
        print(f"  {verdict.line()}")
    for line in extra:
        print(f"  info  {line}")


def machine() -> dict[str, Any]:
    return {
        "cpus": int(joblib.cpu_count()),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": {
            "wfdb": wfdb.__version__,
            "numpy": np.__version__,
            "pandas": pd.__version__,
            "joblib": joblib.__version__,
        },
    }


def generate(workload: str, scale: float, data_dir: Path) -> Path:
    """Generate (or reuse) the workload in a child process, so its memory stays out of this one's figures."""
    command = [sys.executable, "-m", "scripts.sample_data", "bench", "--workload", workload]
    command += ["--scale", str(scale), "--data-dir", str(data_dir)]
    subprocess.run(command, check=True, cwd=PROJECT_ROOT)
    return bench_workloads.group_dir(data_dir, workload)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--workload", choices=[*bench_workloads.WORKLOADS, "both"], default="both")
    parser.add_argument("--scale", type=float, default=1.0, help="workload sizes times this (default 1.0)")
    parser.add_argument("--repeats", type=int, default=3, help="baseline: timed runs, best kept (default 3)")
    parser.add_argument(
        "--our-repeats",
        type=int,
        default=10,
        help="ours: timed runs, best kept (default 10; a run takes well under a second, where this machine's "
        "timings vary most)",
    )
    parser.add_argument("--data-dir", type=Path, default=bench_workloads.DEFAULT_DATA_DIR)
    parser.add_argument(
        "--window-seconds",
        type=float,
        default=DEFAULT_WINDOW_SECONDS,
        help="ours: window length (default 60)",
    )
    args = parser.parse_args(argv)
    if args.scale <= 0 or args.repeats < 1 or args.our_repeats < 1:
        parser.error("--scale must be positive, --repeats and --our-repeats at least 1")
    workloads = bench_workloads.WORKLOADS if args.workload == "both" else (args.workload,)

    results: dict[str, Any] = {
        "machine": machine(),
        "parameters": {
            "scale": args.scale,
            "repeats": args.repeats,
            "our_repeats": args.our_repeats,
            "workers": worker_counts(),
            "window_seconds": args.window_seconds,
        },
        "method": "marginal time: best of the timed runs on the workload twice minus best on it once, after "
        "one untimed warm-up run of each per method and worker count; MB = 1e6 bytes",
        "workloads": {},
    }
    for workload in workloads:
        group_dir = generate(workload, args.scale, args.data_dir)
        measurements = bench_workload(
            workload, group_dir, args.repeats, args.our_repeats, args.window_seconds
        )
        found = verdicts(workload, measurements)
        extra = []
        if len(worker_counts()) > 1:
            efficiency = parallel_efficiency(measurements, "baseline", worker_counts()[-1])
            extra.append(f"baseline parallel efficiency 1 -> {worker_counts()[-1]} workers: {efficiency:.0%}")
        print_table(workload, measurements)
        print_verdicts(found, extra)
        results["workloads"][workload] = {
            "measurements": [m.as_json() for m in measurements],
            "targets": [{**asdict(v), "passed": v.passed} for v in found],
        }
    print(
        "\nSeconds: marginal work time, the best timed run on the workload twice minus the best on it once,\n"
        "after one untimed warm-up run of each per method and worker count (loky workers started, page\n"
        "cache warm); figures per second are of the workload once. MB = 1e6 bytes of .dat. Ours with\n"
        f"{args.window_seconds:g} s windows. RSS/worker: peak RSS (VmHWM)\n"
        "of each loky worker, or with 1 worker of this process, which then held 'RSS before' already.\n"
        "ru_maxrss: what the method reports itself; a loky worker's includes this process's peak when\n"
        "the worker was started."
    )
    results_path = args.data_dir / "results.json"
    results_path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"Results written to {results_path}")


if __name__ == "__main__":
    main()
