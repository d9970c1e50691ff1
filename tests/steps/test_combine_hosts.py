"""A group step on several instances writes one output set per host share; combine reads them as one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from scripts.sample_data.records import digital_signals, write_record
from steps.combine import command as combine_step
from steps.extract import command as extract_step


def test_host_shares_of_a_group_combine_into_the_whole_group(tmp_path: Path) -> None:
    for folder in range(7):
        name = f"30{folder:05d}_0001"
        write_record(
            tmp_path / "in" / "30" / f"30{folder:05d}",
            name,
            "80",
            digital_signals("80", 80 * (folder + 1), 2, 2),
        )
    whole, shared = tmp_path / "whole", tmp_path / "shared"
    assert extract(["--input-dir", str(tmp_path / "in" / "30"), "--output-dir", str(whole / "30")]) == 0
    for index in range(2):
        argv = ["--input-dir", str(tmp_path / "in" / "30"), "--output-dir", str(shared / "30")]
        assert extract([*argv, "--host", f"{index}/2"]) == 0
    assert sorted(p.name for p in (shared / "30").iterdir()) == ["algo-1", "algo-2"]
    for source in (whole, shared):
        assert (
            combine(["--input-dir", str(source), "--output-dir", str(tmp_path / f"out-{source.name}")]) == 0
        )

    def dataset(name: str) -> pd.DataFrame:
        frame = pd.read_parquet(tmp_path / f"out-{name}" / "dataset")
        return frame.sort_values(["record", "signal_index"]).reset_index(drop=True)

    pd.testing.assert_frame_equal(dataset("whole"), dataset("shared"))
    quality = [
        json.loads((tmp_path / f"out-{name}" / "quality.json").read_text()) for name in ("whole", "shared")
    ]
    assert quality[0]["totals"] == quality[1]["totals"]


@pytest.fixture
def three_shares(tmp_path: Path) -> Path:
    """Group 30's outputs from a run on three instances."""
    for folder in range(6):
        name = f"30{folder:05d}_0001"
        write_record(tmp_path / "in" / "30" / f"30{folder:05d}", name, "80", digital_signals("80", 80, 2, 2))
    for index in range(3):
        argv = ["--input-dir", str(tmp_path / "in" / "30"), "--output-dir", str(tmp_path / "shared" / "30")]
        assert extract([*argv, "--host", f"{index}/3"]) == 0
    return tmp_path / "shared"


def test_a_missing_host_share_stops_the_combine(
    three_shares: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.rmtree(three_shares / "30" / "algo-2")
    assert combine(["--input-dir", str(three_shares), "--output-dir", str(tmp_path / "out")]) == 1
    assert capsys.readouterr().err == (
        "error: group 30: the step ran on 3 instances but the outputs hold shares [1, 3]; "
        "share 2 is missing\n"
    )
    assert not (tmp_path / "out").exists()


def test_shares_of_runs_on_different_instance_counts_are_refused(
    three_shares: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--input-dir", str(tmp_path / "in" / "30"), "--output-dir", str(three_shares / "30")]
    shutil.rmtree(three_shares / "30" / "algo-2")
    shutil.rmtree(three_shares / "30" / "algo-3")
    assert extract([*argv, "--host", "1/2"]) == 0  # a later run on two instances writes algo-2 again
    assert combine(["--input-dir", str(three_shares), "--output-dir", str(tmp_path / "out")]) == 1
    assert capsys.readouterr().err.startswith("error: group 30: host shares of runs on [2, 3] instances: ")


def extract(argv: list[str]) -> int:
    return extract_step.run(extract_step.build_parser().parse_args(argv))


def combine(argv: list[str]) -> int:
    return combine_step.run(combine_step.build_parser().parse_args(argv))
