"""One exception family for records that cannot be summarised.

Each subclass carries a stable ``code`` that lands in ``errors.jsonl``; the message is one clear line.
"""

from __future__ import annotations


class RecordError(Exception):
    """A record (or header) that cannot be summarised; reported, never dropped."""

    code = "record_error"


class HeaderEncodingError(RecordError):
    code = "header_encoding"


class HeaderSyntaxError(RecordError):
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


class InputFolderError(Exception):
    """The group's input folder itself is missing or not a folder: the step cannot run at all."""
