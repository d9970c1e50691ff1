"""One exception family for a combine run that cannot complete; each is one clear line at the CLI edge."""

from __future__ import annotations


class CombineError(Exception):
    """The combine step cannot complete; nothing it would have written is left half-written locally."""


class GroupOutputError(CombineError):
    """A group's extract outputs are missing, unreadable, or not what the extract step writes."""

    def __init__(self, group: str, problem: str) -> None:
        super().__init__(f"group {group}: {problem}")
        self.group = group


class DatasetWriteError(CombineError):
    """The combined dataset could not be written (S3 or the Glue catalog refused it)."""
