"""A record that could not be summarised, as one line of ``errors.jsonl`` reports it."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, fields

# Characters that would end or break a line for some reader: line and paragraph separators, C0/C1 controls.
_LINE_BREAKING = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text: str) -> str:
    """``text`` as valid UTF-8 on one line: a file name's bytes that are not UTF-8 (which Python carries as
    lone surrogates) as ``\\xNN``, and control and line-breaking characters as escapes."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            text = os.fsencode(text).decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:  # a lone surrogate that no file name produced
            text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return _LINE_BREAKING.sub(lambda match: match.group().encode("unicode_escape").decode("ascii"), text)


@dataclass(frozen=True)
class RecordFailure:
    """One line of ``errors.jsonl``: the group, the header's path in the group folder, the record, a stable
    error code and a one-line message. Every field is made printable (:func:`printable`) here, the one place
    every failure passes through."""

    group: str
    path: str
    record: str
    error: str
    message: str

    def __post_init__(self) -> None:
        for field in fields(self):
            object.__setattr__(self, field.name, printable(getattr(self, field.name)))


ERROR_FIELDS = tuple(field.name for field in fields(RecordFailure))
