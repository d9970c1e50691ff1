"""rest-json and rest-xml requests read back into their calls: the operation by matching method, path and
query string against each operation's ``http.requestUri`` (greedy ``{Key+}`` labels, literal query keys like
``?uploads``); members from the path, headers, query string and body. A blob payload (an S3 object's body) is
never read: moto gets the request stream untouched.
"""

from __future__ import annotations

import functools
import json
import re
import urllib.parse
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

from botocore.model import MapShape, OperationModel, ServiceModel, StructureShape

from pipeline.service_model import service_model
from tests.wire_http import HttpRequest, NotRecognised, UnreadStream, WireRequest
from tests.wire_values import from_header, from_json, from_text, from_xml


@dataclass(frozen=True)
class Route:
    """One operation's ``http.requestUri``, ready to match a request."""

    operation: str
    method: str
    path: re.Pattern[str]
    labels: dict[str, str]  # regex group -> input member
    # the query of the template: "?uploads" -> {"uploads": None}; "?list-type=2" -> {"list-type": "2"}
    literal_query: dict[str, str | None]
    literal_characters: int
    required_headers: tuple[str, ...]
    required_query: tuple[str, ...]

    def match(self, http: HttpRequest) -> re.Match[str] | None:
        if http.method != self.method:
            return None
        for key, value in self.literal_query.items():
            values = http.query_values(key)
            if not values or (value is not None and value not in values):
                return None
        return self.path.fullmatch(http.path)

    def rank(self, http: HttpRequest) -> tuple[int, ...]:
        """Higher for the route that accounts for more of the request (PutObject < UploadPart < ...Copy)."""
        headers = sum(name in http.headers for name in self.required_headers)
        query = sum(bool(http.query_values(name)) for name in self.required_query)
        complete = headers == len(self.required_headers) and query == len(self.required_query)
        return (complete, len(self.literal_query), headers + query, self.literal_characters)


@functools.cache
def routes(service: str) -> tuple[Route, ...]:
    model = service_model(service)
    return tuple(_route(model.operation_model(name)) for name in model.operation_names)


def _route(operation: OperationModel) -> Route:
    template = operation.http.get("requestUri", "/")
    path_template, _, query_template = template.partition("?")
    shape = operation.input_shape
    members = shape.members if shape is not None else {}
    by_label = {
        member.serialization.get("name", name): name
        for name, member in members.items()
        if member.serialization.get("location") == "uri"
    }
    pattern = []
    labels: dict[str, str] = {}
    literal_characters = 0
    for index, part in enumerate(re.split(r"(\{[^}]+\})", path_template)):
        if part.startswith("{"):
            label = part[1:-1]
            group = f"label{index}"
            labels[group] = by_label.get(label.rstrip("+"), label.rstrip("+"))
            pattern.append(f"(?P<{group}>.+)" if label.endswith("+") else f"(?P<{group}>[^/]+)")
        else:
            literal_characters += len(part)
            pattern.append(re.escape(part))
    if not path_template.endswith("/"):
        pattern.append("/?")
    literal_query: dict[str, str | None] = {}
    for item in filter(None, query_template.split("&")):
        key, equals, value = item.partition("=")
        literal_query[key] = value if equals else None
    required = shape.required_members if shape is not None else []
    required_headers = tuple(
        str(members[name].serialization.get("name", name)).lower()
        for name in required
        if members[name].serialization.get("location") == "header"
    )
    required_query = tuple(
        str(members[name].serialization.get("name", name))
        for name in required
        if members[name].serialization.get("location") == "querystring"
    )
    return Route(
        operation=operation.name,
        method=operation.http.get("method", "POST").upper(),
        path=re.compile("".join(pattern)),
        labels=labels,
        literal_query=literal_query,
        literal_characters=literal_characters,
        required_headers=required_headers,
        required_query=required_query,
    )


def read_rest(model: ServiceModel, service: str, protocol: str, http: HttpRequest) -> WireRequest | None:
    matches = [(route, found) for route in routes(service) if (found := route.match(http)) is not None]
    if not matches:
        return None
    route, found = max(matches, key=lambda pair: pair[0].rank(http))
    operation = model.operation_model(route.operation)
    params: dict[str, Any] = {}
    shape = operation.input_shape
    if shape is not None:
        for group, member in route.labels.items():
            params[member] = urllib.parse.unquote(found.group(group))
        params.update(_located_members(shape, route, http))
        params.update(_body_members(shape, protocol, http, operation.name))
    return WireRequest(service, operation.name, protocol, params)


def _located_members(shape: StructureShape, route: Route, http: HttpRequest) -> dict[str, Any]:
    """Members sent in headers and in the query string."""
    params: dict[str, Any] = {}
    bound = set(route.literal_query)
    query_map: tuple[str, MapShape] | None = None
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire = str(member.serialization.get("name", name))
        if location == "header" and wire.lower() in http.headers:
            params[name] = from_header(member, http.headers[wire.lower()])
        elif location == "headers":
            prefix = wire.lower()
            found = {
                key[len(prefix) :]: value for key, value in http.headers.items() if key.startswith(prefix)
            }
            if found:
                params[name] = found
        elif location == "querystring" and isinstance(member, MapShape):
            query_map = (name, member)
        elif location == "querystring":
            bound.add(wire)
            values = http.query_values(wire)
            if values and member.type_name == "list":
                params[name] = [from_text(member.member, value) for value in values]
            elif values:
                params[name] = from_text(member, values[0])
    if query_map is not None:  # a map in the query string takes every parameter no other member takes
        name, member = query_map
        rest = [(key, value) for key, value in http.query if key not in bound]
        if rest:
            params[name] = {key: from_text(member.value, value) for key, value in rest}
    return params


def _body_members(shape: StructureShape, protocol: str, http: HttpRequest, operation: str) -> dict[str, Any]:
    payload = shape.serialization.get("payload")
    if payload is not None:
        member = shape.members[payload]
        if member.type_name == "blob":
            if not http.has_body():
                return {}
            declared = http.headers.get("x-amz-decoded-content-length") or http.headers.get("content-length")
            return {payload: UnreadStream(int(declared) if declared else None)}
        content = http.content()
        if not content.strip():
            return {}
        if member.type_name == "string":
            return {payload: content.decode("utf-8", errors="replace")}
        return {payload: _parse_body(member, protocol, content, operation)}
    if not any("location" not in member.serialization for member in shape.members.values()):
        return {}
    content = http.content()
    if not content.strip():
        return {}
    parsed = _parse_body(shape, protocol, content, operation)
    return dict(parsed) if isinstance(parsed, dict) else {"(body)": parsed}


def _parse_body(shape: Any, protocol: str, content: bytes, operation: str) -> Any:
    try:
        if protocol == "rest-json":
            return from_json(shape, json.loads(content))
        return from_xml(shape, ElementTree.fromstring(content))
    except (ValueError, ElementTree.ParseError) as error:
        raise NotRecognised(f"{operation}: the body is not {protocol[5:].upper()} ({error})") from error
