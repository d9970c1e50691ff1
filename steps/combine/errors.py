"""One exception family for a combine run that cannot complete; each is one clear line and an exit code."""

from __future__ import annotations


class CombineError(Exception):
    """The combine step cannot complete; nothing it would have written is left half-written locally."""

    exit_code = 1


class InputFolderError(CombineError):
    """The input folder is missing, not a folder, or holds no group folders: nothing to combine."""

    exit_code = 2


class GroupOutputError(CombineError):
    """A group's extract outputs are missing, unreadable, or not what the extract step writes."""

    def __init__(self, group: str, problem: str) -> None:
        super().__init__(f"group {group}: {problem}")
        self.group = group


class DatasetWriteError(CombineError):
    """The combined dataset could not be written (S3 or the Glue catalog refused it)."""
