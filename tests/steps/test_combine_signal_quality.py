"""The report's signal quality: per signal, clipping and flat lines over its samples, records and windows,
from the features' and windows' ``clip_fraction`` and ``flat_fraction``; checked against pandas on hand-made
values, NaN (a record without valid samples, or an extract step that does not measure them) included."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from steps.combine import command as combine_step
from steps.combine.signal_quality import MOSTLY
from tests.report_pages import images, table_dicts
from tests.steps.outputs_by_hand import feature_row, windows_of, write_group

NAN = math.nan
# (record, signal, hours, clip, flat), over two groups
RECORDS = {
    "30": [
        ("3000001_0001", "II", 1.0, 0.0, 0.1),
        ("3000001_0001", "PLETH", 1.0, 0.6, 0.0),
        ("3000002_0001", "II", 3.0, 0.02, 0.7),
        ("3000002_0001", "PLETH", 3.0, NAN, NAN),  # no valid samples
    ],
    "31": [
        ("3100001_0001", "II", 0.5, 0.0, 0.0),
        ("3100001_0001", "PLETH", 0.5, 0.9, 0.55),
    ],
}


def rows_of(group: str) -> list[dict[str, Any]]:
    return [
        feature_row(group, record, signal, index % 2, hours, clip, flat)
        for index, (record, signal, hours, clip, flat) in enumerate(RECORDS[group])
    ]


def windowed(rows: list[dict[str, Any]]) -> Any:
    """Windows whose fractions vary: every third window of a signal mostly flat, every fifth mostly
    clipped, every seventh unmeasured."""
    table = windows_of(rows)
    index = np.asarray(table.column("window_index"))
    clip = np.where(index % 5 == 0, 0.8, 0.1)
    flat = np.where(index % 3 == 0, 0.9, 0.0)
    clip[index % 7 == 0], flat[index % 7 == 0] = NAN, NAN
    table = table.set_column(table.schema.get_field_index("clip_fraction"), "clip_fraction", [clip])
    return table.set_column(table.schema.get_field_index("flat_fraction"), "flat_fraction", [flat])


@pytest.fixture
def combined(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    for group in RECORDS:
        write_group(tmp_path / "groups" / group, group, rows_of(group), windows=windowed(rows_of(group)))
    output = tmp_path / "out"
    assert combine_step.main(["--input-dir", str(tmp_path / "groups"), "--output-dir", str(output)]) == 0
    capsys.readouterr()
    return output


def independent(groups: Path) -> dict[str, dict[str, Any]]:
    """The quality of each signal, by pandas over every group's files."""
    features = pd.concat([pd.read_parquet(path) for path in sorted(groups.glob("*/features.parquet"))])
    windows = pd.concat([pd.read_parquet(path) for path in sorted(groups.glob("*/windows.parquet"))])
    names = {"II": "ECG_II", "PLETH": "PPG"}
    found: dict[str, dict[str, Any]] = {}
    for signal, rows in features.groupby("signal"):
        expected: dict[str, Any] = {"records": len(rows)}
        for prefix, column in (("clip", "clip_fraction"), ("flat", "flat_fraction")):
            measured = rows[rows[column].notna()]
            expected[f"{prefix}_records"] = len(measured)
            expected[f"{prefix}_of_samples"] = (measured[column] * measured["n_valid"]).sum() / measured[
                "n_valid"
            ].sum()
            expected[f"{prefix}_record_mean"] = measured[column].mean()
            expected[f"{prefix}_record_median"] = measured[column].median()
            expected[f"{prefix}_records_mostly"] = (measured[column] > MOSTLY).mean()
        of_signal = windows[windows["signal"] == signal]
        clip, flat = of_signal["clip_fraction"], of_signal["flat_fraction"]
        expected["windows"] = len(of_signal)
        expected["windows_mostly_clipped"] = (clip[clip.notna()] > MOSTLY).mean()
        expected["windows_mostly_flat"] = (flat[flat.notna()] > MOSTLY).mean()
        either = clip.notna() | flat.notna()
        expected["windows_mostly_either"] = ((clip > MOSTLY) | (flat > MOSTLY))[either].mean()
        found[names[str(signal)]] = expected
    return found


def test_each_signal_s_quality_matches_pandas(combined: Path, tmp_path: Path) -> None:
    quality = json.loads((combined / "quality.json").read_text())["signal_quality"]
    assert quality["mostly"] == MOSTLY
    ours = {row["signal_std"]: row for row in quality["signals"]}
    assert sorted(ours) == ["ECG_II", "PPG"] and {row["kind"] for row in ours.values()} == {"waveform"}
    for signal, expected in independent(tmp_path / "groups").items():
        for key, value in expected.items():
            assert ours[signal][key] == pytest.approx(value), (signal, key)
    assert ours["PPG"]["records"] == 3 and ours["PPG"]["clip_records"] == 2  # the NaN one is not measured


def test_the_report_shows_it_as_a_table_and_a_figure(combined: Path) -> None:
    page = (combined / "report.html").read_text()
    rows = {row["signal_std"]: row for row in table_dicts(page, "signal-quality")}
    ppg = rows["PPG"]
    assert (ppg["records"], ppg["records measured"]) == ("3", "2")
    assert (ppg["samples clipped"], ppg["median record clipped"], ppg["records mostly clipped"]) == (
        "70%",  # (0.6 x 1 h + 0.9 x 0.5 h) / 1.5 h
        "75%",
        "100%",
    )
    assert ppg["records mostly flat"] == "50%" and rows["ECG_II"]["samples clipped"] == "1.33%"
    assert rows["ECG_II"]["windows"] == str(60 + 180 + 30)
    assert "windows mostly either" in rows["PPG"]
    assert "more than 50% of their valid samples" in page
    assert len(images(page)) == 6


def test_without_any_measure_it_says_not_measured(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """As this branch's extract step writes them: NaN fractions, and no windows."""
    rows = [feature_row("30", "3000001_0001", "II", clip=NAN, flat=NAN)]
    write_group(tmp_path / "groups" / "30", "30", rows)
    output = tmp_path / "out"
    assert combine_step.main(["--input-dir", str(tmp_path / "groups"), "--output-dir", str(output)]) == 0
    [row] = json.loads((output / "quality.json").read_text())["signal_quality"]["signals"]
    assert row["records"] == 1 and row["clip_records"] == 0 and row["windows"] == 0
    shares = [
        key for key in row if key.startswith(("clip_", "flat_", "windows_")) and not key.endswith("records")
    ]
    assert len(shares) == 11 and all(row[key] is None for key in shares), row
    page = (output / "report.html").read_text()
    [shown] = table_dicts(page, "signal-quality")
    assert shown["samples clipped"] == "not measured" and "windows" not in shown
    assert "no windows were cut" in page and len(images(page)) == 6
    capsys.readouterr()
