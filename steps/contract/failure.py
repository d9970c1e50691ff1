"""A record that could not be summarised, as one line of ``errors.jsonl`` reports it."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class RecordFailure:
    """One line of ``errors.jsonl``: the group, the header's path in the group folder, the record, a stable
    error code and a one-line message."""

    group: str
    path: str
    record: str
    error: str
    message: str


ERROR_FIELDS = tuple(field.name for field in fields(RecordFailure))
