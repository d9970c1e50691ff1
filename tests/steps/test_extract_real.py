"""The extract step on real MIMIC-III records: discovery by headers, exact statistics, outputs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from steps.contract.outputs import FEATURE_COLUMNS
from tests.reference import assert_statistics_match, reference_statistics
from tests.steps.extract_runs import Extract

EXPECTED_COLUMNS = [
    "patient_group", "record_set", "record", "kind", "signal_index", "signal", "units", "fs", "n_samples",
    "duration_s", "n_valid", "mean", "std", "min", "max", "p05", "p50", "p95", "clip_fraction",
    "flat_fraction", "start_time", "start_time_of_day",
]  # fmt: skip


def test_every_real_record_matches_wfdb_and_numpy(real_data: Path, extract: Extract) -> None:
    for group in ("30", "32"):
        run = extract(real_data / group, group=group)
        assert run.exit_code == 0, run.stderr
        features = run.features
        for header in (real_data / group).rglob("*.hea"):
            rows = features[features["record"] == header.stem].sort_values("signal_index")
            if rows.empty:
                continue
            reference = reference_statistics(header)
            assert len(rows) == len(reference)
            for row, expected in zip(rows.to_dict("records"), reference, strict=True):
                assert_statistics_match(row, expected, f"{header.stem}/{row['signal']}")


def test_discovery_is_driven_by_headers(real_data: Path, extract: Extract) -> None:
    run = extract(real_data / "32", group="32")
    features = run.features
    records = set(features["record"])
    # 18 waveform segments and the numerics record, whose data file (3234460n.dat) is named unlike its header.
    assert records == {f"3234460_{i:04d}" for i in range(1, 19)} | {"s25047-2704-05-04-10-44n"}
    assert "s25047-2704-05-04-10-44" not in records and "3234460_layout" not in records
    numerics = features[features["record"] == "s25047-2704-05-04-10-44n"]
    assert set(numerics["kind"]) == {"numerics"}
    assert list(numerics["signal"]) == ["HR", "PULSE", "RESP", "SpO2", "NBPSys", "NBPDias", "NBPMean"]
    assert set(features.loc[features["record"] != "s25047-2704-05-04-10-44n", "kind"]) == {"waveform"}
    assert set(features["record_set"]) == {"3234460"}
    assert set(features["patient_group"]) == {"32"}
    summary = run.summary
    assert summary["headers_found"] == 21
    assert summary["headers_by_kind"] == {"layout": 1, "master": 1, "record": 19}
    assert summary["records_discovered"] == 19 == summary["records_summarised"]
    assert summary["records_failed"] == 0
    assert summary["rows"] == len(features) == 18 * 2 + 2 + 7 + 0  # 0017 and 0018 hold 3 signals
    assert summary["bytes_read"] == sum(p.stat().st_size for p in (real_data / "32").rglob("*.dat"))


def test_rows_carry_duration_and_start_time(real_data: Path, extract: Extract) -> None:
    features = extract(real_data / "32", group="32").features.set_index(["record", "signal"])
    segment = features.loc[("3234460_0016", "II")]
    assert segment["n_samples"] == 322111 and segment["fs"] == 125.0
    assert segment["duration_s"] == 322111 / 125
    # The segment header gives only a time of day; its master dates it.
    assert segment["start_time"] == pd.Timestamp("2704-05-04T11:00:47.562")
    assert segment["start_time_of_day"] == "11:00:47.562"
    numerics = features.loc[("s25047-2704-05-04-10-44n", "HR")]
    assert numerics["start_time"] == pd.Timestamp("2704-05-04T10:44:18.529")
    assert numerics["start_time_of_day"] == "10:44:18.529"
    assert numerics["n_samples"] == 72 and abs(numerics["duration_s"] - 72 * 60) < 1e-6


def test_features_file_has_exactly_the_agreed_columns(real_data: Path, extract: Extract) -> None:
    run = extract(real_data / "30")
    parquet = pq.ParquetFile(run.output_dir / "features.parquet")
    assert parquet.schema_arrow.names == EXPECTED_COLUMNS == list(FEATURE_COLUMNS)
    assert parquet.metadata.row_group(0).column(0).compression == "SNAPPY"


def test_record_sets_at_any_depth(real_data: Path, tmp_path: Path, extract: Extract) -> None:
    nested = tmp_path / "p00" / "p000020" / "deeper"
    shutil.copytree(real_data / "30" / "3000003", nested)
    run = extract(tmp_path / "p00", group="p00")
    assert set(run.features["record_set"]) == {"p000020/deeper"}
    assert run.summary["records_summarised"] == 1


def test_one_or_two_workers_give_identical_outputs(real_data: Path, extract: Extract) -> None:
    one = extract(real_data / "32", "--workers", "1", group="32")
    two = extract(real_data / "32", "--workers", "2", group="32")
    assert one.features.equals(two.features)
    assert two.summary["workers"] == 2
