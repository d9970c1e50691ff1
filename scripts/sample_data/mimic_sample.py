"""The sample data of ``make run``: a deterministic dataset in the MIMIC-III Waveform Database layout.

``<root>/<group>/<record set>/``: multi-segment master headers with ``~`` gaps and a ``_layout`` header,
format-80 segments of 125 Hz ECG II and V, ABP, PLETH and RESP (with stretches of invalid samples), and a
numerics record at one sample a minute whose signal file is named unlike its header, as in MIMIC-III 1.0.
A few defective files are planted in the last group, so the error reporting shows.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .records import SignalKind, write_layout_header, write_master_header, write_record

FS = 125
GROUPS = [str(g) for g in range(30, 40)]
MARKER = ".sample-data.json"

SIGNALS = {
    "II": SignalKind("II", "mV", 86.0, 0),
    "V": SignalKind("V", "mV", 67.0, 0),
    "ABP": SignalKind("ABP", "mmHg", 1.25, -100),
    "PLETH": SignalKind("PLETH", "NU", 100.0, -128),
    "RESP": SignalKind("RESP", "Ohm", 100.0, 0),
}
NUMERICS = [SignalKind("HR", "bpm", 10.0), SignalKind("PULSE", "bpm", 10.0), SignalKind("RESP", "pm", 10.0),
            SignalKind("SpO2", "%", 10.0)]  # fmt: skip


def physical_waveform(kind: str, n: int, rng: np.random.Generator, heart_rate: float) -> np.ndarray:
    t = np.arange(n) / FS
    beat = (t * heart_rate / 60) % 1.0
    if kind in {"II", "V"}:
        qrs = np.exp(-(((beat - 0.2) / 0.015) ** 2)) * (1.2 if kind == "II" else 0.8)
        t_wave = np.exp(-(((beat - 0.5) / 0.06) ** 2)) * 0.3
        signal = qrs + t_wave - 0.1 + rng.normal(0, 0.03, n)
    elif kind == "ABP":
        signal = 80 + 40 * np.exp(-(((beat - 0.25) / 0.12) ** 2)) + rng.normal(0, 1, n)
    elif kind == "PLETH":
        signal = 1.2 + np.sin(2 * np.pi * beat) * 0.6 + rng.normal(0, 0.02, n)
    else:  # RESP
        signal = np.sin(2 * np.pi * t * rng.uniform(0.2, 0.33)) * 0.8 + rng.normal(0, 0.05, n)
    return signal


def digital_segment(kinds: list[str], n: int, rng: np.random.Generator) -> np.ndarray:
    heart_rate = rng.uniform(55, 110)
    columns = []
    for kind in kinds:
        spec = SIGNALS[kind]
        digital = np.round(physical_waveform(kind, n, rng, heart_rate) * spec.gain + spec.baseline)
        column = np.clip(digital, -127, 127).astype(np.int16)
        if n > 200 and rng.random() < 0.4:  # a disconnected lead: a stretch of invalid samples
            start = int(rng.integers(0, n - 100))
            column[start : start + int(rng.integers(50, min(n - start, 5000) + 1))] = -128
        columns.append(column)
    return np.stack(columns, axis=1)


def write_record_set(folder: Path, record_set: str, budget: int, rng: np.random.Generator) -> int:
    """One record set: segments, a layout header, a master header and a numerics record. Returns bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    start = dt.datetime(2150 + int(rng.integers(0, 50)), 1, 1) + dt.timedelta(
        minutes=int(rng.integers(0, 500_000))
    )
    kinds = ["II", "V", *[k for k in ("ABP", "PLETH", "RESP") if rng.random() < 0.6]]
    segments: list[tuple[str, int]] = [(f"{record_set}_layout", 0)]
    written = 0
    index = 1
    while written < budget:
        if rng.random() < 0.3:
            segments.append(("~", int(rng.integers(FS, 60 * FS))))  # a gap between segments
        n = int(min(rng.choice([4, 128, 636, 4096, 20_000, 100_000, 400_000]), max(budget - written, 4)))
        present = [k for k in kinds if k in {"II", "V"} or rng.random() < 0.8]
        name = f"{record_set}_{index:04d}"
        offset = sum(length for _, length in segments)
        write_record(
            folder,
            name,
            "80",
            digital_segment(present, n, rng),
            gains=[SIGNALS[k].gain for k in present],
            baselines=[SIGNALS[k].baseline for k in present],
            names=present,
            units=[SIGNALS[k].units for k in present],
            fs=FS,
            base_time=(start + dt.timedelta(seconds=offset / FS)).time(),
        )
        segments.append((name, n))
        written += n * len(present)
        index += 1
    write_layout_header(folder, record_set, FS, start.time(), [SIGNALS[k] for k in kinds])
    master_name = f"s{record_set[2:]}-{start:%Y-%m-%d-%H-%M}"
    write_master_header(folder, master_name, len(kinds), FS, start, segments)
    total = sum(length for _, length in segments)
    return written + write_numerics(folder, record_set, master_name, start, total, rng)


