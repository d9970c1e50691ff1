"""Records, windows and quality fractions equal an independent wfdb + numpy computation (``tests.reference``):
real records (the original MIMIC Database's multi-rate ECG, MIMIC-IV-style FLAC, every binary and FLAC
format, skew) and generated ones (every format, several rates, skew, invalid, flat and clipped stretches,
windows that cut a flat run), whole and cut into frame ranges over two workers."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scripts.sample_data.records import ALL_FORMATS
from steps.contract.outputs import WINDOW_COLUMNS
from steps.extract import signal_summary
from tests.reference import assert_statistics_match, reference_statistics, reference_windows
from tests.steps.extract_runs import Extract
from tests.steps.multirate_records import FLAC, write_multirate_record

PROJECT = Path(__file__).resolve().parents[2]
SAMPLE = PROJECT / "tests" / "data" / "wfdb-sample"
REAL = PROJECT / "tests" / "data" / "mimic3wdb-real"


def windows_of(output_dir: Path) -> pd.DataFrame:
    return pd.read_parquet(output_dir / "windows.parquet")


def assert_record_matches(
    features: pd.DataFrame, windows: pd.DataFrame | None, header: Path, seconds: float
) -> None:
    """The record's feature rows and (when given) window rows equal the reference's."""
    where = header.parent.name + "/" + header.stem
    rows = features[
        (features["record"] == header.stem) & (features["record_set"].str.endswith(header.parent.name))
    ]
    rows = rows.sort_values("signal_index").to_dict("records")
    expected = reference_statistics(header)
    assert len(rows) == len(expected), where
    for row, reference in zip(rows, expected, strict=True):
        assert_statistics_match(row, reference, f"{where} signal {row['signal_index']}")
    if windows is None:
        return
    ours = windows[
        (windows["record"] == header.stem) & (windows["record_set"].str.endswith(header.parent.name))
    ]
    ours = ours.sort_values(["signal_index", "window_index"]).to_dict("records")
    reference_rows = reference_windows(header, seconds)
    assert len(ours) == len(reference_rows), f"{where}: {len(ours)} windows, reference {len(reference_rows)}"
    for row, reference in zip(ours, reference_rows, strict=True):
        label = f"{where} signal {row['signal_index']} window {row['window_index']}"
        assert (row["signal_index"], row["window_index"]) == (
            reference["signal_index"],
            reference["window_index"],
        )
        assert row["window_start_s"] == pytest.approx(reference["window_start_s"], rel=1e-12, abs=1e-12), (
            label
        )
        assert_statistics_match(row, reference, label)


@pytest.mark.parametrize("seconds", [60.0, 1.3])
def test_real_records_of_every_kind_match_wfdb(tmp_path: Path, extract: Extract, seconds: float) -> None:
    run = extract(SAMPLE, "--workers", "1", f"--window-seconds={seconds}", group="sample")
    assert run.exit_code == 0, run.stderr
    assert run.errors == []
    features, windows = run.features, windows_of(run.output_dir)
    assert list(windows.columns) == list(WINDOW_COLUMNS)
    headers = [h for h in sorted(SAMPLE.rglob("*.hea")) if h.stem != "041s"]  # 041s.hea is a master header
    assert len(headers) == 9
    for header in headers:
        assert_record_matches(features, windows, header, seconds)
    # What the sample records are there to show: ECG at 4 samples per frame has four times the frame rate.
    ecg = features[(features["record"] == "041s01") & (features["signal"] == "I")].iloc[0]
    assert (ecg["fs"], ecg["n_samples"]) == (500.0, 4000)
    resp = features[(features["record"] == "mixedsignals") & (features["signal"] == "Resp")].iloc[0]
    assert resp["fs"] == pytest.approx(62.4725) and resp["n_samples"] == 14400


def test_real_mimic3_records_match_wfdb_with_quality_and_windows(tmp_path: Path, extract: Extract) -> None:
    run = extract(REAL / "32", "--workers", "1", "--window-seconds=7", group="32")
    assert run.exit_code == 0, run.stderr
    windows = windows_of(run.output_dir)
    for header in sorted((REAL / "32" / "3234460").glob("3234460_00*.hea")):
        assert_record_matches(run.features, windows, header, 7.0)
    # The numerics record's vital signs, a sample a minute: each 7 s window holds at most one sample.
    numerics = REAL / "32" / "3234460" / "s25047-2704-05-04-10-44n.hea"
    assert_record_matches(run.features, windows, numerics, 7.0)


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_generated_multirate_records_in_every_format_match_wfdb(
    tmp_path: Path, extract: Extract, fmt: str
) -> None:
    group = tmp_path / "30"
    headers = [
        write_multirate_record(group / "3000001", f"mr{fmt}", fmt, 1500, [4, 2, 1], seed=1),
        write_multirate_record(group / "3000002", f"one{fmt}", fmt, 900, [1], seed=2),
    ]
    # Skew: wfdb reads none in format 8 (no invalid code to mark the skew's end with) nor in FLAC.
    if fmt != "8" and fmt not in FLAC:
        headers += [  # skews that wfdb shifts itself (0 or equal in a file), and ones it shifts only alone
            write_multirate_record(group / "3000003", f"sk{fmt}", fmt, 1200, [2, 1, 3], [3, 0, 3], seed=3),
            write_multirate_record(group / "3000004", f"sk2{fmt}", fmt, 1200, [2, 1, 3], [3, 0, 5], seed=4),
        ]
    run = extract(group, "--workers", "1", "--window-seconds=2")
    assert run.exit_code == 0, run.stderr
    assert run.errors == []
    windows = windows_of(run.output_dir)
    for header in headers:
        assert_record_matches(run.features, windows, header, 2.0)


def test_quality_fractions_of_a_planted_record_are_what_was_planted(tmp_path: Path, extract: Extract) -> None:
    """A record whose stretches are known: the fractions are the planted counts, not just wfdb's."""
    header = write_multirate_record(tmp_path / "30" / "3000001", "planted", "16", 1250, [1], seed=0)
    run = extract(tmp_path / "30", "--workers", "1")
    row = run.features.iloc[0]
    # At 125 Hz: a 0.4 s run (not flat), a 1 s run and a 3 s run of the top value (flat), 8 isolated lowest
    # values, 62 invalid samples.
    n_valid = 1250 - 62
    assert row["n_valid"] == n_valid
    assert row["flat_fraction"] == pytest.approx((125 + 375) / n_valid, rel=1e-12)
    assert row["clip_fraction"] == pytest.approx((375 + 8) / n_valid, rel=1e-12)
    assert_record_matches(run.features, None, header, 0)


