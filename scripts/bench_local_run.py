"""A/B benchmark of start-up: ``run-local --no-cache`` on the sample, this checkout against another one.

The baseline is another commit of this repository (default: the commit before the steps got rooms of their
own, the starting point of that work), unpacked with ``git archive`` under ``bench-data/`` and run with the
same interpreter and packages as this checkout, on the same sample files, in the same invocation: the two
alternate run by run (A B A B ...), so drift of the machine's speed hits both alike.

What is timed, each as a whole process, wall clock:

* ``run-local --no-cache`` with a fresh output folder (**cold**): every step runs, and the pipeline
  definition is built with the SDK;
* the same again into the same output folder (**warm**): every step runs again (``--no-cache``), and the
  definition is whatever the checkout does with it the second time (this one reuses the kept definition);
* ``waveform-pipeline --help``, ``extract --help``, and one extract step on one sample group.

Figures: the median and the minimum of ``--runs`` runs each (one untimed warm-up run first), and the ratio
baseline / this checkout of the medians. Written to ``bench-data/local-run-results.json``.

    python -m scripts.bench_local_run [--baseline REV] [--runs 5]
"""

from __future__ import annotations

import argparse
import functools
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = PROJECT_ROOT / "bench-data"
SAMPLE = PROJECT_ROOT / "sample-data"
STARTING_COMMIT = "4935daf"  # main before issue 7 (the house: rooms, contract, start-up)


def baseline_checkout(revision: str) -> Path:
    """The files of ``revision``, unpacked once under ``bench-data/`` (no work tree or index is touched)."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", revision],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    folder = DATA_DIR / f"baseline-{commit}"
    if not (folder / "pipeline").is_dir():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "archive", commit], cwd=PROJECT_ROOT, capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def timed(command: Sequence[str], cwd: Path) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} (in {cwd}) failed: {result.stderr.strip()[-500:]}")
    return seconds


def run_local(checkout: Path, output: Path) -> list[str]:
    """``run-local`` of the sample, its folders given as the checkout spells them."""
    if _folder_options(checkout) == "-dir":
        folders = ["--input-dir", str(SAMPLE), "--output-dir", str(output)]
    else:  # before issue 10
        folders = ["--input", str(SAMPLE), "--output", str(output)]
    return [sys.executable, "-m", "pipeline", "run-local", *folders, "--no-cache", "--no-progress"]


@functools.cache
def _folder_options(checkout: Path) -> str:
    """How the checkout's run-local names its folder options: ``--input-dir`` and ``--output-dir`` (since
    issue 10), or ``--input`` and ``--output``; read from its --help."""
    shown = subprocess.run(
        [sys.executable, "-m", "pipeline", "run-local", "--help"],
        cwd=checkout,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return "-dir" if "--input-dir" in shown else ""


def extract_one_group(checkout: Path, output: Path) -> list[str]:
    """One extract step on one group, as its container runs it (how it is run changed with the work)."""
    if (checkout / "steps" / "extract" / "command.py").is_file():
        command = [sys.executable, "-m", "steps.extract.command"]
    else:
        command = [sys.executable, str(checkout / "steps" / "extract" / "extract_group.py")]
    return [*command, "--input-dir", str(SAMPLE / "33"), "--output-dir", str(output), "--workers", "1"]


Command = Callable[[str, int], list[str]]  # (checkout label, round) -> the command to time


def measure(name: str, command: Command, checkouts: dict[str, Path], runs: int) -> dict[str, object]:
    """Each checkout's command, alternating, one warm-up each then ``runs`` timed; medians, minima, ratio."""
    times: dict[str, list[float]] = {label: [] for label in checkouts}
    for round_ in range(runs + 1):
        for label, checkout in checkouts.items():
            seconds = timed(command(label, round_), checkout)
            if round_ > 0:
                times[label].append(seconds)
    medians = {label: statistics.median(values) for label, values in times.items()}
    ratio = round(medians["baseline"] / medians["this"], 2)
    print(
        f"{name:<34} baseline {medians['baseline']:7.2f} s   this {medians['this']:7.2f} s   "
        f"ratio {ratio:5.2f}x",
        flush=True,
    )
    return {
        "name": name,
        "runs": {label: [round(s, 3) for s in values] for label, values in times.items()},
        "median_s": {label: round(value, 3) for label, value in medians.items()},
        "min_s": {label: round(min(values), 3) for label, values in times.items()},
        "ratio_baseline_to_this": ratio,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--baseline", default=STARTING_COMMIT, help="commit to compare (default: %(default)s)"
    )
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    sample = [sys.executable, "-m", "scripts.sample_data", "mimic", "--output-dir", str(SAMPLE)]
    subprocess.run(sample, check=True, cwd=PROJECT_ROOT)
    checkouts = {"baseline": baseline_checkout(args.baseline), "this": PROJECT_ROOT}
    with tempfile.TemporaryDirectory(prefix="bench-local-run-") as scratch:
        root = Path(scratch)
        cases: dict[str, Command] = {
            "run-local --no-cache, cold": (
                lambda label, round_: run_local(checkouts[label], root / f"{label}-cold-{round_}")
            ),
            "run-local --no-cache, warm": (
                lambda label, round_: run_local(checkouts[label], root / f"{label}-warm")
            ),
            "waveform-pipeline --help": lambda label, round_: [sys.executable, "-m", "pipeline", "--help"],
            "waveform-pipeline extract --help": (
                lambda label, round_: [sys.executable, "-m", "pipeline", "extract", "--help"]
            ),
            "one extract step (group 33)": (
                lambda label, round_: extract_one_group(checkouts[label], root / f"{label}-x-{round_}")
            ),
        }
        results = [measure(name, command, checkouts, args.runs) for name, command in cases.items()]
    DATA_DIR.mkdir(exist_ok=True)
    output = DATA_DIR / "local-run-results.json"
    output.write_text(json.dumps({"baseline": args.baseline, "results": results}, indent=2) + "\n")
    print(f"Results written to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
