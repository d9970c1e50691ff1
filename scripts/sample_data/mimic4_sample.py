"""Sample data in the MIMIC-IV Waveform Database layout: deterministic, small, with planted defects.

``<root>/<group>/p<subject id>/<record>/`` (the root stands for ``waves/``, groups ``p100``, ``p101``, ...):
a multi-segment master header ``<record>.hea`` at MIMIC-IV's frame rate 62.4725 Hz and counter frequency
999.56, whose first segment ``<record>_0000`` is a layout header (no signal files); segments
``<record>_0001``, ... each of three FLAC (format 516) signal files, written with ``wfdb.wrsamp``: ECG II and
V at 4 samples a frame (``<segment>e.dat``), pleth and ABP at 2 (``p``), respiration at 1 (``r``); gaps
(``~``) between some segments; and the numerics ``<record>n.csv.gz``: a ``time`` column in counter ticks and
a column per measurement, ``NAME [UNITS]``, the columns differing between records, values missing where not
measured. The last group holds the planted defects: a segment its master lists but that is missing, and a
numerics table cut short (a gzip stream that ends early).

    python -m scripts.sample_data mimic4 --output-dir sample-data-mimic4 [--seed 0] [--groups p100,p101]
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .mimic_sample import written_once
from .records import (
    SignalFileGroup,
    SignalKind,
    write_layout_header,
    write_master_header,
    write_multifile_record,
)

GROUPS = ["p100", "p101"]
FRAME_RATE = 62.4725  # frames a second, MIMIC-IV's
COUNTER_FREQUENCY = 999.56  # counter ticks a second, MIMIC-IV's
RATE = f"{FRAME_RATE:g}/{COUNTER_FREQUENCY:g}"
FORMAT = "516"  # FLAC, 16 bits
INVALID = -32768  # format 516's invalid-sample code

ECG = [SignalKind("II", "mV", 200.0), SignalKind("V", "mV", 200.0)]
PRESSURE = [SignalKind("Pleth", "NU", 4096.0), SignalKind("ABP", "mmHg", 16.0, 800)]
RESPIRATION = [SignalKind("Resp", "Ohm", 4093.0, 2)]
FILES = (("e", 4, ECG), ("p", 2, PRESSURE), ("r", 1, RESPIRATION))  # suffix, samples a frame, signals
ALL_SIGNALS = [kind for _, _, kinds in FILES for kind in kinds]


@dataclass(frozen=True)
class Measurement:
    """A numerics column: its name as the table heads it, a typical value, its spread, how often it is
    measured (one row in ``every``) and its decimals."""

    column: str
    typical: float
    spread: float
    every: int = 1
    decimals: int = 0


MEASUREMENTS = [
    Measurement("HR [bpm]", 80, 8),
    Measurement("SpO2 [%]", 97, 1.5),
    Measurement("RR [rpm]", 16, 3),
    Measurement("Pulse (SpO2) [bpm]", 80, 8),
    Measurement("NBPs [mmHg]", 120, 12, every=15),
    Measurement("NBPd [mmHg]", 70, 8, every=15),
    Measurement("NBPm [mmHg]", 88, 9, every=15),
    Measurement("ABPm [mmHg]", 85, 10),
    Measurement("Tblood [°C]", 37.0, 0.4, every=5, decimals=1),
    Measurement("ST II", 0.1, 0.05, decimals=2),  # no units in its name
]


def generate_mimic4(root: Path, seed: int = 0, groups: list[str] | None = None) -> bool:
    """Write the dataset under ``root`` (standing for ``waves``) unless the same one is there; True if it
    was written."""
    groups = groups or GROUPS
    parameters = {"layout": "mimic4wdb", "seed": seed, "groups": groups, "version": 1}
    return written_once(root, parameters, lambda staging: _write_dataset(staging, seed, groups))


def _write_dataset(root: Path, seed: int, groups: list[str]) -> None:
    rng = np.random.default_rng(seed)
    records: list[Path] = []
    for group in groups:
        for _ in range(2):  # subjects
            subject = f"p{group[1:]}{int(rng.integers(0, 100_000)):05d}"
            for _ in range(int(rng.integers(1, 3))):  # records of the subject
                record = f"{int(rng.integers(80_000_000, 90_000_000))}"
                folder = root / group / subject / record
                write_record(folder, record, rng)
                records.append(folder)
    last = [folder for folder in records if folder.parts[-3] == groups[-1]]
    plant_defects(last[0], last[-1])


def write_record(folder: Path, record: str, rng: np.random.Generator) -> None:
    """A MIMIC-IV record: layout header, FLAC segments with gaps, master header, numerics table."""
    start = dt.datetime(2150 + int(rng.integers(0, 50)), 1, 1) + dt.timedelta(
        minutes=int(rng.integers(0, 500_000))
    )
    folder.mkdir(parents=True, exist_ok=True)
    write_layout_header(folder, record, FRAME_RATE, start.time(), ALL_SIGNALS, FORMAT, f"{record}_0000", RATE)
    segments: list[tuple[str, int]] = [(f"{record}_0000", 0)]
    for index in range(1, int(rng.integers(2, 4)) + 1):
        if index > 1 and rng.random() < 0.5:
            segments.append(("~", int(rng.integers(60, 2000))))  # a gap between segments
        frames = int(rng.integers(200, 4000))
        offset = sum(length for _, length in segments)
        name = f"{record}_{index:04d}"
        files = [
            SignalFileGroup(
                suffix, FORMAT, per_frame, kinds, [_digital(kind, frames * per_frame, rng) for kind in kinds]
            )
            for suffix, per_frame, kinds in FILES
        ]
        base = (start + dt.timedelta(seconds=offset / FRAME_RATE)).time()
        write_multifile_record(folder, name, frames, files, FRAME_RATE, COUNTER_FREQUENCY, base)
        segments.append((name, frames))
    write_master_header(folder, record, len(ALL_SIGNALS), FRAME_RATE, start, segments, COUNTER_FREQUENCY)
    total_seconds = sum(length for _, length in segments) / FRAME_RATE
    write_numerics(folder / f"{record}n.csv.gz", total_seconds, rng)


def _digital(kind: SignalKind, n: int, rng: np.random.Generator) -> np.ndarray:
    """A plausible wave in digital units, with a stretch of invalid samples now and then."""
    t = np.arange(n)
    wave = np.sin(2 * np.pi * t / max(n / rng.uniform(3, 30), 2)) + rng.normal(0, 0.05, n)
    digital = np.clip(np.round(wave * 0.5 * kind.gain + kind.baseline), INVALID + 1, 32767).astype(np.int32)
    if rng.random() < 0.3:  # a disconnected lead
        begin = int(rng.integers(0, max(n - 50, 1)))
        digital[begin : begin + int(rng.integers(10, 50))] = INVALID
    return digital


def write_numerics(path: Path, seconds: float, rng: np.random.Generator) -> None:
    """The numerics table: a row about every 1.024 s, in counter ticks from an arbitrary counter value; the
    record's own choice of measurements; a value missing where not measured (and now and then anyway)."""
    rows = max(2, int(seconds / 1.024))
    chosen = [m for m in MEASUREMENTS if m.column.startswith(("HR", "SpO2")) or rng.random() < 0.6]
    first_tick = int(rng.integers(0, 10**9))
    ticks = first_tick + np.cumsum(rng.integers(1000, 1050, rows)) - 1000
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["time", *(m.column for m in chosen)])
    columns = []
    for measurement in chosen:
        values = np.round(rng.normal(measurement.typical, measurement.spread, rows), measurement.decimals)
        shown = [f"{value:.{measurement.decimals}f}" for value in values]
        missing = (np.arange(rows) % measurement.every != 0) | (rng.random(rows) < 0.03)
        columns.append(["" if gone else value for value, gone in zip(shown, missing, strict=True)])
    for index in range(rows):
        writer.writerow([int(ticks[index]), *(column[index] for column in columns)])
    path.write_bytes(gzip.compress(text.getvalue().encode("utf-8"), mtime=0))  # the same bytes every time


def plant_defects(missing_segment: Path, cut_short: Path) -> list[str]:
    """A segment its master lists but that is missing, and a numerics table whose gzip stream ends early: each
    must surface in errors.jsonl. Returns the paths, relative to the group folder."""
    record = missing_segment.name
    segment = f"{record}_0001"
    for file in missing_segment.glob(f"{segment}*"):
        file.unlink()
    table = cut_short / f"{cut_short.name}n.csv.gz"
    data = table.read_bytes()
    table.write_bytes(data[: len(data) // 2])
    group = missing_segment.parents[1]
    return [
        (missing_segment / f"{segment}.hea").relative_to(group).as_posix(),
        table.relative_to(group).as_posix(),
    ]