def test_a_flat_run_is_cut_at_window_edges(tmp_path: Path, extract: Extract) -> None:
    """At 125 Hz in 1 s windows, the 3 s run [626, 1001) leaves 124 samples in window 5 (not flat: under a
    second), covers windows 6 and 7 whole, and leaves 1 sample in window 8; the 1 s run [312, 437) is cut
    into 63 and 62 samples, flat in neither window, though flat in the record."""
    header = write_multirate_record(tmp_path / "30" / "3000001", "cut", "16", 1250, [1], seed=0)
    run = extract(tmp_path / "30", "--workers", "1", "--window-seconds=1")
    windows = windows_of(run.output_dir)
    assert_record_matches(run.features, windows, header, 1.0)
    flat = windows.set_index("window_index")["flat_fraction"]
    assert [flat[w] for w in (2, 3, 5, 6, 7, 8)] == [0.0, 0.0, 0.0, 1.0, 1.0, 0.0]
    assert run.features.iloc[0]["flat_fraction"] == pytest.approx(500 / (1250 - 62), rel=1e-12)


def test_windows_shorter_than_a_second_are_never_flat(tmp_path: Path, extract: Extract) -> None:
    header = write_multirate_record(tmp_path / "30" / "3000001", "short", "16", 1250, [1], seed=0)
    run = extract(tmp_path / "30", "--workers", "1", "--window-seconds=0.5")
    windows = windows_of(run.output_dir)
    assert_record_matches(run.features, windows, header, 0.5)
    assert (windows["flat_fraction"].dropna() == 0).all()
    assert run.features.iloc[0]["flat_fraction"] > 0


@pytest.mark.parametrize("seconds", [0.0, 2.0, 7.3])
def test_a_record_cut_into_frame_ranges_over_two_workers_gives_the_same_rows(
    tmp_path: Path, extract: Extract, seconds: float
) -> None:
    """A long record heavier than a worker's fair share is cut into frame ranges (on window edges); the
    flat runs that cross the cuts and the windows come out as from one pass."""
    group = tmp_path / "30"
    headers = [write_multirate_record(group / "3000001", "long", "80", 60_000, [4, 1], seed=5)]
    headers.append(write_multirate_record(group / "3000002", "other", "16", 20_000, [1, 2], seed=6))
    whole = extract(group, "--workers", "1", f"--window-seconds={seconds}")
    split = extract(group, "--workers", "2", f"--window-seconds={seconds}")
    assert whole.errors == split.errors == []
    columns = ["record", "signal_index"]
    pd.testing.assert_frame_equal(
        whole.features.sort_values(columns).reset_index(drop=True),
        split.features.sort_values(columns).reset_index(drop=True),
    )
    if seconds:
        order = ["record", "signal_index", "window_index"]
        pd.testing.assert_frame_equal(
            windows_of(whole.output_dir).sort_values(order).reset_index(drop=True),
            windows_of(split.output_dir).sort_values(order).reset_index(drop=True),
        )
        for header in headers:
            assert_record_matches(split.features, windows_of(split.output_dir), header, seconds)
    else:
        assert not (split.output_dir / "windows.parquet").exists()
        assert split.summary["window_seconds"] == 0 and split.summary["windows"] == 0


