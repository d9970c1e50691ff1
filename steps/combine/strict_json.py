"""Strict JSON for the files the extract step wrote: RFC 8259 only (no NaN or Infinity), no number out of a
double's range or longer than any count, no key given twice; and what is wrong, in a few words."""

from __future__ import annotations

import json
import math
from typing import Any


class NotJsonError(ValueError):
    """What Python's json module accepts but JSON (RFC 8259) does not, or what no count can be."""


def strict_json(text: str) -> Any:
    """``text`` parsed as strict JSON: no NaN or Infinity, no number out of a double's range or of more digits
    than any count has, no key twice in an object."""
    return json.loads(
        text,
        parse_constant=_refuse_constant,
        parse_int=_integer,
        parse_float=_finite,
        object_pairs_hook=_unique_keys,
    )


def _refuse_constant(name: str) -> Any:
    raise NotJsonError(f"{name} is not a JSON number")


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > 30:
        raise NotJsonError(f"a number of {len(text):,} digits ({text[:12]}…)")
    return int(text)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise NotJsonError(f"the number {text[:20]!r} is out of range")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) < len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise NotJsonError(f"key {shown(key)} is given twice")
            seen.add(key)
    return value


def json_problem(exc: BaseException) -> str:
    """What is wrong, in a few words, from what parsing a JSON file raised."""
    if isinstance(exc, RecursionError):
        return "it is nested too deeply"
    if isinstance(exc, UnicodeDecodeError):
        return f"byte 0x{exc.object[exc.start]:02x} at offset {exc.start} is not UTF-8"
    return str(exc)


def shown(value: object, limit: int = 60) -> str:
    """A value read from a file, short enough for a one-line message."""
    text = "nothing" if value is None else repr(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"
