"""Generated WFDB records for the tests, and the reference statistics they are checked against.

Formats wfdb can write (80, 16, 24, 32, 212, 508, 516, 524) are written with ``wfdb.wrsamp``. For the
formats it reads but cannot write (8, 61, 160, 310, 311) the test writes the header text and fills the
signal file with seeded random bytes: every byte pattern is a valid file in those formats, and the
reference is whatever ``wfdb.rdrecord`` decodes from it.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import wfdb
from wfdb.io import _signal as wfdb_signal

WRSAMP_FORMATS = ["80", "16", "24", "32", "212", "508", "516", "524"]
RAW_FORMATS = ["8", "61", "160", "310", "311"]
ALL_FORMATS = sorted(WRSAMP_FORMATS + RAW_FORMATS, key=int)

STAT_COLUMNS = ["mean", "std", "min", "max", "p05", "p50", "p95"]


def digital_signals(fmt: str, n: int, n_sig: int, seed: int, invalid_every: int = 97) -> np.ndarray:
    """Digital samples that use the format's range, with invalid-sample codes sprinkled in."""
    rng = np.random.default_rng(seed)
    low, high = wfdb_signal.SAMPLE_VALUE_RANGE[fmt]
    span = min(high, 2**30)
    t = np.arange(n)[:, None]
    wave = np.sin(2 * np.pi * t / 125 * (1 + np.arange(n_sig)))  # a different rhythm per signal
    values = wave * span * 0.6 + rng.normal(0, span * 0.05, (n, n_sig))
    digital = np.clip(np.round(values), low + 1, high).astype(np.int64)
    invalid = wfdb_signal.INVALID_SAMPLE_VALUE[fmt]
    if invalid is not None and invalid_every:
        digital[::invalid_every, 0] = invalid
        digital[n // 3 : n // 3 + n // 10, -1] = invalid  # a stretch, as a disconnected lead gives
    return digital


def write_record(
    folder: Path,
    name: str,
    fmt: str,
    digital: np.ndarray,
    gains: list[float] | None = None,
    baselines: list[int] | None = None,
    names: list[str] | None = None,
    units: list[str] | None = None,
    fs: float = 125,
) -> Path:
    """Write a record with wfdb.wrsamp; return its header path."""
    folder.mkdir(parents=True, exist_ok=True)
    n_sig = digital.shape[1]
    dtype = np.int32 if wfdb_signal.BIT_RES[fmt] > 16 else np.int16
    wfdb.wrsamp(
        name,
        fs=fs,
        units=units or ["mV"] * n_sig,
        sig_name=names or [f"S{i}" for i in range(n_sig)],
        d_signal=digital.astype(dtype),
        fmt=[fmt] * n_sig,
        adc_gain=gains or [100.0 + 25 * i for i in range(n_sig)],
        baseline=baselines or [i * 7 - 3 for i in range(n_sig)],
        write_dir=str(folder),
    )
    return folder / f"{name}.hea"


def write_raw_record(
    folder: Path, name: str, fmt: str, n: int, n_sig: int, seed: int, gains: list[float] | None = None
) -> Path:
    """A record in a format wfdb cannot write: header text plus random signal bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    flat = n * n_sig
    if fmt in {"310", "311"}:
        n_bytes = math.ceil(flat * 4 / 3)
        n_bytes += -n_bytes % 4 if fmt == "310" else 0
    else:
        n_bytes = int(flat * wfdb_signal.BYTES_PER_SAMPLE[fmt])
    if fmt == "8":
        payload = rng.integers(-6, 7, n_bytes, dtype=np.int8).tobytes()  # small steps: a plausible signal
    else:
        raw = rng.integers(0, 256, n_bytes, dtype=np.uint8)
        if fmt == "311":
            raw[3::4] &= 0x3F  # the two unused high bits of each 32-bit word are zero in a valid file
        payload = raw.tobytes()
    (folder / f"{name}.dat").write_bytes(payload)
    gains = gains or [40.0 + 10 * i for i in range(n_sig)]
    lines = [f"{name} {n_sig} 125 {n}"]
    for i in range(n_sig):
        init = f" 0 {100 * (i + 1)}" if fmt == "8" else ""
        lines.append(f"{name}.dat {fmt} {gains[i]}({2 * i - 1})/mV{' 8' if fmt == '8' else ''}{init} S{i}")
    (folder / f"{name}.hea").write_text("\n".join(lines) + "\n")
    return folder / f"{name}.hea"


def reference_statistics(header_path: Path) -> list[dict[str, float]]:
    """Per signal: what wfdb.rdrecord(physical=True) and numpy's NaN-aware reductions give."""
    record = wfdb.rdrecord(str(header_path.with_suffix("")), physical=True)
    signals = np.asarray(record.p_signal, dtype=np.float64).reshape(record.sig_len, record.n_sig)
    rows = []
    for column in range(record.n_sig):
        x = signals[:, column]
        n_valid = int(np.count_nonzero(~np.isnan(x)))
        if n_valid == 0:
            stats = dict.fromkeys(STAT_COLUMNS, math.nan)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                stats = {
                    "mean": float(np.nanmean(x)),
                    "std": float(np.nanstd(x)),
                    "min": float(np.nanmin(x)),
                    "max": float(np.nanmax(x)),
                    "p05": float(np.nanpercentile(x, 5)),
                    "p50": float(np.nanpercentile(x, 50)),
                    "p95": float(np.nanpercentile(x, 95)),
                }
        rows.append({"n_valid": n_valid, "n_samples": record.sig_len, **stats})
    return rows


def assert_statistics_match(ours: dict[str, float], reference: dict[str, float], where: str) -> None:
    """Equal to 1e-9 relative; values near zero are compared against the signal's own scale instead,
    since numpy's float64 sums themselves carry an absolute error of about 1e-16 of that scale."""
    assert ours["n_valid"] == reference["n_valid"], where
    assert ours["n_samples"] == reference["n_samples"], where
    scale = max(abs(reference["min"]), abs(reference["max"])) if reference["n_valid"] else 0.0
    for column in STAT_COLUMNS:
        a, b = ours[column], reference[column]
        if math.isnan(b):
            assert math.isnan(a), f"{where} {column}: {a} but the reference is NaN"
            continue
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12 * scale), f"{where} {column}: {a!r} != {b!r}"
