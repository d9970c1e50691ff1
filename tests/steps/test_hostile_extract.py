"""The hostile corpus of the extract step: whatever a file or folder in the group does, it becomes one error
record with a clear code and a message naming the field and value at fault, the group goes on, and the counts
reconcile (discovered = summarised + failed, each record once). Each case asserts its exact outcome."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from scripts.sample_data.records import digital_signals, write_record
from tests.paths import ROOT
from tests.steps.container import container_command
from tests.steps.extract_runs import Extract, ExtractRun


def good(folder: Path, name: str, n: int = 400) -> Path:
    return write_record(folder, name, "80", digital_signals("80", n, 2, len(name)))


def edited(folder: Path, name: str, old: str, new: str, line: int = 1) -> Path:
    """A good record whose header has ``old`` replaced by ``new`` on one line (0: the record line)."""
    header = good(folder, name)
    lines = header.read_text().splitlines()
    assert old in lines[line], (old, lines[line])
    lines[line] = lines[line].replace(old, new, 1)
    header.write_text("\n".join(lines) + "\n")
    return header


@dataclass(frozen=True)
class Case:
    build: Callable[[Path], object]  # writes the hostile thing into the record-set folder
    errors: dict[str, tuple[str, str]]  # record -> (error code, words its message holds)
    summarised: int = 1  # records summarised, with the good one every case has


def set_record_line(folder: Path, name: str, record_line: str) -> None:
    header = good(folder, name)
    lines = header.read_text().splitlines()
    header.write_text("\n".join([record_line, *lines[1:]]) + "\n")


def master(folder: Path, name: str, record_line: str, segments: list[tuple[str, int]]) -> None:
    body = "".join(f"{segment} {length}\n" for segment, length in segments)
    (folder / f"{name}.hea").write_text(f"{record_line}\n{body}")


def fifo_header(folder: Path) -> None:
    os.mkfifo(folder / "fifo_0002.hea")


def device_header(folder: Path) -> None:
    os.symlink("/dev/zero", folder / "dev_0002.hea")


def huge_header(folder: Path) -> None:
    with open(folder / "huge_0002.hea", "wb") as stream:
        stream.truncate(17 << 20)  # sparse: 17 MiB of zeros, over the 16 MiB cap


def fifo_signal_file(folder: Path) -> None:
    good(folder, "sfifo_0002").with_suffix(".dat").unlink()
    os.mkfifo(folder / "sfifo_0002.dat")


def folder_signal_file(folder: Path) -> None:
    good(folder, "sdir_0002").with_suffix(".dat").unlink()
    (folder / "sdir_0002.dat").mkdir()


def non_utf8_header_name(folder: Path) -> None:
    good(folder, "latin_0002")
    os.rename(folder / "latin_0002.hea", os.fsencode(folder) + b"/latin\xb5_0002.hea")


def line_breaking_name(folder: Path) -> None:
    good(folder, "sep_0002")
    os.rename(folder / "sep_0002.hea", folder / "sep\u2028\x85\x1c_0002.hea")


def no_length_offset_past_end(folder: Path) -> None:
    header = good(folder, "past_0002")
    lines = header.read_text().splitlines()
    lines[0] = "past_0002 2 125"  # no signal length: it comes from the file's size
    lines[1] = lines[1].replace(" 80 ", " 80+1000 ")
    lines[2] = lines[2].replace(" 80 ", " 80+1000 ")
    header.write_text("\n".join(lines) + "\n")


def same_record_twice(folder: Path) -> None:
    header = good(folder, "twin_0002")
    (folder / "twin_0003.hea").write_text(header.read_text())  # names record twin_0002 too


def symlinked_record_set(group: Path) -> None:
    elsewhere = group.parent / "elsewhere" / "3300009"
    good(elsewhere, "linked_0001")
    os.symlink(elsewhere, group / "3300009")


def link_loop(folder: Path) -> None:
    os.symlink("..", folder / "loop")


CASES: dict[str, Case] = {
    "fs is a dot": Case(
        lambda f: edited(f, "fsdot_0002", " 125 ", " . ", 0),
        {"fsdot_0002": ("header_unparsable", "sampling frequency (fs) '.' is not a number")},
    ),
    "fs is 0": Case(
        lambda f: edited(f, "fs0_0002", " 125 ", " 0 ", 0),
        {"fs0_0002": ("header_invalid", "sampling frequency (fs) '0' is not a positive number")},
    ),
    "fs past a double": Case(
        lambda f: edited(f, "fsinf_0002", " 125 ", " " + "9" * 400 + " ", 0),
        {"fsinf_0002": ("header_invalid", "sampling frequency (fs) '999")},
    ),
    "baseline is a dash": Case(
        lambda f: edited(f, "base_0002", "(-3)", "(-)"),
        {"base_0002": ("header_unparsable", "signal line 1: baseline (baseline) '-' is not a whole number")},
    ),
    "ADC zero is a dash": Case(
        lambda f: edited(f, "zero_0002", " 8 0 -128 ", " 8 - -128 "),
        {"zero_0002": ("header_unparsable", "ADC zero (adc_zero) '-' is not a whole number")},
    ),
    "initial value is a dash": Case(
        lambda f: edited(f, "init_0002", " 8 0 -128 ", " 8 0 - "),
        {"init_0002": ("header_unparsable", "initial value (init_value) '-' is not a whole number")},
    ),
    "checksum is a dash": Case(
        lambda f: edited(f, "sum_0002", " -128 309 ", " -128 - "),
        {"sum_0002": ("header_unparsable", "checksum (checksum) '-' is not a whole number")},
    ),
    "ADC gain past a double": Case(
        lambda f: edited(f, "gain_0002", "100.0(", "1e999("),
        {"gain_0002": ("header_invalid", "ADC gain (adc_gain) '1e999' is not a finite number")},
    ),
    "ADC gain is a dot": Case(
        lambda f: edited(f, "gdot_0002", "100.0(", ".("),
        {"gdot_0002": ("header_unparsable", "ADC gain (adc_gain) '.' is not a number")},
    ),
    "a date the calendar lacks": Case(
        lambda f: set_record_line(f, "feb_0002", "feb_0002 2 125 400 10:00:00 31/02/2150"),
        {"feb_0002": ("header_unparsable", "base date (base_date) '31/02/2150' is not a valid date")},
    ),
    "an hour the clock lacks": Case(
        lambda f: set_record_line(f, "hour_0002", "hour_0002 2 125 400 25:00:00 01/02/2150"),
        {"hour_0002": ("header_unparsable", "base time (base_time) '25:00:00' is not a valid time of day")},
    ),
    "a record that ends past the calendar": Case(
        lambda f: set_record_line(f, "end_0002", "end_0002 2 125 400 23:59:59.9999 31/12/9999"),
        {},  # its own date and time are valid: it is summarised
        summarised=2,
    ),
    "a master whose segments end past the calendar": Case(
        lambda f: master(f, "s_end", "s_end/1 2 0.001 2000 23:00:00 31/12/9999", [("ok_0001", 400)]),
        {"s_end": ("header_invalid", "reach past the calendar's last day")},
    ),
    "a master at frequency 0": Case(
        lambda f: master(f, "s_zero", "s_zero/1 2 0 400 10:00:00 01/02/2150", [("ok_0001", 400)]),
        {"s_zero": ("header_invalid", "sampling frequency (fs) '0'")},
    ),
    "a master listing no segments": Case(
        lambda f: (f / "s_none.hea").write_text("s_none/2 2 125 800\n"),
        {"s_none": ("header_unparsable", "lists no segments")},
    ),
    "a master listing the same missing segment twice": Case(
        lambda f: master(
            f, "s_twice", "s_twice/3 2 125 1200", [("ok_0001", 400), ("gone_0002", 400), ("gone_0002", 400)]
        ),
        {"gone_0002": ("missing_segment", "segment gone_0002 listed by master header s_twice.hea")},
    ),
    "two headers naming one record": Case(
        same_record_twice,
        {"twin_0003": ("record_name_mismatch", "header twin_0003.hea names record 'twin_0002'")},
        summarised=2,
    ),
    "no length and an offset past the file's end": Case(
        no_length_offset_past_end,
        {"past_0002": ("truncated_signal", "no samples after its byte offset 1000")},
    ),
    "a length no file holds": Case(
        lambda f: edited(f, "long_0002", " 400", " 1000000000000000", 0),
        {"long_0002": ("truncated_signal", "the file is truncated")},
    ),
    "more signals declared than lines": Case(
        lambda f: edited(f, "many_0002", " 2 ", " 1000000000000 ", 0),
        {"many_0002": ("header_unparsable", "declares 1000000000000 signals but 2 signal lines follow")},
    ),
    "a header that is a FIFO": Case(
        fifo_header, {"fifo_0002": ("unreadable_file", "fifo_0002.hea is not a regular file but a FIFO")}
    ),
    "a header that is a device": Case(
        device_header, {"dev_0002": ("unreadable_file", "is not a regular file but a character device")}
    ),
    "a header larger than any header": Case(
        huge_header, {"huge_0002": ("header_too_large", "holds 17825792 bytes, more than a header's")}
    ),
    "a header of NUL bytes": Case(
        lambda f: (f / "nul_0002.hea").write_bytes(b"\x00" * 100),
        {"nul_0002": ("header_unparsable", "record line is not WFDB syntax")},
    ),
    "a signal file that is a FIFO": Case(
        fifo_signal_file,
        {"sfifo_0002": ("unreadable_file", "not a regular file")},
    ),
    "a signal file that is a folder": Case(
        folder_signal_file,
        {"sdir_0002": ("unreadable_file", "not a regular file")},
    ),
    "a header file name that is not UTF-8": Case(
        non_utf8_header_name,
        {"latin\\xb5_0002": ("record_name_mismatch", "header latin\\xb5_0002.hea names record 'latin_0002'")},
    ),
    "a header file name with line separators": Case(
        line_breaking_name,
        {"sep\\u2028\\x85\\x1c_0002": ("record_name_mismatch", "names record 'sep_0002'")},
    ),
}


@pytest.fixture
def hostile_group(tmp_path: Path) -> Callable[[Callable[[Path], object]], Path]:
    def make(build: Callable[[Path], object]) -> Path:
        group = tmp_path / "33"
        folder = group / "3300001"
        good(folder, "ok_0001")
        build(folder)
        return group

    return make


def assert_reconciled(run: ExtractRun) -> None:
    summary = run.summary
    assert summary["records_discovered"] == summary["records_summarised"] + summary["records_failed"]
    assert summary["records_failed"] == len({error["path"] for error in run.errors}) == len(run.errors)
    text = (run.output_dir / "errors.jsonl").read_text(encoding="utf-8")
    assert text.isascii()  # escaped: no character of a name can break a line for any reader
    assert text.splitlines() == text.split("\n")[:-1]
    assert set(run.features.groupby(["record_set", "record"]).size()) <= {2}  # each record once


@pytest.mark.parametrize("name", list(CASES))
def test_each_hostile_case_is_one_error_record_and_the_group_goes_on(
    name: str, hostile_group: Callable[[Callable[[Path], object]], Path], extract: Extract
) -> None:
    case = CASES[name]
    run = extract(hostile_group(case.build), group="33")
    assert run.exit_code == 0, run.stderr
    assert {error["record"]: error["error"] for error in run.errors} == {
        record: code for record, (code, _) in case.errors.items()
    }
    for error in run.errors:
        words = case.errors[error["record"]][1]
        assert words in error["message"], error["message"]
        assert error["group"] == "33" and error["path"].startswith("3300001/")
    assert run.summary["records_summarised"] == case.summarised
    assert "ok_0001" in set(run.features["record"])
    assert_reconciled(run)


def test_a_record_that_ends_past_the_calendar_keeps_its_own_start(
    hostile_group: Callable[[Callable[[Path], object]], Path], extract: Extract
) -> None:
    build = CASES["a record that ends past the calendar"].build
    features = extract(hostile_group(build), group="33").features
    assert set(features[features.record == "end_0002"].start_time) == {
        pd.Timestamp("9999-12-31T23:59:59.999")
    }


def test_no_length_never_gives_negative_samples(tmp_path: Path, extract: Extract) -> None:
    no_length_offset_past_end(tmp_path / "33" / "3300001")
    run = extract(tmp_path / "33", group="33")
    assert run.features.empty and run.summary["records_failed"] == 1


def test_a_symlinked_record_set_is_read_under_its_own_name(
    hostile_group: Callable[[Callable[[Path], object]], Path], extract: Extract
) -> None:
    group = hostile_group(lambda folder: symlinked_record_set(folder.parent))
    run = extract(group, group="33")
    assert run.errors == []
    assert set(zip(run.features.record_set, run.features.record, strict=True)) == {
        ("3300001", "ok_0001"),
        ("3300009", "linked_0001"),
    }
    assert_reconciled(run)


def test_a_link_back_to_a_folder_already_read_is_reported_once(
    hostile_group: Callable[[Callable[[Path], object]], Path], extract: Extract
) -> None:
    run = extract(hostile_group(link_loop), group="33")
    assert [(e["path"], e["error"]) for e in run.errors] == [("3300001/loop/", "folder_seen_twice")]
    assert "(a link to ..) is folder ., already read" in run.errors[0]["message"]
    assert run.summary["records_summarised"] == 1
    assert_reconciled(run)


def test_two_links_to_one_record_set_count_it_once(tmp_path: Path, extract: Extract) -> None:
    group = tmp_path / "33"
    good(tmp_path / "real" / "3300001", "ok_0001")
    group.mkdir()
    os.symlink(tmp_path / "real" / "3300001", group / "a")
    os.symlink(tmp_path / "real" / "3300001", group / "b")
    run = extract(group, group="33")
    assert [(e["path"], e["error"]) for e in run.errors] == [("b/", "folder_seen_twice")]
    assert list(run.features.record_set.unique()) == ["a"]
    assert_reconciled(run)


def test_a_folder_that_cannot_be_listed_is_reported_and_the_rest_goes_on(
    hostile_group: Callable[[Callable[[Path], object]], Path],
    extract: Extract,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    group = hostile_group(lambda folder: good(folder.parent / "3300002", "hidden_0001"))
    # Permissions do not stop root, who runs the tests here: the listing fails as a lost mount would.
    real_scandir = os.scandir

    def scandir(path: Path | int) -> object:
        if not isinstance(path, int) and Path(path).name == "3300002":
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr("steps.extract.discovery.os.scandir", scandir)
    run = extract(group, group="33")
    assert run.exit_code == 0
    assert [(e["path"], e["error"], e["message"]) for e in run.errors] == [
        ("3300002/", "unreadable_folder", "folder cannot be listed: Permission denied")
    ]
    assert run.summary["records_summarised"] == 1
    assert_reconciled(run)


def test_whatever_escapes_a_header_fails_that_record_only(
    hostile_group: Callable[[Callable[[Path], object]], Path],
    extract: Extract,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from steps.extract import discovery

    group = hostile_group(lambda folder: good(folder, "boom_0002"))
    real = discovery.read_header

    def read_header(path: Path) -> object:
        if path.name == "boom_0002.hea":
            raise KeyError("surprise")
        return real(path)

    monkeypatch.setattr(discovery, "read_header", read_header)
    run = extract(group, group="33")
    assert [(e["record"], e["error"], e["message"]) for e in run.errors] == [
        ("boom_0002", "unexpected_error", "KeyError: 'surprise'")
    ]
    assert_reconciled(run)


def test_folder_and_group_names_that_are_not_utf8_are_escaped(tmp_path: Path, extract: Extract) -> None:
    group = Path(os.fsdecode(os.fsencode(tmp_path) + b"/g\xff"))
    good(Path(os.fsdecode(os.fsencode(group) + b"/set\xfe")), "ok_0001")
    run = extract(group, "--group", os.fsdecode(b"g\xff"))
    assert run.exit_code == 0, run.stderr
    assert list(run.features.record_set) == ["set\\xfe", "set\\xfe"]
    assert set(run.features.patient_group) == {"g\\xff"}


@pytest.mark.parametrize("where", ["same", "inside"])
def test_an_output_folder_inside_the_input_folder_is_refused(
    tmp_path: Path, where: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from steps.extract import command

    group = tmp_path / "33"
    good(group / "3300001", "ok_0001")
    output = group if where == "same" else group / "3300001" / "out"
    code = command.main(["--input-dir", str(group), "--output-dir", str(output)])
    assert code == 2
    assert capsys.readouterr().err.splitlines() == [
        f"error: output folder {output} is inside the input folder {group}: choose one outside it"
    ]
    assert sorted(p.name for p in (group / "3300001").iterdir()) == ["ok_0001.dat", "ok_0001.hea"]


def test_an_output_folder_that_cannot_be_written_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from steps.extract import command

    good(tmp_path / "33" / "3300001", "ok_0001")
    (tmp_path / "out").write_text("a file where the folder should be")
    code = command.main(["--input-dir", str(tmp_path / "33"), "--output-dir", str(tmp_path / "out")])
    assert code == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"error: cannot write the outputs to {tmp_path / 'out'}: ")


def test_leftovers_of_a_killed_run_go_and_nothing_else(tmp_path: Path, extract: Extract) -> None:
    good(tmp_path / "33" / "3300001", "ok_0001")
    first = extract(tmp_path / "33", group="33")
    ours = first.output_dir / ".features.parquet.abcd_123.partial"
    theirs = first.output_dir / "notes.txt"
    ours.write_bytes(b"PAR1 half")
    theirs.write_text("mine")
    from steps.extract import command

    command.main(["--input-dir", str(tmp_path / "33"), "--output-dir", str(first.output_dir)])
    assert sorted(p.name for p in first.output_dir.iterdir()) == [
        "errors.jsonl",
        "features.parquet",
        "notes.txt",
        "summary.json",
        "windows.parquet",
    ]


def folders(tmp_path: Path) -> list[str]:
    return ["--input-dir", str(tmp_path / "33"), "--output-dir", str(tmp_path / "o")]


def test_the_fifo_header_does_not_hang_the_step_process(tmp_path: Path) -> None:
    good(tmp_path / "33" / "3300001", "ok_0001")
    fifo_header(tmp_path / "33" / "3300001")
    result = subprocess.run(
        [
            *container_command("extract"),
            "--input-dir",
            str(tmp_path / "33"),
            "--output-dir",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,  # the old code waited for a writer forever
        check=False,
    )
    assert result.returncode == 0, result.stderr
    errors = [json.loads(line) for line in (tmp_path / "o" / "errors.jsonl").read_text().splitlines()]
    assert [e["error"] for e in errors] == ["unreadable_file"]


def _children(pid: int) -> set[int]:
    children = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                children.add(int(entry.name))
    return children


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_workers_do_not_outlive_a_killed_step(tmp_path: Path) -> None:
    for index in range(12):  # enough work that the workers are busy when the step is killed
        write_record(
            tmp_path / "33" / f"33000{index:02d}",
            f"big_{index:04d}",
            "16",
            digital_signals("16", 1_500_000, 2, 0),
        )
    step = subprocess.Popen(
        [*container_command("extract"), *folders(tmp_path), "--workers", "2"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    workers: set[int] = set()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(workers) < 2 and step.poll() is None:
        workers = {
            pid
            for pid in _children(step.pid)
            if b"popen_loky_posix" in (Path("/proc") / str(pid) / "cmdline").read_bytes()
        }
        time.sleep(0.05)
    assert len(workers) == 2, "the step finished before its workers could be seen"
    step.send_signal(signal.SIGKILL)
    step.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(_alive(pid) for pid in workers):
        time.sleep(0.1)
    survivors = [pid for pid in workers if _alive(pid)]
    for pid in survivors:
        os.kill(pid, signal.SIGKILL)
    assert survivors == []
    assert not (tmp_path / "o" / "summary.json").exists()
    assert sys.platform.startswith("linux")