def write_numerics(
    folder: Path,
    record_set: str,
    master_name: str,
    start: dt.datetime,
    samples: int,
    rng: np.random.Generator,
) -> int:
    """Vital signs at one sample a minute; the header is ``<master>n.hea``, its file ``<record set>n.dat``."""
    minutes = max(2, samples // (60 * FS))
    name = f"{master_name}n"
    base = np.array([75.0, 75.0, 16.0, 97.0])
    values = base + rng.normal(0, [6, 6, 3, 1.5], (minutes, len(NUMERICS)))
    digital = np.round(values * np.array([kind.gain for kind in NUMERICS])).astype(np.int16)
    digital[rng.random((minutes, len(NUMERICS))) < 0.05] = -32768  # missing readings
    header = write_record(
        folder,
        name,
        "16",
        digital,
        gains=[kind.gain for kind in NUMERICS],
        baselines=[0] * len(NUMERICS),
        names=[kind.name for kind in NUMERICS],
        units=[kind.units for kind in NUMERICS],
        fs=1 / 60,
        base_time=start.time(),
        base_date=start.date(),
    )
    os.replace(folder / f"{name}.dat", folder / f"{record_set}n.dat")
    header.write_text(header.read_text().replace(f"{name}.dat", f"{record_set}n.dat"))
    return digital.nbytes


def plant_defects(group_folder: Path) -> list[str]:
    """A few defective files, as a real copy may hold: each must surface in errors.jsonl."""
    folder = group_folder / f"{group_folder.name}99999"
    rng = np.random.default_rng(99)
    for name in ("truncated_0001", "nodata_0002"):
        write_record(folder, name, "80", digital_segment(["II"], 1000, rng), gains=[86.0], baselines=[0],
                     names=["II"], units=["mV"], fs=FS)  # fmt: skip
    truncated = folder / "truncated_0001.dat"
    truncated.write_bytes(truncated.read_bytes()[:500])
    (folder / "nodata_0002.dat").unlink()
    (folder / "garbled_0003.hea").write_bytes(b"\x00\x13garbled header\n")
    return ["truncated_0001", "nodata_0002", "garbled_0003"]


def generate(root: Path, size_mb: float = 30.0, seed: int = 0, groups: list[str] | None = None) -> bool:
    """Write the dataset under ``root`` unless the same one is already there; True if it was written."""
    groups = groups or GROUPS
    parameters = {"size_mb": size_mb, "seed": seed, "groups": groups, "version": 2}
    return written_once(root, parameters, lambda staging: _write_dataset(staging, size_mb, seed, groups))


def written_once(root: Path, parameters: dict[str, Any], write: Callable[[Path], None]) -> bool:
    """Have ``write`` write a dataset under ``root`` unless the one of the same ``parameters`` is there; True
    if it was written. It is written beside ``root`` and moved into place whole, so an interrupted run leaves
    no half dataset."""
    marker = root / MARKER
    if marker.exists() and json.loads(marker.read_text()) == parameters:
        return False
    staging = root.with_name(f".{root.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    write(staging)
    (staging / MARKER).write_text(json.dumps(parameters))
    shutil.rmtree(root, ignore_errors=True)
    os.replace(staging, root)
    return True


def _write_dataset(root: Path, size_mb: float, seed: int, groups: list[str]) -> None:
    rng = np.random.default_rng(seed)
    per_group = int(size_mb * 1e6 / len(groups))
    for group in groups:
        written = 0
        serial = 0
        while written < per_group:
            record_set = f"{group}{serial:05d}"
            budget = int(min(per_group - written, rng.uniform(0.1, 0.5) * per_group)) + 1
            written += write_record_set(root / group / record_set, record_set, budget, rng)
            serial += 1
    plant_defects(root / groups[-1])
