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


class HeaderInvalidError(RecordError):
    """Parses, but holds a value no record can have (a sampling frequency of 0, a date past the calendar)."""

    code = "header_invalid"


class HeaderTooLargeError(RecordError):
    code = "header_too_large"


class RecordNameMismatchError(RecordError):
    """The header's record line names another record than its file name: WFDB finds record R in R.hea."""

    code = "record_name_mismatch"


class UnreadableFolderError(RecordError):
    code = "unreadable_folder"


class FolderSeenTwiceError(RecordError):
    """A folder reached a second time through a symbolic link: its records are summarised once."""

    code = "folder_seen_twice"


class UnexpectedError(RecordError):
    """Anything else a record's files do to the code that reads them: reported, and the group goes on."""

    code = "unexpected_error"


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


class MalformedCsvError(RecordError):
    """A numerics CSV (MIMIC-IV's ``<record>n.csv.gz``) that is not gzip, has no time column, ragged rows,
    or a value that is not a finite number."""

    code = "malformed_csv"


class EmptyGroupError(RecordError):
    code = "empty_group"


def record_failure(group: str, path: str, record: str, exc: Exception) -> RecordFailure:
    """The ``errors.jsonl`` line that reports ``exc``: a :class:`RecordError` with its code, anything else
    as ``unexpected_error`` with its type."""
    if isinstance(exc, RecordError):
        return RecordFailure(group, path, record, exc.code, str(exc))
    return RecordFailure(group, path, record, UnexpectedError.code, f"{type(exc).__name__}: {exc}")


class InputFolderError(Exception):
    """The group's input folder itself is missing or not a folder, or the output folder lies inside it: the
    step cannot run at all."""

    exit_code = 2


class OutputWriteError(Exception):
    """The outputs cannot be written (no space, no permission): nothing was replaced."""

    exit_code = 1
