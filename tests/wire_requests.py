"""An HTTP request that reached the moto server, read back into the call that sent it: (service, operation,
params), the way botocore's serializers wrote it, driven by botocore's service models.

The service comes from the SigV4 credential scope (its signing name); the operation from the protocol:
``json`` by ``X-Amz-Target``, ``query`` (and ``ec2``) by the ``Action`` field, ``smithy-rpc-v2-cbor`` by its
``/service/<target prefix>/operation/<name>`` path, ``rest-json`` and ``rest-xml`` by matching method, path
and query string against each operation's ``requestUri``. A streamed payload (an S3 object's
body) is never read: moto gets the request stream untouched. Any other body is read, and moto is given an
identical stream in its place.
"""

from __future__ import annotations

import functools
import gzip
import io
import json
import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree

import botocore.session
from botocore.model import MapShape, OperationModel, ServiceModel, StructureShape

from pipeline.service_model import service_model
from tests.wire_values import FormReader, from_cbor, from_header, from_json, from_text, from_xml

SIGV4_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/]+/([^/]+)/aws4_request")
RPC_V2_PATH = re.compile(r"/service/([^/]+)/operation/([^/]+)")
BODY_CHUNK = 1 << 16


class NotRecognised(Exception):
    """A request that no operation of the services its signature names accounts for."""


@dataclass(frozen=True)
class WireRequest:
    """What a client asked of a service, as botocore's client would have taken it."""

    service: str
    operation: str
    protocol: str
    params: dict[str, Any]


@dataclass(frozen=True)
class UnreadStream:
    """A streamed payload, left unread for moto: only its declared length is known."""

    length: int | None

    def read(self, size: int = -1) -> bytes:
        raise io.UnsupportedOperation("the payload is left unread, for moto")


def read_request(environ: dict[str, Any]) -> WireRequest:
    """The call behind one WSGI request; raises :class:`NotRecognised` when none fits."""
    http = HttpRequest(environ)
    signing_name = http.signing_name()
    if signing_name is None:
        raise NotRecognised("no SigV4 credential scope")
    for service in candidate_services(signing_name):
        request = _read_as(service_model(service), service, http)
        if request is not None:
            return request
    raise NotRecognised(f"no operation of the services signed as {signing_name!r} matches")


def discard_body(environ: dict[str, Any]) -> None:
    """Read what is left of the request body, so the connection can carry the next request."""
    stream = environ["wsgi.input"]
    if environ.get("wsgi.input_terminated"):
        while stream.read(BODY_CHUNK):
            pass
        return
    remaining = int(environ.get("CONTENT_LENGTH") or 0)
    while remaining > 0:
        chunk = stream.read(min(remaining, BODY_CHUNK))
        if not chunk:
            break
        remaining -= len(chunk)
    environ["wsgi.input"] = io.BytesIO(b"")
    environ["CONTENT_LENGTH"] = "0"


# -- the HTTP request --------------------------------------------------------------------------------------


@dataclass
class HttpRequest:
    """Method, raw path, query, headers (lower-case names) and body of a WSGI request."""

    environ: dict[str, Any]
    method: str = field(init=False)
    path: str = field(init=False)
    query: list[tuple[str, str]] = field(init=False)
    headers: dict[str, str] = field(init=False)
    _body: bytes | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.method = self.environ["REQUEST_METHOD"].upper()
        raw = self.environ.get("RAW_URI") or self.environ.get("REQUEST_URI")
        if raw:
            path, _, query = raw.partition("?")
        else:  # PATH_INFO is decoded already: quote it again so labels split as on the wire
            path = urllib.parse.quote(self.environ.get("PATH_INFO", "").encode("latin-1"), safe="/")
            query = self.environ.get("QUERY_STRING", "")
        self.path = urllib.parse.urlsplit(path).path if path.startswith(("http://", "https://")) else path
        self.query = urllib.parse.parse_qsl(query, keep_blank_values=True)
        self.headers = {}
        for key, value in self.environ.items():
            if key.startswith("HTTP_"):
                self.headers[key[5:].replace("_", "-").lower()] = value
            elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                self.headers[key.replace("_", "-").lower()] = value

    def signing_name(self) -> str | None:
        credential = self.headers.get("authorization", "")
        if not credential:  # a presigned URL carries its scope in the query string
            credential = "Credential=" + dict(self.query).get("X-Amz-Credential", "")
        found = SIGV4_SCOPE.search(credential)
        return found.group(1) if found else None

    def has_body(self) -> bool:
        return (
            bool(self.environ.get("wsgi.input_terminated"))
            or int(self.headers.get("content-length") or 0) > 0
        )

    def body(self) -> bytes:
        """The body as sent, read once; moto is given an identical stream."""
        if self._body is None:
            stream = self.environ["wsgi.input"]
            if self.environ.get("wsgi.input_terminated"):  # chunked transfer: read to the end
                data = stream.read()
            else:
                length = int(self.environ.get("CONTENT_LENGTH") or 0)
                data = stream.read(length) if length > 0 else b""
            self.environ["wsgi.input"] = io.BytesIO(data)
            self.environ["CONTENT_LENGTH"] = str(len(data))
            self._body = data
        return self._body

    def content(self) -> bytes:
        """The body with its content encodings (aws-chunked framing, gzip) undone."""
        data = self.body()
        encodings = [part.strip() for part in self.headers.get("content-encoding", "").split(",")]
        if "aws-chunked" in encodings:
            data = _dechunk(data)
        if "gzip" in encodings:
            data = gzip.decompress(data)
        return data

    def query_values(self, name: str) -> list[str]:
        return [value for key, value in self.query if key == name]


