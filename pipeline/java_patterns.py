"""Java regular expressions of AWS service models, compiled to match in Python what Java's would match.

The models' ``pattern`` traits are Java regexes, matched by the services against the whole value. Python's
``regex`` module reads most of them alike; the differences handled here: Java's predefined and POSIX classes
are ASCII-only, its ``.`` does not match line terminators, a surrogate pair in a class means a supplementary
code point, a quantifier after ``$`` is a no-op, ``-`` after a class escape is a literal, and class
intersections (``&&``), ``\\Q...\\E`` and a few property names are spelled otherwise.
"""

from __future__ import annotations

import functools

import regex

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
