"""One exception family for a combine run that cannot complete; each is one clear line and an exit code."""

from __future__ import annotations

# What str.splitlines() breaks a line at: a message printed with any of these would not be one line.
_LINE_BREAKS = {ord(c): repr(c)[1:-1] for c in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"}


def one_line(text: str) -> str:
    """``text`` with every character that would break its line written as an escape (a path or a name read
    from a file may hold one)."""
    return text.translate(_LINE_BREAKS)


class CombineError(Exception):
    """The combine step cannot complete; nothing it would have written is left half-written locally."""

    exit_code = 1


class InputFolderError(CombineError):
    """The input folder is missing, not a folder, or holds no group folders: nothing to combine."""

    exit_code = 2


class OutputFolderError(CombineError):
    """The dataset or the reports would be written over something this step did not write (the groups'
    outputs, a folder that is not one of its datasets): refused before anything is read or written."""

    exit_code = 2


class GroupOutputError(CombineError):
    """A group's extract outputs are missing, unreadable, or not what the extract step writes."""

    def __init__(self, group: str, problem: str) -> None:
        super().__init__(f"group {group}: {problem}")
        self.group = group


class MissingDestinationError(CombineError):
    """There are windows, and nowhere given to write them (the dataset goes to a URI of its own)."""

    exit_code = 2


class MixedWindowsError(CombineError):
    """The groups' windows were cut with different lengths: one windows dataset cannot hold them."""


class DatasetWriteError(CombineError):
    """The combined dataset could not be written (S3 or the Glue catalog refused it)."""


class OutputWriteError(CombineError):
    """A local output (the dataset, a report) could not be written: a full disk, a folder not writable."""
