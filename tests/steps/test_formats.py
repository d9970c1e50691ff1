"""Every WFDB storage format wfdb reads is summarised exactly, block decoding included."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import wfdb

from scripts.sample_data.records import (
    ALL_FORMATS,
    RAW_FORMATS,
    digital_signals,
    write_raw_record,
    write_record,
)
from steps.extract import signal_files
from steps.extract.header import RecordHeader, read_header
from steps.extract.signal_files import format_low, is_narrow, iter_blocks, signal_files_of
from tests.reference import assert_statistics_match, reference_statistics
from tests.steps.extract_runs import Extract


def make_record(folder: Path, fmt: str, n: int = 3000, n_sig: int = 2, seed: int = 0) -> Path:
    if fmt in RAW_FORMATS:
        return write_raw_record(folder, f"rec{fmt}", fmt, n, n_sig, seed)
    return write_record(folder, f"rec{fmt}", fmt, digital_signals(fmt, n, n_sig, seed))


def assert_rows_match_reference(features: pd.DataFrame, header: Path) -> None:
    reference = reference_statistics(header)
    rows = features[features["record"] == header.stem].sort_values("signal_index").to_dict("records")
    assert len(rows) == len(reference)
    for row, expected in zip(rows, reference, strict=True):
        assert_statistics_match(row, expected, f"{header.stem} signal {row['signal_index']}")


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_every_format_is_summarised_exactly(tmp_path: Path, extract: Extract, fmt: str) -> None:
    header = make_record(tmp_path / "30" / "3000001", fmt)
    run = extract(tmp_path / "30", "--workers", "1")
    assert run.exit_code == 0, run.stderr
    assert run.errors == []
    assert_rows_match_reference(run.features, header)


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_block_decoding_equals_wfdb_digital_samples(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    # Tiny blocks, so every block boundary case (format 8's running sum, 212/310/311 packing) is crossed.
    monkeypatch.setattr(signal_files, "BLOCK_BYTES", 30)
    header_path = make_record(tmp_path, fmt, n=1001, n_sig=3, seed=1)
    header = read_header(header_path)
    assert isinstance(header, RecordHeader)
    (signal_file,) = signal_files_of(header, tmp_path)
    expected = wfdb.rdrecord(str(header_path.with_suffix("")), physical=False).d_signal.astype(np.int64)
    blocks = [np.stack([signal.astype(np.int64) for signal in block], axis=1)  # copies
              for block in iter_blocks(signal_file, header_path, 0, 1001)]  # fmt: skip
    decoded = np.concatenate(blocks)
    if is_narrow(fmt):
        decoded = decoded + format_low(fmt)
    np.testing.assert_array_equal(decoded, expected)


def test_wide_formats_find_percentiles_across_many_high_bins(tmp_path: Path, extract: Extract) -> None:
    # Full-range 32-bit values spread over thousands of high-bit bins: the radix select's second pass.
    rng = np.random.default_rng(7)
    digital = rng.integers(-(2**31) + 1, 2**31 - 1, (5000, 2), dtype=np.int64)
    header = write_record(tmp_path / "30" / "3000002", "wide32", "32", digital, gains=[1e6, 3.5e4])
    run = extract(tmp_path / "30", "--workers", "1")
    assert run.errors == []
    assert_rows_match_reference(run.features, header)


def test_negative_gain_reverses_order_statistics(tmp_path: Path, extract: Extract) -> None:
    for fmt in ("80", "32"):
        header = write_record(tmp_path / "30" / "3000003", f"neg{fmt}", fmt, digital_signals(fmt, 2000, 2, 3))
        # wfdb writes only positive gains, but reads a negative one (an inverted lead) as written.
        lines = header.read_text().splitlines()
        lines[1] = lines[1].replace(" 100.0(", " -50.0(")
        header.write_text("\n".join(lines) + "\n")
    run = extract(tmp_path / "30", "--workers", "1")
    assert run.errors == []
    for fmt in ("80", "32"):
        assert_rows_match_reference(run.features, tmp_path / "30" / "3000003" / f"neg{fmt}.hea")


def test_all_invalid_signal_gives_nan_statistics(tmp_path: Path, extract: Extract) -> None:
    digital = digital_signals("80", 500, 2, 4)
    digital[:, 1] = -128
    write_record(tmp_path / "30" / "3000004", "dead", "80", digital)
    run = extract(tmp_path / "30", "--workers", "1")
    dead = run.features.query("signal_index == 1").iloc[0]
    assert dead["n_valid"] == 0 and dead["n_samples"] == 500
    assert all(np.isnan(dead[c]) for c in ["mean", "std", "min", "max", "p05", "p50", "p95"])


def test_flac_signals_of_different_rates_in_one_file_are_refused_with_a_reason(
    tmp_path: Path, extract: Extract
) -> None:
    """A FLAC file holds signals of one rate (wfdb reads no other); a header saying otherwise is refused."""
    folder = tmp_path / "30" / "3000005"
    folder.mkdir(parents=True)
    (folder / "spf.dat").write_bytes(b"fLaC" + bytes(60))
    (folder / "spf.hea").write_text("spf 2 125 256\nspf.dat 516x2 100/mV II\nspf.dat 516 100/mV V\n")
    run = extract(tmp_path / "30")
    assert [(e["record"], e["error"]) for e in run.errors] == [("spf", "unsupported_format")]
    assert "samples per frame" in run.errors[0]["message"]


def test_a_record_whose_signals_use_two_files_in_two_formats(tmp_path: Path, extract: Extract) -> None:
    folder = tmp_path / "30" / "3000006"
    write_record(folder, "partA", "80", digital_signals("80", 800, 2, 5))
    write_record(folder, "partB", "16", digital_signals("16", 800, 1, 6))
    a = (folder / "partA.hea").read_text().splitlines()
    b = (folder / "partB.hea").read_text().splitlines()
    (folder / "mixed.hea").write_text("\n".join(["mixed 3 125 800", *a[1:], *b[1:]]) + "\n")
    (folder / "partA.hea").unlink()
    (folder / "partB.hea").unlink()
    run = extract(tmp_path / "30", "--workers", "1")
    assert run.errors == []
    assert_rows_match_reference(run.features, folder / "mixed.hea")
