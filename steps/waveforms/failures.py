"""A record that could not be summarised, as one line of ``errors.jsonl`` reports it."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import RecordError


@dataclass(frozen=True)
class RecordFailure:
    """One line of ``errors.jsonl``."""

    group: str
    path: str
    record: str
    error: str
    message: str

    @classmethod
    def of(cls, group: str, path: str, record: str, exc: RecordError) -> RecordFailure:
        return cls(group, path, record, exc.code, str(exc))
