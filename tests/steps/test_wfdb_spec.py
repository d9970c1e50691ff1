"""``steps.extract.wfdb_spec`` is wfdb's own header grammar and format tables, copied so that a step need not
import wfdb: every pattern, table and function here is checked against wfdb's."""

from __future__ import annotations

import datetime as dt

import pytest
from wfdb.io import _signal as wfdb_signal  # the library's private tables: what the copy must equal
from wfdb.io import header as wfdb_header

from steps.extract import wfdb_spec


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (wfdb_spec.RECORD_LINE, wfdb_header.rx_record),
        (wfdb_spec.SIGNAL_LINE, wfdb_header.rx_signal),
        (wfdb_spec.SEGMENT_LINE, wfdb_header.rx_segment),
    ],
)
def test_the_header_grammar_is_wfdbs(ours: object, theirs: object) -> None:
    assert ours == theirs  # re.Pattern compares pattern and flags


@pytest.mark.parametrize(
    "table", ["BYTES_PER_SAMPLE", "BIT_RES", "SAMPLE_VALUE_RANGE", "INVALID_SAMPLE_VALUE"]
)
def test_the_format_tables_are_wfdbs(table: str) -> None:
    assert getattr(wfdb_spec, table) == getattr(wfdb_signal, table)


@pytest.mark.parametrize(
    "text",
    [
        "# comment\n3000003_0003 2 125 100\n\n  3000003_0003.dat 80 80/mV 8 0 -128 0 0 II  \n#x\n",
        "rec 1\r\nrec.dat 16\r\n",
        "\n\n",
        "  # only a comment",
    ],
)
def test_header_lines_are_wfdbs(text: str) -> None:
    assert wfdb_spec.header_lines(text) == wfdb_header.parse_header_content(text)[0]


@pytest.mark.parametrize("text", ["5", "07", "59.5", "10:44", "10:44:18", "10:44:18.529", "23:59:59.999999"])
def test_base_times_parse_as_wfdb_parses_them(text: str) -> None:
    assert wfdb_spec.parse_base_time(text) == wfdb_header.wfdb_strptime(text)


@pytest.mark.parametrize("text", ["25:00:00", "10:61", "x"])
def test_bad_base_times_fail_as_in_wfdb(text: str) -> None:
    with pytest.raises(ValueError):
        wfdb_header.wfdb_strptime(text)
    with pytest.raises(ValueError):
        wfdb_spec.parse_base_time(text)


def test_a_time_of_day_is_what_it_says() -> None:
    assert wfdb_spec.parse_base_time("10:44:18.529") == dt.time(10, 44, 18, 529000)
