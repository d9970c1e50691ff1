"""Generated records whose signals run at several rates, with skew, in any WFDB format, holding the stretches
the quality columns look for: invalid samples, flat runs (some across window edges) and clipped samples.

Formats wfdb writes (80, 16, 24, 32, 212, 508, 516, 524) are written by ``wfdb.Record.wrsamp(expanded=True)``
from chosen digital samples (FLAC one file a signal: a FLAC file holds signals of one rate); the others
(8, 61, 160, 310, 311) as seeded bytes with zero-byte stretches (flat, and for some formats invalid). Skew is
written into the header afterwards (wfdb writes none). What a file holds is whatever wfdb reads from it: the
tests compare with wfdb, never with these arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import wfdb

from scripts.sample_data.records import RAW_FORMATS, random_signal_bytes
from steps.extract.wfdb_spec import BIT_RES, INVALID_SAMPLE_VALUE, SAMPLE_VALUE_RANGE

FLAC = {"508", "516", "524"}


def planted_signal(fmt: str, n: int, fs: float, seed: int) -> np.ndarray:
    """``n`` digital samples at ``fs``: a wave with noise, flat runs of 0.4 s, 1 s and 3 s from ``n // 7``,
    ``n // 4`` and ``n // 2 + 1`` (the last at the format's top value: clipped and flat), eight isolated
    clipped samples from ``n // 5``, and half a second of invalid samples ending 3 samples before the end."""
    rng = np.random.default_rng(seed)
    low, high = SAMPLE_VALUE_RANGE[fmt]
    invalid = INVALID_SAMPLE_VALUE[fmt]
    lowest = low if invalid is None else invalid + 1
    span = min(high, 2**20)
    t = np.arange(n)
    wave = np.sin(2 * np.pi * t / fs * (1.1 + seed % 3)) * span * 0.5 + rng.normal(0, span * 0.02, n)
    digital = np.clip(np.round(wave), lowest, high).astype(np.int64)
    second = max(2, round(fs))
    for start, length, value in (
        (n // 7, int(0.4 * second), 3),  # too short to be flat
        (n // 4, second, 5),  # exactly one second: flat
        (n // 2 + 1, 3 * second, high),  # flat and clipped
    ):
        digital[start : start + length] = value
    digital[n // 5 : n // 5 + 56 : 7] = lowest  # isolated clipped samples, before the flat runs
    if invalid is not None:  # half a second of invalid samples, near the end
        digital[n - second // 2 - 3 : n - 3] = invalid
    return digital


def write_multirate_record(
    folder: Path,
    name: str,
    fmt: str,
    frames: int,
    samples_per_frame: Sequence[int],
    skews: Sequence[int] | None = None,
    frame_rate: float = 125.0,
    seed: int = 0,
) -> Path:
    """A record of ``len(samples_per_frame)`` signals in ``fmt``; the header's path."""
    folder.mkdir(parents=True, exist_ok=True)
    n_sig = len(samples_per_frame)
    if fmt in RAW_FORMATS:
        _write_raw(folder, name, fmt, frames, samples_per_frame, seed)
    else:
        signals = [
            planted_signal(fmt, frames * k, frame_rate * k, seed + i) for i, k in enumerate(samples_per_frame)
        ]
        files = [f"{name}_{i}.dat" for i in range(n_sig)] if fmt in FLAC else [f"{name}.dat"] * n_sig
        record = wfdb.Record(
            record_name=name,
            n_sig=n_sig,
            fs=frame_rate,
            sig_len=frames,
            file_name=files,
            fmt=[fmt] * n_sig,
            samps_per_frame=list(samples_per_frame),
            adc_gain=[50.0 + 10 * i for i in range(n_sig)],
            baseline=[3 * i - 2 for i in range(n_sig)],
            units=["mV"] * n_sig,
            sig_name=[f"S{i}" for i in range(n_sig)],
            e_d_signal=[s.astype(np.int32 if BIT_RES[fmt] > 16 else np.int16) for s in signals],
            adc_res=[BIT_RES[fmt]] * n_sig,
            adc_zero=[0] * n_sig,
            init_value=[int(s[0]) for s in signals],
            checksum=[0] * n_sig,
            block_size=[0] * n_sig,
        )
        record.wrsamp(expanded=True, write_dir=str(folder))
    header = folder / f"{name}.hea"
    if skews and any(skews):
        lines = header.read_text().splitlines()
        for index, skew in enumerate(skews):
            if skew:
                fields = lines[1 + index].split(" ")
                fields[1] += f":{skew}"
                lines[1 + index] = " ".join(fields)
        header.write_text("\n".join(lines) + "\n")
    return header


def _write_raw(
    folder: Path, name: str, fmt: str, frames: int, samples_per_frame: Sequence[int], seed: int
) -> None:
    raw = random_signal_bytes(fmt, frames * sum(samples_per_frame), np.random.default_rng(seed))
    n_bytes = len(raw)
    for start, length in ((n_bytes // 5, n_bytes // 6), (n_bytes // 2, n_bytes // 40 + 8)):
        raw[start : start + length] = 0  # zero bytes: equal samples (format 8: no change), some invalid
    (folder / f"{name}.dat").write_bytes(raw.tobytes())
    lines = [f"{name} {len(samples_per_frame)} 125 {frames}"]
    for i, k in enumerate(samples_per_frame):
        init = " 0 100" if fmt == "8" else ""
        lines.append(
            f"{name}.dat {fmt}x{k} {40.0 + 10 * i}({2 * i - 1})/mV{' 8' if fmt == '8' else ''}{init} S{i}"
        )
    (folder / f"{name}.hea").write_text("\n".join(lines) + "\n")