def test_the_windows_file_is_described_by_the_summary(tmp_path: Path, extract: Extract) -> None:
    write_multirate_record(tmp_path / "30" / "3000001", "rec", "80", 3000, [2, 1], seed=0)
    run = extract(tmp_path / "30", "--workers", "1")  # the default: 60 s windows
    summary = run.summary
    assert summary["window_seconds"] == 60.0
    assert summary["windows"] == len(windows_of(run.output_dir)) == 2  # 24 s of two signals: a window each
    assert set(summary["files"]) == {"features.parquet", "errors.jsonl", "windows.parquet"}
    # A rerun without windows leaves no windows file of the run before.
    again = run.output_dir
    shutil.rmtree(tmp_path / "30" / "3000001")
    write_multirate_record(tmp_path / "30" / "3000001", "rec", "80", 3000, [2, 1], seed=0)
    from steps.extract import command

    code = command.run(
        command.build_parser().parse_args(
            ["--input-dir", str(tmp_path / "30"), "--output-dir", str(again), "--window-seconds", "0"]
        )
    )
    assert code == 0
    assert not (again / "windows.parquet").exists()


@pytest.mark.parametrize("text", ["-1", "nan", "inf", "86401", "a minute"])
def test_a_window_length_outside_zero_to_a_day_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    from steps.extract import command

    with pytest.raises(SystemExit) as exit_info:
        command.build_parser().parse_args(["--window-seconds", text])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "--window-seconds" in err and "Traceback" not in err


def test_windows_of_a_record_within_one_window_are_the_record(tmp_path: Path, extract: Extract) -> None:
    write_multirate_record(tmp_path / "30" / "3000001", "tiny", "80", 100, [1, 4], seed=0)
    run = extract(tmp_path / "30", "--workers", "1")
    windows = windows_of(run.output_dir).sort_values("signal_index").reset_index(drop=True)
    features = run.features.sort_values("signal_index").reset_index(drop=True)
    for column in [
        "n_samples",
        "n_valid",
        "mean",
        "std",
        "min",
        "max",
        "p05",
        "p50",
        "p95",
        "clip_fraction",
        "flat_fraction",
    ]:
        np.testing.assert_array_equal(windows[column].to_numpy(), features[column].to_numpy(), err_msg=column)


@pytest.mark.parametrize("fmt", ["80", "16", "212", "516"])
def test_windows_too_long_to_hold_are_summarised_as_they_stream(
    tmp_path: Path, extract: Extract, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    """Windows of more samples than a worker holds (here made 100) are counted a piece at a time: the same
    rows, and runs cut at their edges as before."""
    monkeypatch.setattr(signal_summary, "LONG_WINDOW", 100)
    group = tmp_path / "30"
    headers = [write_multirate_record(group / "3000001", f"lw{fmt}", fmt, 1500, [4, 2, 1], seed=1)]
    if fmt not in FLAC:
        headers.append(
            write_multirate_record(group / "3000002", f"lws{fmt}", fmt, 1200, [2, 1], [3, 3], seed=2)
        )
    for seconds in (2.0, 1000.0):  # several windows; one window holding the record
        run = extract(group, "--workers", "1", f"--window-seconds={seconds}")
        assert run.errors == []
        for header in headers:
            assert_record_matches(run.features, windows_of(run.output_dir), header, seconds)


def test_a_wide_format_refuses_windows_too_long_to_hold_in_one_line(
    tmp_path: Path, extract: Extract, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(signal_summary, "LONG_WINDOW", 100)
    write_multirate_record(tmp_path / "30" / "3000001", "wide", "32", 1500, [1], seed=1)
    run = extract(tmp_path / "30", "--workers", "1", "--window-seconds=2")
    assert [(e["record"], e["error"]) for e in run.errors] == [("wide", "unsupported_format")]
    assert "choose a shorter window length" in run.errors[0]["message"]
