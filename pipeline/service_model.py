"""Requests checked as the service checks them: every rule of botocore's service model, not only the few
(minimums, types, required members) that botocore's client checks before sending.

The models' patterns are Java regular expressions, matched against the whole value (``java_patterns``).
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

from .errors import cut, shown
from .java_patterns import model_pattern

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
        entry = f"{path}[{shown(key)}]"
        yield from _shape_problems(shape.key, key, f"{entry} (the key)")
        yield from _shape_problems(shape.value, item, entry)


def _count_problems(shape: Shape, count: int, path: str) -> Iterator[str]:
    yield from _size_problems(shape, count, "entries", path)


def _size_problems(shape: Shape, size: int, unit: str, path: str) -> Iterator[str]:
    """The model's ``min`` and ``max`` of a string's characters, a blob's bytes, a list's or map's entries."""
    yield from _bound_problems(shape, size, f"{size} {unit}", path)


def _bound_problems(shape: Shape, measure: Any, described: str, path: str) -> Iterator[str]:
    """``measure`` against the model's ``min`` and ``max`` for the shape; ``described`` as messages say it."""
    least, most = shape.metadata.get("min"), shape.metadata.get("max")
    if least is not None and measure < least:
        yield f"{path}: {described}, at least {least}"
    if most is not None and measure > most:
        yield f"{path}: {described}, at most {most}"


def _string_problems(shape: Shape, value: Any, path: str) -> Iterator[str]:
    if not isinstance(value, str):
        yield _wrong_type(shape, value, path, "a string")
        return
    yield from _size_problems(shape, len(value), "characters", path)
    pattern = shape.metadata.get("pattern")
    if pattern is not None and model_pattern(pattern).fullmatch(value) is None:
        shown_pattern = cut(pattern, SHOWN_PATTERN_CHARACTERS)
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
    yield from _bound_problems(shape, value, _shown_value(shape, value), path)


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
    yield from _size_problems(shape, size, "bytes", path)


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
    return "(sensitive)" if shape.metadata.get("sensitive") else shown(value)
