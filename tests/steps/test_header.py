"""The fast header parser agrees with wfdb.rdheader, and says clearly what is wrong with a bad header."""

from __future__ import annotations

from pathlib import Path

import pytest
import wfdb

from scripts.sample_data.records import (
    ALL_FORMATS,
    RAW_FORMATS,
    digital_signals,
    write_raw_record,
    write_record,
)
from steps.extract.errors import EmptyFileError, HeaderEncodingError, HeaderUnparsableError
from steps.extract.header import MultiSegmentHeader, RecordHeader, read_header


def generated_headers(folder: Path) -> list[Path]:
    headers = []
    for fmt in ALL_FORMATS:
        if fmt in RAW_FORMATS:
            headers.append(write_raw_record(folder, f"h{fmt}", fmt, 10, 2, 0))
        else:
            headers.append(write_record(folder, f"h{fmt}", fmt, digital_signals(fmt, 10, 2, 0)))
    odd = folder / "odd.hea"  # defaults: no fs, no gain, baseline from ADC zero, no units, no description
    odd.write_text("odd 2\nodd.dat 16\nodd.dat 16 0 12 5\n# a comment\n")
    headers.append(odd)
    return headers


def test_parser_matches_wfdb_on_real_and_generated_headers(real_data: Path, tmp_path: Path) -> None:
    headers = sorted(real_data.rglob("*.hea")) + generated_headers(tmp_path)
    assert len(headers) > 30
    for path in headers:
        ours = read_header(path)
        theirs = wfdb.rdheader(str(path.with_suffix("")))
        where = path.name
        assert ours.name == theirs.record_name, where
        assert ours.n_sig == theirs.n_sig, where
        assert ours.fs == theirs.fs, where
        assert ours.sig_len == theirs.sig_len, where
        assert ours.base_time == theirs.base_time, where
        assert ours.base_date == theirs.base_date, where
        if isinstance(ours, MultiSegmentHeader):
            assert [s for s, _ in ours.segments] == theirs.seg_name, where
            assert [n for _, n in ours.segments] == theirs.seg_len, where
            continue
        assert isinstance(ours, RecordHeader)
        for spec in ours.signals:
            i = spec.index
            assert spec.file_name == theirs.file_name[i], where
            assert spec.fmt == theirs.fmt[i], where
            assert spec.adc_gain == theirs.adc_gain[i], where
            assert spec.baseline == theirs.baseline[i], where
            assert spec.units == theirs.units[i], where
            assert spec.name == (theirs.sig_name[i] or ""), where
            assert spec.samps_per_frame == theirs.samps_per_frame[i], where
            assert spec.init_value == theirs.init_value[i], where


def test_master_and_numerics_headers_of_the_real_record_set(real_data: Path) -> None:
    folder = real_data / "32" / "3234460"
    master = read_header(folder / "s25047-2704-05-04-10-44.hea")
    assert isinstance(master, MultiSegmentHeader)
    assert master.segments[0] == ("3234460_layout", 0)
    assert master.segments[1] == ("~", 25740)
    numerics = read_header(folder / "s25047-2704-05-04-10-44n.hea")
    assert isinstance(numerics, RecordHeader)
    assert {s.file_name for s in numerics.signals} == {"3234460n.dat"}
    assert numerics.fs == pytest.approx(1 / 60)


@pytest.mark.parametrize(
    ("content", "error", "words"),
    [
        (b"", EmptyFileError, "empty"),
        (b"rec 2 125 10\nrec.dat 80 100/mV \xff\xfeII\n", HeaderEncodingError, "not UTF-8"),
        (b"this is not a header\n", HeaderUnparsableError, "record line"),
        (b"rec 3 125 10\nrec.dat 80 100/mV II\n", HeaderUnparsableError, "declares 3 signals but 1"),
        (b"rec 1 125 10\n!!! 80\n", HeaderUnparsableError, "signal line 1"),
        (b"# only a comment\n", HeaderUnparsableError, "no record line"),
    ],
)
def test_bad_headers_raise_one_clear_error(tmp_path: Path, content: bytes, error: type, words: str) -> None:
    path = tmp_path / "rec.hea"
    path.write_bytes(content)
    with pytest.raises(error, match=words) as raised:
        read_header(path)
    assert "\n" not in str(raised.value)
