"""Requests checked as the service checks them: every rule of botocore's service model, not only the few
(minimums, types, required members) that botocore's client checks before sending.

The models' patterns are Java regular expressions, matched against the whole value; ``model_pattern``
translates what Python's ``regex`` would read differently.
"""

from __future__ import annotations

import datetime
import functools
import threading
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any

import botocore.session
import regex
from botocore.model import ListShape, MapShape, ServiceModel, Shape, StructureShape
from botocore.utils import parse_timestamp

SHOWN_CHARACTERS = 80  # a value longer than this is cut in messages
SHOWN_PATTERN_CHARACTERS = 200
SHOWN_ENUM_VALUES = 8

_models: dict[str, ServiceModel] = {}
_models_lock = threading.Lock()  # the tests' moto server checks requests on several threads


def service_model(service: str) -> ServiceModel:
    """botocore's model of ``service`` (e.g. ``"sagemaker"``), loaded once."""
    with _models_lock:
        if service not in _models:
            _models[service] = _botocore_session().get_service_model(service)
        return _models[service]


@functools.cache
def _botocore_session() -> botocore.session.Session:
    return botocore.session.get_session()


def request_problems(service: str, operation: str, params: Mapping[str, Any]) -> list[str]:
    """Every way ``params`` (as botocore's client takes them) breaks the input shape of ``operation``.

    One line per problem, e.g. ``CreatePipeline: PipelineDescription: 4100 characters, at most 3072``.
    """
    shape = service_model(service).operation_model(operation).input_shape
    if shape is None:
        return [f"{operation}: {name}: not a member (the operation takes no parameters)" for name in params]
    return [f"{operation}: {problem}" for problem in _shape_problems(shape, params, "")]


# -- the rules, by shape type ----------------------------------------------------------------------------


def _shape_problems(shape: Shape, value: Any, path: str) -> Iterator[str]:
    check = _CHECKS.get(shape.type_name)
    if check is not None:  # a document (any JSON) has no rules
        yield from check(shape, value, path or "(request)")


def _structure_problems(shape: Shape, value: Any, path: str) -> Iterator[str]:
    assert isinstance(shape, StructureShape)
    if not isinstance(value, Mapping):
        yield _wrong_type(shape, value, path, "a structure")
        return
    prefix = "" if path == "(request)" else f"{path}."
    for name in shape.required_members:
        if name not in value:
            yield f"{prefix}{name}: required, missing"
    for name, member_value in value.items():
        if name in shape.members:
            yield from _shape_problems(shape.members[name], member_value, f"{prefix}{name}")
        else:
            yield f"{prefix}{name}: not a member of {shape.name}"
    if shape.is_tagged_union and len(value) != 1:
        yield f"{path}: a union takes exactly one member, got {len(value)}"


def _list_problems(shape: Shape, value: Any, path: str) -> Iterator[str]:
    assert isinstance(shape, ListShape)
    if not isinstance(value, list | tuple):
        yield _wrong_type(shape, value, path, "a list")
        return
    yield from _count_problems(shape, len(value), path)
    for index, item in enumerate(value):
        yield from _shape_problems(shape.member, item, f"{path}[{index}]")


def _map_problems(shape: Shape, value: Any, path: str) -> Iterator[str]:
    assert isinstance(shape, MapShape)
    if not isinstance(value, Mapping):
        yield _wrong_type(shape, value, path, "a map")
        return
    yield from _count_problems(shape, len(value), path)
    for key, item in value.items():
        entry = f"{path}[{_shown(key)}]"
        yield from _shape_problems(shape.key, key, f"{entry} (the key)")
        yield from _shape_problems(shape.value, item, entry)


def _count_problems(shape: Shape, count: int, path: str) -> Iterator[str]:
    least, most = shape.metadata.get("min"), shape.metadata.get("max")
    if least is not None and count < least:
        yield f"{path}: {count} entries, at least {least}"
    if most is not None and count > most:
        yield f"{path}: {count} entries, at most {most}"


def _string_problems(shape: Shape, value: Any, path: str) -> Iterator[str]:
    if not isinstance(value, str):
        yield _wrong_type(shape, value, path, "a string")
        return
    least, most = shape.metadata.get("min"), shape.metadata.get("max")
    if least is not None and len(value) < least:
        yield f"{path}: {len(value)} characters, at least {least}"
    if most is not None and len(value) > most:
        yield f"{path}: {len(value)} characters, at most {most}"
    pattern = shape.metadata.get("pattern")
    if pattern is not None and model_pattern(pattern).fullmatch(value) is None:
        shown_pattern = _cut(pattern, SHOWN_PATTERN_CHARACTERS)
        where = "" if shape.metadata.get("sensitive") else _mismatch(model_pattern(pattern), value)
        yield f"{path}: {_shown_value(shape, value)} does not match {shown_pattern}{where}"
    if shape.enum and value not in shape.enum:
        listed = ", ".join(shape.enum[:SHOWN_ENUM_VALUES])
        more = f", … ({len(shape.enum)} values)" if len(shape.enum) > SHOWN_ENUM_VALUES else ""
        yield f"{path}: {_shown_value(shape, value)} is not one of {listed}{more}"


