"""A WSGI request as the moto server got it (method, raw path, query, headers, body), and the call read
from it. The body is read only when asked for, and moto is then given an identical stream in its place.
"""

from __future__ import annotations

import gzip
import io
import re
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

BODY_CHUNK = 1 << 16
SIGV4_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/]+/([^/]+)/aws4_request")


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