def _dechunk(data: bytes) -> bytes:
    """The payload of an ``aws-chunked`` body: ``<hex size>[;chunk-signature=...]\\r\\n<data>\\r\\n`` ..."""
    out = bytearray()
    at = 0
    while at < len(data):
        line_end = data.index(b"\r\n", at)
        size = int(data[at:line_end].split(b";", 1)[0], 16)
        if size == 0:
            break  # what follows are the trailing checksums
        out += data[line_end + 2 : line_end + 2 + size]
        at = line_end + 2 + size + 2
    return bytes(out)


# -- services and protocols ------------------------------------------------------------------------------


def candidate_services(signing_name: str) -> Iterator[str]:
    """Services whose requests are signed as ``signing_name``: the one of that name first."""
    if signing_name in _available_services():
        yield signing_name
    # Other services share a signing name (sagemaker-runtime, s3control): indexing them loads every model
    # once, so it happens only when the first did not fit.
    yield from (name for name in _services_by_signing_name().get(signing_name, ()) if name != signing_name)


@functools.cache
def _available_services() -> frozenset[str]:
    return frozenset(botocore.session.get_session().get_available_services())


@functools.cache
def _services_by_signing_name() -> dict[str, tuple[str, ...]]:
    index: dict[str, list[str]] = {}
    for name in sorted(_available_services()):
        metadata = service_model(name).metadata
        index.setdefault(metadata.get("signingName") or metadata["endpointPrefix"], []).append(name)
    return {key: tuple(names) for key, names in index.items()}


def protocols(model: ServiceModel) -> list[str]:
    metadata = model.metadata
    return list(metadata.get("protocols") or [metadata["protocol"]])


def _read_as(model: ServiceModel, service: str, http: HttpRequest) -> WireRequest | None:
    for protocol in protocols(model):
        if protocol == "json" and "x-amz-target" in http.headers:
            request = _read_json(model, service, http)
        elif protocol in ("query", "ec2") and _is_form(http):
            request = _read_form(model, service, protocol, http)
        elif protocol in ("rest-json", "rest-xml"):
            request = _read_rest(model, service, protocol, http)
        elif protocol == "smithy-rpc-v2-cbor" and http.headers.get("smithy-protocol") == "rpc-v2-cbor":
            request = _read_cbor(model, service, http)
        else:
            continue
        if request is not None:
            return request
    return None


def _is_form(http: HttpRequest) -> bool:
    return http.headers.get("content-type", "").startswith("application/x-www-form-urlencoded") or any(
        key == "Action" for key, _ in http.query
    )


def _read_json(model: ServiceModel, service: str, http: HttpRequest) -> WireRequest | None:
    prefix, _, operation = http.headers["x-amz-target"].rpartition(".")
    if prefix != model.metadata.get("targetPrefix") or operation not in model.operation_names:
        return None
    shape = model.operation_model(operation).input_shape
    content = http.content()
    try:
        value = json.loads(content) if content.strip() else {}
    except ValueError as error:
        raise NotRecognised(f"{operation}: the body is not JSON ({error})") from error
    params = from_json(shape, value) if shape is not None else value
    return WireRequest(service, operation, "json", params)


def _read_cbor(model: ServiceModel, service: str, http: HttpRequest) -> WireRequest | None:
    found = RPC_V2_PATH.fullmatch(http.path)
    if found is None or found.group(1) != model.metadata.get("targetPrefix"):
        return None
    operation = found.group(2)
    if operation not in model.operation_names:
        return None
    shape = model.operation_model(operation).input_shape
    content = http.content()
    params = from_cbor(shape, content) if shape is not None and content else {}
    return WireRequest(service, operation, "smithy-rpc-v2-cbor", params)


def _read_form(model: ServiceModel, service: str, protocol: str, http: HttpRequest) -> WireRequest | None:
    fields = dict(http.query)
    if http.method == "POST":
        fields.update(urllib.parse.parse_qsl(http.content().decode("utf-8"), keep_blank_values=True))
    operation = fields.pop("Action", "")
    fields.pop("Version", None)
    if operation not in model.operation_names:
        return None
    shape = model.operation_model(operation).input_shape
    reader = FormReader(fields, ec2=protocol == "ec2")
    params = reader.structure(shape) if shape is not None else {}
    for key in sorted(reader.unread):  # fields no member accounts for, named as sent
        params[key] = fields[key]
    return WireRequest(service, operation, protocol, params)


# -- rest-json and rest-xml: routes ----------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """One operation's ``http.requestUri``, ready to match a request."""

    operation: str
    method: str
    path: re.Pattern[str]
    labels: dict[str, str]  # regex group -> input member
    literal_query: dict[
        str, str | None
    ]  # "?uploads" -> {"uploads": None}; "?list-type=2" -> {"list-type": "2"}
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


def _read_rest(model: ServiceModel, service: str, protocol: str, http: HttpRequest) -> WireRequest | None:
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