def _number_problems(shape: Shape, value: Any, path: str) -> Iterator[str]:
    whole = shape.type_name in ("integer", "long")
    kinds: tuple[type, ...] = (int,) if whole else (int, float, Decimal)
    if isinstance(value, bool) or not isinstance(value, kinds):
        yield _wrong_type(shape, value, path, "an integer" if whole else "a number")
        return
    least, most = shape.metadata.get("min"), shape.metadata.get("max")
    if least is not None and value < least:
        yield f"{path}: {_shown_value(shape, value)}, at least {least}"
    if most is not None and value > most:
        yield f"{path}: {_shown_value(shape, value)}, at most {most}"


def _boolean_problems(shape: Shape, value: Any, path: str) -> Iterator[str]:
    if not isinstance(value, bool):
        yield _wrong_type(shape, value, path, "a boolean")


def _timestamp_problems(shape: Shape, value: Any, path: str) -> Iterator[str]:
    if isinstance(value, datetime.datetime | datetime.date):
        return
    if isinstance(value, int | float) and not isinstance(value, bool):
        return  # seconds since the epoch
    if isinstance(value, str):
        try:
            parse_timestamp(value)
        except ValueError:
            yield f"{path}: {_shown_value(shape, value)} is not a timestamp"
        return
    yield _wrong_type(shape, value, path, "a timestamp")


def _blob_problems(shape: Shape, value: Any, path: str) -> Iterator[str]:
    if isinstance(value, str):
        size = len(value.encode("utf-8"))
    elif isinstance(value, bytes | bytearray):
        size = len(value)
    elif hasattr(value, "read"):
        return  # a stream: its length is known only as it is sent
    else:
        yield _wrong_type(shape, value, path, "bytes or a file-like object")
        return
    least, most = shape.metadata.get("min"), shape.metadata.get("max")
    if least is not None and size < least:
        yield f"{path}: {size} bytes, at least {least}"
    if most is not None and size > most:
        yield f"{path}: {size} bytes, at most {most}"


_CHECKS: dict[str, Callable[[Shape, Any, str], Iterator[str]]] = {
    "structure": _structure_problems,
    "list": _list_problems,
    "map": _map_problems,
    "string": _string_problems,
    "integer": _number_problems,
    "long": _number_problems,
    "float": _number_problems,
    "double": _number_problems,
    "boolean": _boolean_problems,
    "timestamp": _timestamp_problems,
    "blob": _blob_problems,
}


def _mismatch(pattern: regex.Pattern[str], value: str) -> str:
    """Where ``value`` stops matching: messages cut a long value, and the culprit may lie past the cut."""
    # A prefix that could still grow into a match stays one when shortened: the longest is found by bisection.
    low, high = 0, len(value)
    while low < high:
        middle = (low + high + 1) // 2
        if pattern.fullmatch(value[:middle], partial=True) is not None:
            low = middle
        else:
            high = middle - 1
    if low == len(value):
        return " (it ends too soon)"
    return f" (at character {low + 1}: {value[low]!r})"


def _wrong_type(shape: Shape, value: Any, path: str, expected: str) -> str:
    return f"{path}: {type(value).__name__} {_shown_value(shape, value)}, expected {expected}"


def _shown_value(shape: Shape, value: Any) -> str:
    # Messages end up in logs: a value the model marks sensitive (a secret, a token) is never shown.
    return "(sensitive)" if shape.metadata.get("sensitive") else _shown(value)


def _shown(value: Any) -> str:
    return _cut(repr(value), SHOWN_CHARACTERS)


