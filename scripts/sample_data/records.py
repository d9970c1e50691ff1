"""WFDB records for the sample data, the benchmark workloads and the tests; MIMIC-III's record-set headers.

Formats wfdb can write (80, 16, 24, 32, 212, 508, 516, 524) are written with ``wfdb.wrsamp``. For the formats
it reads but cannot write (8, 61, 160, 310, 311), :func:`write_raw_record` writes the header text and fills
the signal file with seeded random bytes: every byte pattern is a valid file in those formats, and what it
holds is whatever ``wfdb.rdrecord`` decodes from it. A MIMIC-III record set adds a layout header (its signals,
stored in no file) and a multi-segment master header (its segments and the gaps between them), whose text
:func:`write_layout_header` and :func:`write_master_header` write as MIMIC-III does (wfdb writes neither so).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import wfdb

from steps.extract.wfdb_spec import BIT_RES, BYTES_PER_SAMPLE, INVALID_SAMPLE_VALUE, SAMPLE_VALUE_RANGE

WRSAMP_FORMATS = ["80", "16", "24", "32", "212", "508", "516", "524"]
RAW_FORMATS = ["8", "61", "160", "310", "311"]
ALL_FORMATS = sorted(WRSAMP_FORMATS + RAW_FORMATS, key=int)


@dataclass(frozen=True)
class SignalKind:
    """A signal as a header describes it."""

    name: str
    units: str
    gain: float  # digital units per physical unit
    baseline: int = 0


def digital_signals(fmt: str, n: int, n_sig: int, seed: int, invalid_every: int = 97) -> np.ndarray:
    """Digital samples that use the format's range, with invalid-sample codes sprinkled in."""
    rng = np.random.default_rng(seed)
    low, high = SAMPLE_VALUE_RANGE[fmt]
    span = min(high, 2**30)
    t = np.arange(n)[:, None]
    wave = np.sin(2 * np.pi * t / 125 * (1 + np.arange(n_sig)))  # a different rhythm per signal
    values = wave * span * 0.6 + rng.normal(0, span * 0.05, (n, n_sig))
    digital = np.clip(np.round(values), low + 1, high).astype(np.int64)
    invalid = INVALID_SAMPLE_VALUE[fmt]
    if invalid is not None and invalid_every:
        digital[::invalid_every, 0] = invalid
        digital[n // 3 : n // 3 + n // 10, -1] = invalid  # a stretch, as a disconnected lead gives
    return digital


def write_record(
    folder: Path,
    name: str,
    fmt: str,
    digital: np.ndarray,
    gains: Sequence[float] | None = None,
    baselines: Sequence[int] | None = None,
    names: Sequence[str] | None = None,
    units: Sequence[str] | None = None,
    fs: float = 125,
    base_time: dt.time | None = None,
    base_date: dt.date | None = None,
) -> Path:
    """Write ``(frames, signals)`` digital samples with ``wfdb.wrsamp``; return the header's path."""
    folder.mkdir(parents=True, exist_ok=True)
    n_sig = digital.shape[1]
    dtype = np.int32 if BIT_RES[fmt] > 16 else np.int16
    wfdb.wrsamp(
        name,
        fs=fs,
        units=list(units or ["mV"] * n_sig),
        sig_name=list(names or [f"S{i}" for i in range(n_sig)]),
        d_signal=digital.astype(dtype),
        fmt=[fmt] * n_sig,
        adc_gain=list(gains or [100.0 + 25 * i for i in range(n_sig)]),
        baseline=list(baselines or [i * 7 - 3 for i in range(n_sig)]),
        base_time=base_time,
        base_date=base_date,
        write_dir=str(folder),
    )
    return folder / f"{name}.hea"


@dataclass(frozen=True)
class SignalFileGroup:
    """The signals one signal file of a multi-file record holds: all at ``samples_per_frame`` samples a
    frame, as WFDB's FLAC formats keep them (the file ``<record><suffix>.dat``)."""

    suffix: str
    fmt: str
    samples_per_frame: int
    kinds: Sequence[SignalKind]
    digital: Sequence[np.ndarray]  # one array of frames x samples_per_frame samples per signal


def write_multifile_record(
    folder: Path,
    name: str,
    frames: int,
    files: Sequence[SignalFileGroup],
    fs: float,
    counter_freq: float | None = None,
    base_time: dt.time | None = None,
) -> Path:
    """A record whose signals lie in several files, each written with ``wfdb.wrsamp`` (which writes one file a
    record), joined under one header ``<name>.hea``: how MIMIC-IV keeps ECG, pleth and ABP, and respiration at
    4, 2 and 1 samples a frame, each in a FLAC file of its own."""
    folder.mkdir(parents=True, exist_ok=True)
    signal_lines: list[str] = []
    for group in files:
        part = f"{name}{group.suffix}"
        dtype = np.int32 if BIT_RES[group.fmt] > 16 else np.int16
        wfdb.wrsamp(
            part,
            fs=fs,
            units=[kind.units for kind in group.kinds],
            sig_name=[kind.name for kind in group.kinds],
            e_d_signal=[np.asarray(values).astype(dtype) for values in group.digital],
            samps_per_frame=[group.samples_per_frame] * len(group.kinds),
            fmt=[group.fmt] * len(group.kinds),
            adc_gain=[kind.gain for kind in group.kinds],
            baseline=[kind.baseline for kind in group.kinds],
            write_dir=str(folder),
        )
        written = folder / f"{part}.hea"
        signal_lines += written.read_text().splitlines()[1:]
        written.unlink()  # its signal lines are in the record's header
    rate = f"{fs:g}" + (f"/{counter_freq:g}" if counter_freq is not None else "")
    clock = f" {base_time.isoformat(timespec='milliseconds')}" if base_time is not None else ""
    path = folder / f"{name}.hea"
    path.write_text("\n".join([f"{name} {len(signal_lines)} {rate} {frames}{clock}", *signal_lines]) + "\n")
    return path


def random_signal_bytes(fmt: str, samples: int, rng: np.random.Generator) -> np.ndarray:
    """Random bytes holding ``samples`` samples in format ``fmt`` (one wfdb cannot write), as uint8: small
    steps for format 8's differences, valid words for 311."""
    if fmt in {"310", "311"}:
        n_bytes = math.ceil(samples * 4 / 3)
        n_bytes += -n_bytes % 4 if fmt == "310" else 0
    else:
        n_bytes = int(samples * BYTES_PER_SAMPLE[fmt])
    if fmt == "8":
        return rng.integers(-6, 7, n_bytes, dtype=np.int8).view(np.uint8)  # small steps: a plausible signal
    raw = rng.integers(0, 256, n_bytes, dtype=np.uint8)
    if fmt == "311":
        raw[3::4] &= 0x3F  # the two unused high bits of each 32-bit word are zero in a valid file
    return raw


def write_raw_record(
    folder: Path, name: str, fmt: str, n: int, n_sig: int, seed: int, gains: list[float] | None = None
) -> Path:
    """A record in a format wfdb cannot write: header text plus random signal bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    (folder / f"{name}.dat").write_bytes(random_signal_bytes(fmt, n * n_sig, rng).tobytes())
    gains = gains or [40.0 + 10 * i for i in range(n_sig)]
    lines = [f"{name} {n_sig} 125 {n}"]
    for i in range(n_sig):
        init = f" 0 {100 * (i + 1)}" if fmt == "8" else ""
        lines.append(f"{name}.dat {fmt} {gains[i]}({2 * i - 1})/mV{' 8' if fmt == '8' else ''}{init} S{i}")
    (folder / f"{name}.hea").write_text("\n".join(lines) + "\n")
    return folder / f"{name}.hea"


def write_layout_header(
    folder: Path,
    record_set: str,
    fs: float,
    start: dt.time,
    signals: Sequence[SignalKind],
    fmt: str = "80",
    name: str | None = None,
    rate: str | None = None,
) -> Path:
    """``<record set>_layout.hea`` (or ``name``, as MIMIC-IV's ``<record>_0000``): every signal of the record
    set, stored in no file (``~``); ``rate``: the record line's ``fs[/counter frequency]`` if not ``fs``."""
    name = name or f"{record_set}_layout"
    lines = [f"{name} {len(signals)} {rate or f'{fs:g}'} 0 {start.isoformat(timespec='milliseconds')}"]
    bits, invalid = BIT_RES[fmt], INVALID_SAMPLE_VALUE[fmt]
    for kind in signals:
        baseline = f"({kind.baseline})" if kind.baseline else ""
        lines.append(f"~ 0 {kind.gain:g}{baseline}/{kind.units} {bits} 0 {invalid} 0 0 {kind.name}")
    path = folder / f"{name}.hea"
    path.write_text("\n".join(lines) + "\n")
    return path


def write_master_header(
    folder: Path,
    name: str,
    n_sig: int,
    fs: float,
    start: dt.datetime,
    segments: Sequence[tuple[str, int]],
    counter_freq: float | None = None,
) -> Path:
    """A multi-segment master header: the segments in order with their lengths; ``~`` marks a gap."""
    total = sum(length for _, length in segments)
    clock = start.time().isoformat(timespec="milliseconds")
    rate = f"{fs:g}" + (f"/{counter_freq:g}" if counter_freq is not None else "")
    lines = [f"{name}/{len(segments)} {n_sig} {rate} {total} {clock} {start:%d/%m/%Y}"]
    lines += [f"{segment} {length}" for segment, length in segments]
    path = folder / f"{name}.hea"
    path.write_text("\n".join(lines) + "\n")
    return path
