"""WFDB's header grammar and signal-format tables, as wfdb 4.3 (the version the container pins) defines them.

Why copied rather than imported: importing any part of wfdb imports all of it (pandas, fsspec, its plotting),
~0.7 s of a step's start-up, while the step needs wfdb's reader only for the bit-packed and FLAC formats; and
wfdb keeps the format tables in a private module (``wfdb.io._signal``). ``tests/steps/test_wfdb_spec.py``
checks that every pattern, table and function here is wfdb's own, so a wfdb upgrade that changes one fails
the tests instead of changing what we accept.
"""

from __future__ import annotations

import datetime
import re

# Record line:
# RECORD_NAME/NUM_SEG NUM_SIG SAMP_FREQ/COUNT_FREQ(BASE_COUNT_VAL) SAMPS_PER_SIG BASE_TIME BASE_DATE
RECORD_LINE = re.compile(
    r"""
    [ \t]* (?P<record_name>[-\w]+)
           /?(?P<n_seg>\d*)
    [ \t]+ (?P<n_sig>\d+)
    [ \t]* (?P<fs>\d*\.?\d*)
           /*(?P<counter_freq>-?\d*\.?\d*)
           \(?(?P<base_counter>-?\d*\.?\d*)\)?
    [ \t]* (?P<sig_len>\d*)
    [ \t]* (?P<base_time>\d{,2}:?\d{,2}:?\d{,2}\.?\d{,6})
    [ \t]* (?P<base_date>\d{,2}/?\d{,2}/?\d{,4})
    """,
    re.VERBOSE,
)

# Signal line: FILE_NAME FORMATxSAMP_PER_FRAME:SKEW+BYTE_OFFSET ADC_GAIN(BASELINE)/UNITS ADC_RES ADC_ZERO
# INIT_VALUE CHECKSUM BLOCK_SIZE DESCRIPTION
SIGNAL_LINE = re.compile(
    r"""
    [ \t]* (?P<file_name>~?[-\w]*\.?[\w]*)
    [ \t]+ (?P<fmt>\d+)
           x?(?P<samps_per_frame>\d*)
           :?(?P<skew>\d*)
           \+?(?P<byte_offset>\d*)
    [ \t]* (?P<adc_gain>-?\d*\.?\d*e?[\+-]?\d*)
           \(?(?P<baseline>-?\d*)\)?
           /?(?P<units>[\w\^\-\?%\/]*)
    [ \t]* (?P<adc_res>\d*)
    [ \t]* (?P<adc_zero>-?\d*)
    [ \t]* (?P<init_value>-?\d*)
    [ \t]* (?P<checksum>-?\d*)
    [ \t]* (?P<block_size>\d*)
    [ \t]* (?P<sig_name>[\S]?[^\t\n\r\f\v]*)
    """,
    re.VERBOSE,
)

# Segment line of a multi-segment header: SEGMENT_NAME SAMPS_PER_SIG
SEGMENT_LINE = re.compile(
    r"""
    [ \t]* (?P<seg_name>[-\w]*~?)
    [ \t]+ (?P<seg_len>\d+)
    """,
    re.VERBOSE,
)


def header_lines(text: str) -> list[str]:
    """The header's non-empty, non-comment lines, stripped (wfdb's ``parse_header_content``)."""
    lines = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def parse_base_time(text: str) -> datetime.time:
    """A WFDB base time: ``SS``, ``MM:SS`` or ``HH:MM:SS``, each with optional fraction (wfdb's
    ``wfdb_strptime``)."""
    layout = {0: "%S", 1: "%M:%S", 2: "%H:%M:%S"}.get(text.count(":"))
    if layout is None:
        raise ValueError(f"time data {text!r} has more than two colons")
    if "." in text:
        layout += ".%f"
    return datetime.datetime.strptime(text, layout).time()


# Bytes a sample takes in each format (0 for the FLAC formats, whose size varies).
BYTES_PER_SAMPLE: dict[str, float] = {
    "8": 1, "16": 2, "24": 3, "32": 4, "61": 2, "80": 1, "160": 2, "212": 1.5, "310": 4 / 3.0,
    "311": 4 / 3.0, "508": 0, "516": 0, "524": 0,
}  # fmt: skip

# Bits of resolution of each format.
BIT_RES: dict[str, int] = {
    "8": 8, "16": 16, "24": 24, "32": 32, "61": 16, "80": 8, "160": 16, "212": 12, "310": 10, "311": 10,
    "508": 8, "516": 16, "524": 24,
}  # fmt: skip

# Lowest and highest digital value of each format (format 8 stores differences of 32-bit values).
SAMPLE_VALUE_RANGE: dict[str, tuple[int, int]] = {
    "80": (-(2**7), 2**7 - 1),
    "508": (-(2**7), 2**7 - 1),
    "310": (-(2**9), 2**9 - 1),
    "311": (-(2**9), 2**9 - 1),
    "212": (-(2**11), 2**11 - 1),
    "16": (-(2**15), 2**15 - 1),
    "61": (-(2**15), 2**15 - 1),
    "160": (-(2**15), 2**15 - 1),
    "516": (-(2**15), 2**15 - 1),
    "24": (-(2**23), 2**23 - 1),
    "524": (-(2**23), 2**23 - 1),
    "32": (-(2**31), 2**31 - 1),
    "8": (-(2**31), 2**31 - 1),
}

# The digital value that marks a missing sample in each format (format 8 has none).
INVALID_SAMPLE_VALUE: dict[str, int | None] = {
    fmt: (None if fmt == "8" else low) for fmt, (low, _high) in SAMPLE_VALUE_RANGE.items()
}