def _cut(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


# -- Java patterns, as Python's regex reads them --------------------------------------------------------

Ranges = tuple[tuple[int, int], ...]
LAST_CODE_POINT = 0x10FFFF

# Java's predefined and POSIX classes are US-ASCII only (without UNICODE_CHARACTER_CLASS, which AWS does not
# use); Python's are Unicode-wide.
_ASCII_CLASSES: dict[str, Ranges] = {
    "Lower": ((0x61, 0x7A),),
    "Upper": ((0x41, 0x5A),),
    "ASCII": ((0x00, 0x7F),),
    "Alpha": ((0x41, 0x5A), (0x61, 0x7A)),
    "Digit": ((0x30, 0x39),),
    "Alnum": ((0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)),
    "Punct": ((0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)),
    "Graph": ((0x21, 0x7E),),
    "Print": ((0x20, 0x7E),),
    "Blank": ((0x09, 0x09), (0x20, 0x20)),
    "Cntrl": ((0x00, 0x1F), (0x7F, 0x7F)),
    "XDigit": ((0x30, 0x39), (0x41, 0x46), (0x61, 0x66)),
    "Space": ((0x09, 0x0D), (0x20, 0x20)),
}
_PREDEFINED_CLASSES: dict[str, Ranges] = {
    "d": _ASCII_CLASSES["Digit"],
    "w": ((0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)),
    "s": _ASCII_CLASSES["Space"],
    "h": (
        (0x09, 0x09),
        (0x20, 0x20),
        (0xA0, 0xA0),
        (0x1680, 0x1680),
        (0x180E, 0x180E),
        (0x2000, 0x200A),
        (0x202F, 0x202F),
        (0x205F, 0x205F),
        (0x3000, 0x3000),
    ),
    "v": ((0x0A, 0x0D), (0x85, 0x85), (0x2028, 0x2029)),
}
# Java property names that Python's regex spells otherwise (Java's "Is" prefix is dropped besides).
_PROPERTY_NAMES: dict[str, tuple[str, ...]] = {
    "all": ("Any",),
    "LD": ("L", "Nd"),
    "Whitespace": ("White_Space",),
    "Letter": ("L",),
    "javaLowerCase": ("Lowercase",),
    "javaUpperCase": ("Uppercase",),
    "javaAlphabetic": ("Alphabetic",),
    "javaLetter": ("L",),
    "javaDigit": ("Nd",),
    "javaLetterOrDigit": ("L", "Nd"),
    "javaWhitespace": ("White_Space",),
    "javaMirrored": ("Bidi_Mirrored",),
}
_LINE_TERMINATORS = r"\n\r\u0085\u2028\u2029"  # what Java's "." does not match (Python's matches \r and more)
_QUANTIFIER = regex.compile(r"(?:[*+?]|\{\d+(?:,\d*)?\})[?+]?")
_INLINE_FLAGS = regex.compile(r"\(\?([a-zA-Z]*)(?:-[a-zA-Z]*)?[:)]")


@functools.cache
def model_pattern(pattern: str) -> regex.Pattern[str]:
    """``pattern`` from a service model (a Java regex), compiled to match what Java's would match."""
    translated = _JavaPattern(pattern)
    return regex.compile(translated.text, regex.VERSION1 if translated.nested_classes else regex.VERSION0)


class _JavaPattern:
    """One pass over a Java pattern, writing the Python ``regex`` equivalent into ``text``."""

    def __init__(self, pattern: str) -> None:
        self.source = pattern
        self.at = 0
        self.dot_all = False
        self.nested_classes = False  # Java's [a[b]] and [a&&[^b]]: regex reads them in its version 1 only
        self._after_set_escape = False  # the escape just read stands for a set of characters, like \s
        out: list[str] = []
        while self.at < len(pattern):
            out.append(self._outside_class())
        self.text = "".join(out)

    def _peek(self, ahead: int = 0) -> str:
        index = self.at + ahead
        return self.source[index] if index < len(self.source) else ""

    def _outside_class(self) -> str:
        char = self.source[self.at]
        if char == "\\":
            return self._escape(in_class=False)
        if char == "[":
            return self._char_class()
        self.at += 1
        if char == ".":
            return "." if self.dot_all else f"[^{_LINE_TERMINATORS}]"
        if char in "^$":
            # Java accepts a quantifier on an anchor (e.g. "(x*)${1,256}") and it changes nothing.
            quantifier = _QUANTIFIER.match(self.source, self.at)
            if quantifier is not None:
                self.at = quantifier.end()
            return char
        if char == "(":
            flags = _INLINE_FLAGS.match(self.source, self.at - 1)
            if flags is not None and "s" in flags.group(1):
                self.dot_all = True  # approximates a scoped (?s:...) as lasting to the end
        return char

    def _char_class(self) -> str:
        self.at += 1  # "["
        out = ["["]
        if self._peek() == "^":
            out.append("^")
            self.at += 1
        while self.at < len(self.source) and self._peek() != "]":
            char = self._peek()
            if char == "\\":
                out.append(self._escape(in_class=True))
                if self._after_set_escape and self._peek() == "-" and self._peek(1) != "]":
                    # Java reads "-" after a class escape ([\s-_]) as itself, not as a range.
                    out.append("\\-")
                    self.at += 1
            elif char == "[":
                self.nested_classes = True
                out.append(self._char_class())
            elif char == "&" and self._peek(1) == "&":
                self.nested_classes = True
                out.append("&&")
                self.at += 2
            else:
                out.append("\\" + char if char in "|~" and self._peek(1) == char else char)
                self.at += 1
        self.at += 1  # "]"
        out.append("]")
        return "".join(out)

    def _escape(self, in_class: bool) -> str:
        """The escape at ``self.at`` (a backslash), translated; sets ``_after_set_escape``."""
        self._after_set_escape = False
        letter = self._peek(1)
        self.at += 2
        if letter == "u":
            return _code_point_text(self._utf16_escape())
        if letter == "x":
            if self._peek() == "{":
                end = self.source.index("}", self.at)
                code = int(self.source[self.at + 1 : end], 16)
                self.at = end + 1
            else:
                code = int(self.source[self.at : self.at + 2], 16)
                self.at += 2
            return _code_point_text(code)
        if letter == "0":
            digits = regex.match(r"[0-7]{1,3}", self.source[self.at :])
            assert digits is not None, f"bad octal escape in {self.source!r}"
            self.at += len(digits.group())
            return _code_point_text(int(digits.group(), 8))
        if letter == "e":
            return _code_point_text(0x1B)
        if letter == "c":
            self.at += 1
            return _code_point_text(ord(self.source[self.at - 1]) ^ 0x40)
        if letter in "pP":
            self._after_set_escape = True
            return self._property(negated=letter == "P", in_class=in_class)
        if letter.lower() in _PREDEFINED_CLASSES:
            self._after_set_escape = True
            ranges = _PREDEFINED_CLASSES[letter.lower()]
            return _ranges_text(_complement(ranges) if letter.isupper() else ranges, in_class)
        if letter == "Q":
            end = self.source.find("\\E", self.at)
            end = len(self.source) if end < 0 else end
            quoted = self.source[self.at : end]
            self.at = end + 2
            return "".join(_code_point_text(ord(char)) for char in quoted)
        if not in_class:
            if letter == "z":
                return r"\Z"
            if letter == "Z":
                return rf"(?=(?:\r\n|[{_LINE_TERMINATORS}])?\Z)"
            if letter == "R":
                return rf"(?:\r\n|[\u000B\u000C{_LINE_TERMINATORS}])"
        return "\\" + letter

    def _utf16_escape(self) -> int:
        """The code point of ``\\uXXXX`` (just read): Java joins a surrogate pair written as two escapes."""
        code = int(self.source[self.at : self.at + 4], 16)
        self.at += 4
        low = regex.match(r"\\u(DC[0-9A-F]{2}|D[D-F][0-9A-F]{2})", self.source[self.at :], regex.IGNORECASE)
        if 0xD800 <= code <= 0xDBFF and low is not None:
            self.at += 6
            return 0x10000 + ((code - 0xD800) << 10) + (int(low.group(1), 16) - 0xDC00)
        return code

    def _property(self, negated: bool, in_class: bool) -> str:
        if self._peek() == "{":
            end = self.source.index("}", self.at)
            name = self.source[self.at + 1 : end]
            self.at = end + 1
        else:
            name = self._peek()
            self.at += 1
        bare = name[2:] if name.startswith("Is") and len(name) > 2 else name
        if bare in _ASCII_CLASSES:
            ranges = _ASCII_CLASSES[bare]
            return _ranges_text(_complement(ranges) if negated else ranges, in_class)
        names = _PROPERTY_NAMES.get(bare, (bare,))
        if len(names) == 1:
            return ("\\P" if negated else "\\p") + "{" + names[0] + "}"
        union = "".join("\\p{" + one + "}" for one in names)
        if not in_class:
            return f"[^{union}]" if negated else f"[{union}]"
        if negated:
            raise ValueError(f"cannot translate \\P{{{name}}} inside a character class: {self.source!r}")
        return union


def _complement(ranges: Ranges) -> Ranges:
    gaps: list[tuple[int, int]] = []
    start = 0
    for low, high in ranges:
        if low > start:
            gaps.append((start, low - 1))
        start = high + 1
    if start <= LAST_CODE_POINT:
        gaps.append((start, LAST_CODE_POINT))
    return tuple(gaps)


def _ranges_text(ranges: Ranges, in_class: bool) -> str:
    body = "".join(
        _code_point_text(low) if low == high else f"{_code_point_text(low)}-{_code_point_text(high)}"
        for low, high in ranges
    )
    return body if in_class else f"[{body}]"


def _code_point_text(code: int) -> str:
    return f"\\u{code:04X}" if code <= 0xFFFF else f"\\U{code:08X}"
