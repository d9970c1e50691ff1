"""moto's server behind a gate as strict as the services: every request is read back into its call and checked
against botocore's service model; one that breaks a rule is answered as the service answers it (HTTP 400, a
``ValidationException`` or its protocol's equivalent) and recorded, so the test can be failed for it.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from xml.sax.saxutils import escape

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from pipeline.service_model import request_problems, service_model
from tests.wire_http import NotRecognised, WireRequest, discard_body
from tests.wire_requests import read_request

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
SHOWN_URI_CHARACTERS = 200


class GateLog:
    """What the gate read, turned away and could not read; shared by the server's threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: list[tuple[str, str]] = []  # (service, operation) of every request read back
        self.unexpected: list[str] = []
        self.unrecognised: list[str] = []
        self._expected: list[str] | None = None

    def read(self, request: WireRequest) -> None:
        with self._lock:
            self.calls.append((request.service, request.operation))

    def rejected(self, problems: list[str]) -> None:
        with self._lock:
            (self.unexpected if self._expected is None else self._expected).extend(problems)

    def not_recognised(self, line: str) -> None:
        with self._lock:
            self.unrecognised.append(line)

    @contextmanager
    def expecting(self) -> Iterator[list[str]]:
        """Rejections while the block runs are the point of the test: collected here, not failed for."""
        seen: list[str] = []
        with self._lock:
            self._expected = seen
        try:
            yield seen
        finally:
            with self._lock:
                self._expected = None

    def failure_report(self) -> str | None:
        """Why the test fails, or None."""
        with self._lock:
            parts = []
            if self.unexpected:
                parts.append(
                    "requests the service would reject (wrap them in `with aws.expect_rejections():` "
                    "if that is what the test checks):\n" + "\n".join(f"  {line}" for line in self.unexpected)
                )
            if self.unrecognised:
                listed = "\n".join(f"  {line}" for line in self.unrecognised)
                parts.append(f"requests the strict moto server could not read back into calls:\n{listed}")
            return "\n".join(parts) or None


class ServiceModelGate:
    """WSGI middleware: a request reaches moto only if the service model allows it."""

    def __init__(self, app: WsgiApp, log: GateLog) -> None:
        self.app = app
        self.log = log

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith("/moto-api"):
            return self.app(environ, start_response)
        try:
            request = read_request(environ)
            problems = request_problems(request.service, request.operation, request.params)
        except Exception as error:  # a gap in the reader is reported with the test, and moto still answers
            uri = environ.get("RAW_URI") or environ.get("PATH_INFO", "")
            reason = str(error) if isinstance(error, NotRecognised) else f"{type(error).__name__}: {error}"
            self.log.not_recognised(
                f"not recognised: {environ['REQUEST_METHOD']} {uri[:SHOWN_URI_CHARACTERS]} ({reason})"
            )
            return self.app(environ, start_response)
        self.log.read(request)
        if not problems:
            return self.app(environ, start_response)
        self.log.rejected(problems)
        discard_body(environ)
        return _rejection(request, environ["REQUEST_METHOD"], problems, start_response)


def _rejection(
    request: WireRequest, method: str, problems: list[str], start_response: StartResponse
) -> list[bytes]:
    """The 400 the service sends, in the request's protocol, so the client raises its ClientError."""
    message = "; ".join(problems)
    request_id = str(uuid.uuid4())
    if request.protocol in ("json", "rest-json"):
        version = service_model(request.service).metadata.get("jsonVersion", "1.1")
        content_type = (
            f"application/x-amz-json-{version}" if request.protocol == "json" else "application/json"
        )
        body = json.dumps({"__type": "ValidationException", "message": message}).encode()
        headers = [
            ("Content-Type", content_type),
            ("x-amzn-ErrorType", "ValidationException"),
            ("x-amzn-RequestId", request_id),
        ]
    elif request.protocol == "smithy-rpc-v2-cbor":
        body = _cbor_text_map({"__type": "ValidationException", "message": message})
        headers = [
            ("Content-Type", "application/cbor"),
            ("smithy-protocol", "rpc-v2-cbor"),
            ("x-amzn-RequestId", request_id),
        ]
    elif request.protocol == "rest-xml":
        body = (
            f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>InvalidArgument</Code>"
            f"<Message>{escape(message)}</Message><RequestId>{request_id}</RequestId></Error>"
        ).encode()
        headers = [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)]
    else:  # query, ec2
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code>"
            f"<Message>{escape(message)}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        headers = [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)]
    if method.upper() == "HEAD":
        body = b""
    start_response("400 Bad Request", [*headers, ("Content-Length", str(len(body)))])
    return [body]


def _cbor_text_map(entries: dict[str, str]) -> bytes:
    """A CBOR map of a few text strings (RFC 8949: major type 5, then 3 for each key and value)."""
    encoded = bytearray([0xA0 | len(entries)])
    for text in (part for entry in entries.items() for part in entry):
        data = text.encode("utf-8")
        if len(data) < 24:
            encoded.append(0x60 | len(data))
        else:
            width = next(size for size in (1, 2, 4, 8) if len(data) < 1 << (8 * size))
            encoded.append(0x60 | {1: 24, 2: 25, 4: 26, 8: 27}[width])
            encoded += len(data).to_bytes(width, "big")
        encoded += data
    return bytes(encoded)


class StrictMotoServer:
    """moto's WSGI app behind :class:`ServiceModelGate`, served on 127.0.0.1 (a free port) by a thread."""

    def __init__(self, log: GateLog) -> None:
        app = ServiceModelGate(DomainDispatcherApplication(create_backend_app), log)
        self._server: BaseWSGIServer = make_server(
            "127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto-server", daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://{self._server.host}:{self._server.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()
