"""Bad input: one error line a record in errors.jsonl; the group goes on; --strict fails after writing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.sample_data.records import digital_signals, write_record
from tests.paths import ROOT
from tests.steps.container import container_command
from tests.steps.extract_runs import Extract


def good(folder: Path, name: str) -> Path:
    return write_record(folder, name, "80", digital_signals("80", 400, 2, len(name)))


@pytest.fixture
def broken_group(tmp_path: Path, real_data: Path) -> Path:
    """A group folder holding one good record beside every kind of defect."""
    group = tmp_path / "33"
    shutil.copytree(real_data / "32" / "3234460", group / "3234460")  # real record set, untouched
    folder = group / "3300001"
    good(folder, "ok_0001")

    good(folder, "nodat_0002").with_suffix(".dat").unlink()  # header without its signal file

    truncated = good(folder, "trunc_0003").with_suffix(".dat")
    truncated.write_bytes(truncated.read_bytes()[:301])  # truncated signal file

    (folder / "garbage_0004.hea").write_text("<html>not a header</html>\n")  # unparsable header

    (folder / "zerohea_0005.hea").write_bytes(b"")  # zero-length header
    good(folder, "zerodat_0006").with_suffix(".dat").write_bytes(b"")  # zero-length signal file

    unknown = good(folder, "fmt999_0007")  # unknown format
    unknown.write_text(unknown.read_text().replace(" 80 ", " 999 "))

    wrong_count = good(folder, "count_0008")  # header declares 3 signals; the file holds 2
    lines = wrong_count.read_text().splitlines()
    lines[0] = lines[0].replace(" 2 ", " 3 ", 1)
    wrong_count.write_text("\n".join([*lines, lines[-1].replace("S1", "S2")]) + "\n")

    unreadable = good(folder, "loop_0009").with_suffix(".dat")  # unreadable: a symbolic link to itself
    unreadable.unlink()
    os.symlink(unreadable.name, unreadable)

    (folder / "latin1_0010.hea").write_bytes(b"latin1_0010 1 125 10\nlatin1_0010.dat 80 100/\xb5V II\n")

    master = folder / "s3300001.hea"  # a master listing a segment that is not there
    master.write_text("s3300001/3 2 125 800 10:00:00.000 01/02/2150\nok_0001 400\n~ 0\ngone_0011 400\n")
    return group


EXPECTED_ERRORS = {
    "nodat_0002": "missing_file",
    "trunc_0003": "truncated_signal",
    "garbage_0004": "header_unparsable",
    "zerohea_0005": "empty_file",
    "zerodat_0006": "empty_file",
    "fmt999_0007": "unsupported_format",
    "count_0008": "signal_count_mismatch",
    "loop_0009": "unreadable_file",
    "latin1_0010": "header_encoding",
    "gone_0011": "missing_segment",
}


def test_each_defect_is_reported_once_and_the_group_succeeds(broken_group: Path, extract: Extract) -> None:
    run = extract(broken_group, group="33")
    assert run.exit_code == 0, run.stderr
    reported = {error["record"]: error["error"] for error in run.errors}
    assert reported == EXPECTED_ERRORS
    for error in run.errors:
        assert set(error) == {"group", "path", "record", "error", "message"}
        assert error["group"] == "33"
        assert error["message"] and "\n" not in error["message"]
        assert error["path"].startswith("3300001/")
    summary = run.summary
    assert summary["records_discovered"] == summary["records_summarised"] + summary["records_failed"]
    assert summary["records_failed"] == len(EXPECTED_ERRORS)
    assert summary["records_summarised"] == 19 + 1  # the real record set and the good record
    assert set(run.features["record"]) >= {"ok_0001", "3234460_0016"}
    assert not set(run.features["record"]) & set(EXPECTED_ERRORS)


def test_error_messages_say_what_is_wrong(broken_group: Path, extract: Extract) -> None:
    messages = {error["record"]: error["message"] for error in extract(broken_group).errors}
    assert "trunc_0003.dat holds 301 bytes" in messages["trunc_0003"]
    assert "999" in messages["fmt999_0007"]
    assert "holds exactly 2 signals" in messages["count_0008"]
    assert "not UTF-8" in messages["latin1_0010"]
    assert "s3300001.hea" in messages["gone_0011"]


def test_strict_mode_fails_with_one_line_after_writing_everything(
    broken_group: Path, extract: Extract
) -> None:
    run = extract(broken_group, "--strict", group="33")
    assert run.exit_code == 1
    assert run.stderr.count("\n") == 1 and run.stderr.startswith("error: strict mode: 10 problem(s)")
    assert len(run.errors) == 10 and len(run.features) > 0 and run.summary["records_failed"] == 10


def test_strict_mode_passes_on_clean_input(real_data: Path, extract: Extract) -> None:
    assert extract(real_data / "32", "--strict", group="32").exit_code == 0


def test_failures_inside_split_records_are_reported_once(tmp_path: Path, extract: Extract) -> None:
    folder = tmp_path / "34" / "3400001"
    big = write_record(folder, "big_0001", "80", digital_signals("80", 200_000, 2, 1))
    good(folder, "small_0002")
    big.with_suffix(".dat").write_bytes(big.with_suffix(".dat").read_bytes()[:-10])
    run = extract(tmp_path / "34", "--workers", "2", group="34")
    assert [(e["record"], e["error"]) for e in run.errors] == [("big_0001", "truncated_signal")]
    assert (
        run.summary["records_discovered"]
        == 2
        == run.summary["records_failed"] + run.summary["records_summarised"]
    )


def test_empty_group_folder_is_reported_and_outputs_are_still_written(
    tmp_path: Path, extract: Extract
) -> None:
    (tmp_path / "35").mkdir()
    run = extract(tmp_path / "35", group="35")
    assert run.exit_code == 0
    assert [e["error"] for e in run.errors] == ["empty_group"]
    assert run.features.empty and next(iter(run.features.columns)) == "patient_group"
    assert run.summary["records_discovered"] == 0 == run.summary["rows"]
    assert extract(tmp_path / "35", "--strict", group="35").exit_code == 1


@pytest.mark.parametrize("entry", [pytest.param("cli", marks=pytest.mark.project_env), "script"])
def test_missing_input_folder_fails_at_once_with_one_line(tmp_path: Path, entry: str) -> None:
    command = (
        [sys.executable, "-m", "pipeline", "extract"] if entry == "cli" else container_command("extract")
    )
    result = subprocess.run(
        [*command, "--input-dir", str(tmp_path / "nowhere"), "--output-dir", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        cwd=tmp_path if entry == "cli" else ROOT,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: input folder {tmp_path / 'nowhere'} does not exist"
    ]
    assert not (tmp_path / "out").exists()


def test_strict_takes_an_explicit_boolean_as_the_pipeline_passes_it(
    broken_group: Path, extract: Extract
) -> None:
    assert extract(broken_group, "--strict", "false").exit_code == 0
    assert extract(broken_group, "--strict", "true").exit_code == 1
    run = extract(broken_group, "--strict", "false", "--input-version", "2026-11")
    assert run.summary["input_version"] == "2026-11"
