"""Property tests: generated header text, read by our parser and by wfdb's. Ours gives wfdb's verdict (the
same fields) or one of our error records, never an exception of another kind; it never accepts a header
wfdb refuses. And whatever headers a group holds, the extract step reports every record once."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import wfdb
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from steps.extract.errors import RecordError
from steps.extract.extraction import extract_group
from steps.extract.header import MultiSegmentHeader, RecordHeader, read_header

ASCII = st.characters(min_codepoint=0x20, max_codepoint=0x7E)


def token(pattern: str) -> st.SearchStrategy[str]:
    return st.from_regex(pattern, fullmatch=True)


# Fields as WFDB writes them, and the near misses a hostile or broken writer gives: lone signs, dots,
# exponents, out-of-range dates and times, huge numbers.
NUMBER = st.one_of(
    token(r"-?[0-9]{0,4}\.?[0-9]{0,3}"), token(r"[0-9]{300,320}"), st.sampled_from(["", ".", "-", "0"])
)
WHOLE = st.one_of(token(r"-?[0-9]{0,6}"), st.sampled_from(["", "-", "0", "99999999999999999999"]))
LENGTH = st.one_of(token(r"[0-9]{0,6}"), st.sampled_from(["", "0", "99999999999999999999"]))
TIME = st.one_of(
    token(r"[0-9]{0,2}:?[0-9]{0,2}:?[0-9]{0,2}\.?[0-9]{0,6}"), st.sampled_from(["", "23:59:59.999999"])
)
DATE = st.one_of(
    token(r"[0-9]{0,2}/?[0-9]{0,2}/?[0-9]{0,4}"), st.sampled_from(["", "29/02/2100", "31/12/9999"])
)
NAME = token(r"[A-Za-z0-9_-]{1,10}")


@st.composite
def record_line(draw: st.DrawFn, segments: bool, lines: int) -> str:
    parts = [draw(NAME) + (f"/{draw(token(r'[0-9]{0,3}'))}" if segments else "")]
    parts.append(draw(st.one_of(st.just(str(lines)), token(r"[0-9]{1,3}"))))
    fs = draw(NUMBER)
    if draw(st.booleans()):
        fs += f"/{draw(NUMBER)}"
        if draw(st.booleans()):
            fs += f"({draw(NUMBER)})"
    parts += [fs, draw(LENGTH), draw(TIME), draw(DATE)]
    cut = draw(st.integers(2, len(parts)))
    return " ".join(parts[:cut])


@st.composite
def signal_line(draw: st.DrawFn) -> str:
    fmt = draw(st.sampled_from(["80", "16", "212", "8", "24", "516", "999", "0"]))
    fmt += draw(st.sampled_from(["", "x1", "x2", "x", ":1", "+24", "+", "x1:0+0"]))
    gain = draw(st.one_of(NUMBER, token(r"-?[0-9]{1,3}(\.[0-9]{1,2})?e[+-]?[0-9]{1,3}"), st.just("e")))
    gain += draw(st.sampled_from(["", "(0)", "(-)", "(-12)", "(", "()"]))
    gain += draw(st.sampled_from(["", "/mV", "/", "/%", "/mmHg"]))
    rest = [draw(WHOLE) for _ in range(draw(st.integers(0, 5)))]
    description = draw(st.sampled_from(["", "II", "ABP", "V 1", "$x$"]))
    parts = [draw(st.sampled_from(["r.dat", "~", "a-b.dat", "x"])), fmt, gain, *rest, description]
    cut = draw(st.integers(2, len(parts)))
    return " ".join(part for part in parts[:cut])


@st.composite
def header_text(draw: st.DrawFn) -> str:
    segments = draw(st.booleans())
    count = draw(st.integers(0, 3))
    if segments:
        body = [f"{draw(token(r'[a-z0-9_~]{0,6}'))} {draw(LENGTH)}" for _ in range(count)]
    else:
        body = [draw(signal_line()) for _ in range(count)]
    lines = [draw(record_line(segments, count)), *body]
    if draw(st.booleans()):
        lines.insert(draw(st.integers(0, len(lines))), "# " + draw(st.text(ASCII, max_size=20)))
    if draw(st.integers(0, 3)) == 0:  # anything at all on one line
        lines[draw(st.integers(0, len(lines) - 1))] = draw(st.text(ASCII, max_size=40))
    return draw(st.sampled_from(["\n", "\r\n"])).join(lines) + "\n"


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as folder:
        yield Path(folder)


def wfdb_verdict(path: Path) -> wfdb.Record | wfdb.MultiRecord | Exception:
    try:
        return wfdb.rdheader(str(path.with_suffix("")))
    except Exception as exc:  # wfdb's refusals are of many kinds
        return exc


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=header_text())
def test_our_parser_gives_wfdbs_verdict_or_one_of_our_errors(scratch: Path, text: str) -> None:
    path = scratch / "rec.hea"
    path.write_text(text, encoding="ascii", newline="")
    try:
        ours = read_header(path)
    except RecordError as exc:
        assert str(exc) and "\n" not in str(exc)
        event(f"ours: {exc.code}")
        return  # one of our error records: always an allowed verdict
    theirs = wfdb_verdict(path)
    event("ours: accepted")
    assert not isinstance(theirs, Exception), f"we accept what wfdb refuses ({theirs!r}): {text!r}"
    assert ours.name == theirs.record_name
    assert ours.n_sig == theirs.n_sig
    assert ours.fs == theirs.fs
    assert ours.sig_len == theirs.sig_len
    assert ours.base_time == theirs.base_time
    assert ours.base_date == theirs.base_date
    if isinstance(ours, MultiSegmentHeader):
        assert [name for name, _ in ours.segments] == theirs.seg_name
        assert [length for _, length in ours.segments] == theirs.seg_len
        return
    assert isinstance(ours, RecordHeader)
    for spec in ours.signals:
        i = spec.index
        assert spec.file_name == theirs.file_name[i]
        assert spec.fmt == theirs.fmt[i]
        assert spec.adc_gain == theirs.adc_gain[i]
        assert spec.baseline == theirs.baseline[i]
        assert spec.units == theirs.units[i]
        assert spec.name == (theirs.sig_name[i] or "")
        assert spec.samps_per_frame == theirs.samps_per_frame[i]
        assert spec.init_value == theirs.init_value[i]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(header_text(), min_size=1, max_size=4))
def test_whatever_the_headers_say_every_record_is_reported_once(scratch: Path, texts: list[str]) -> None:
    run = Path(tempfile.mkdtemp(dir=scratch))
    folder = run / "group" / "3000001"
    folder.mkdir(parents=True)
    (folder / "r.dat").write_bytes(bytes(range(256)) * 4)
    for index, text in enumerate(texts):
        (folder / f"h{index}.hea").write_text(text, encoding="ascii", newline="")
    summary = extract_group(run / "group", run / "out", "30", workers=1)
    assert summary.headers_found == len(texts)  # every header read, as a record or as what else it is
    assert summary.records_discovered == summary.records_summarised + summary.records_failed
    assert len({failure.path for failure in summary.failures}) == len(summary.failures)
    assert all(failure.message and "\n" not in failure.message for failure in summary.failures)
