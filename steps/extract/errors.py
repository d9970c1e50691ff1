"""The extract step's errors: one family for records that cannot be summarised, one for the step itself.

Each record error carries a stable ``code`` that lands in ``errors.jsonl``; the message is one clear line.
"""

from __future__ import annotations

from steps.contract.failure import RecordFailure


class RecordError(Exception):
    """A record (or header) that cannot be summarised; reported, never dropped."""

    code = "record_error"


class HeaderEncodingError(RecordError):
    code = "header_encoding"


class HeaderUnparsableError(RecordError):
    code = "header_unparsable"


class EmptyFileError(RecordError):
    code = "empty_file"


class MissingFileError(RecordError):
    code = "missing_file"


class UnreadableFileError(RecordError):
    code = "unreadable_file"


class TruncatedSignalError(RecordError):
    code = "truncated_signal"


class SignalCountMismatchError(RecordError):
    code = "signal_count_mismatch"


class UnsupportedFormatError(RecordError):
    code = "unsupported_format"


class CorruptSignalError(RecordError):
    code = "corrupt_signal"


class MissingSegmentError(RecordError):
    code = "missing_segment"


class EmptyGroupError(RecordError):
    code = "empty_group"


def record_failure(group: str, path: str, record: str, exc: RecordError) -> RecordFailure:
    """The ``errors.jsonl`` line that reports ``exc``."""
    return RecordFailure(group, path, record, exc.code, str(exc))


class InputFolderError(Exception):
    """The group's input folder itself is missing or not a folder: the step cannot run at all."""

    exit_code = 2
