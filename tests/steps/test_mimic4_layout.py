"""The MIMIC-IV Waveform Database layout, as the sample-data generator writes it: record folders two deep
(subject, record), multi-segment masters whose first segment is a layout header, FLAC segments of several
rates, numerics tables; discovered as MIMIC-III's record sets are, and the planted defects reported."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scripts.sample_data.mimic4_sample import COUNTER_FREQUENCY, FRAME_RATE, generate_mimic4
from steps.extract.discovery import discover_folder, list_group
from steps.extract.extraction import extract_group
from steps.extract.header import MultiSegmentHeader, read_header
from steps.extract.numerics_csv import NumericsCsvTask, measurement_name

GROUPS = ["p100", "p101"]


@pytest.fixture(scope="module")
def waves(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mimic4") / "waves"
    generate_mimic4(root, seed=0, groups=GROUPS)
    return root


def tree_digest(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_the_generator_is_seeded_and_deterministic(waves: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate_mimic4(again, seed=0, groups=GROUPS)
    assert tree_digest(again) == tree_digest(waves)
    assert not generate_mimic4(again, seed=0, groups=GROUPS)  # the same one is there: kept
    other = tmp_path / "other"
    generate_mimic4(other, seed=1, groups=GROUPS)
    assert tree_digest(other) != tree_digest(waves)


def record_folders(waves: Path, group: str) -> list[Path]:
    return sorted(path.parent for path in (waves / group).glob("p*/*/*.hea") if "_" not in path.name)


def test_records_lie_in_subject_and_record_folders_with_masters_layouts_flac_and_numerics(
    waves: Path,
) -> None:
    import wfdb

    folders = record_folders(waves, "p100")
    assert len(folders) >= 2
    for folder in folders:
        subject, record = folder.parts[-2:]
        assert subject.startswith("p100") and len(subject) == 9 and record.isdigit() and len(record) == 8
        master = read_header(folder / f"{record}.hea")
        assert isinstance(master, MultiSegmentHeader)
        assert (master.fs, master.counter_freq) == (FRAME_RATE, COUNTER_FREQUENCY)
        assert master.segments[0] == (f"{record}_0000", 0)  # the layout header
        assert (folder / f"{record}n.csv.gz").is_file()
        segment = next(name for name, _ in master.segments[1:] if name != "~")
        read = wfdb.rdrecord(str(folder / segment), physical=False, smooth_frames=False)
        assert read.samps_per_frame == [4, 4, 2, 2, 1] and set(read.fmt) == {"516"}
        assert read.file_name == [f"{segment}e.dat"] * 2 + [f"{segment}p.dat"] * 2 + [f"{segment}r.dat"]


def test_discovery_finds_each_record_folder_two_deep(waves: Path) -> None:
    listing = list_group(waves / "p100", "p100")
    assert listing.failures == []
    assert [folder.path for folder in listing.folders] == record_folders(waves, "p100")


def test_a_record_folders_records_its_layout_and_its_numerics_table(waves: Path) -> None:
    folder = record_folders(waves, "p100")[0]
    subject, record = folder.parts[-2:]
    (listing,) = [found for found in list_group(waves / "p100", "p100").folders if found.path == folder]
    found = discover_folder(listing, waves / "p100", "p100")
    master = read_header(folder / f"{record}.hea")
    assert isinstance(master, MultiSegmentHeader)
    segments = [(name, length) for name, length in master.segments if name != "~"][1:]
    assert found.failures == []
    assert found.headers == {"master": 1, "layout": 1, "record": len(segments)}  # _0000: a layout
    assert {task.record_set for task in found.tasks} == {f"{subject}/{record}"}
    waveforms = [task for task in found.tasks if not isinstance(task, NumericsCsvTask)]
    (table,) = [task for task in found.tasks if isinstance(task, NumericsCsvTask)]
    assert [task.record for task in waveforms] == [name for name, _ in segments]
    assert [task.relative_path for task in waveforms] == [
        f"{subject}/{record}/{name}.hea" for name, _ in segments
    ]
    # masters date their segments as in MIMIC-III: the master's start plus the frames before (gaps too)
    assert master.base_date is not None and master.base_time is not None
    origin = dt.datetime.combine(master.base_date, master.base_time)
    offsets = {}
    frames = 0
    for name, length in master.segments:
        offsets[name] = frames
        frames += length
    for task in waveforms:
        expected = origin + dt.timedelta(seconds=offsets[task.record] / FRAME_RATE)
        assert task.start.date_time is not None
        assert abs(task.start.date_time - expected) < dt.timedelta(milliseconds=1), task.record
    assert (table.record, table.kind, table.relative_path) == (
        f"{record}n",
        "numerics",
        f"{subject}/{record}/{record}n.csv.gz",
    )
    assert table.counter_frequency == COUNTER_FREQUENCY and table.start.date_time == origin


def test_the_planted_defects_are_reported_and_the_numerics_summarised(waves: Path, tmp_path: Path) -> None:
    summary = extract_group(waves / "p101", tmp_path / "out", "p101", workers=2)
    errors = pd.read_json(tmp_path / "out" / "errors.jsonl", lines=True)
    by_code = {code: list(group["path"]) for code, group in errors.groupby("error")}
    folders = record_folders(waves, "p101")
    first, last = folders[0], folders[-1]
    missing = f"{first.parts[-2]}/{first.name}/{first.name}_0001.hea"
    assert by_code["missing_segment"] == [missing]
    assert by_code["malformed_csv"] == [f"{last.parts[-2]}/{last.name}/{last.name}n.csv.gz"]
    (message,) = errors.loc[errors["error"] == "malformed_csv", "message"]
    assert message == f"{last.name}n.csv.gz: Truncated compressed stream"
    assert summary.headers_by_kind["layout"] == len(folders)
    features = pd.read_parquet(tmp_path / "out" / "features.parquet")
    numerics = features[features["kind"] == "numerics"]
    intact = [folder for folder in folders if folder != last]
    assert sorted(set(numerics["record"])) == sorted(f"{folder.name}n" for folder in intact)
    for folder in intact:
        table = pd.read_csv(folder / f"{folder.name}n.csv.gz")
        rows = numerics[numerics["record"] == f"{folder.name}n"].set_index("signal")
        assert list(rows.index) == [measurement_name(column)[0] for column in table.columns[1:]]
        assert (rows["n_samples"] == len(table)).all()
        ticks = table["time"].to_numpy()
        assert (rows["duration_s"] == (ticks[-1] - ticks[0]) / COUNTER_FREQUENCY).all()
        for column in table.columns[1:]:
            present = table[column].dropna().to_numpy(dtype=np.float64)
            got = rows.loc[measurement_name(column)[0]]
            assert got["n_valid"] == present.size
            assert list(got[["min", "p05", "p50", "p95", "max"]]) == [
                present.min(),
                *np.percentile(present, [5, 50, 95]),
                present.max(),
            ]
            assert math.isclose(got["mean"], present.mean(), rel_tol=1e-12)
            assert math.isclose(got["std"], np.std(present), rel_tol=1e-9, abs_tol=1e-12)
