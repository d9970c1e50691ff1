"""An HTTP request that reached the moto server, read back into the call that sent it: (service, operation,
params), the way botocore's serializers wrote it, driven by botocore's service models.

The service comes from the SigV4 credential scope (its signing name); the operation from the protocol:
``json`` by ``X-Amz-Target``, ``query`` (and ``ec2``) by the ``Action`` field, ``smithy-rpc-v2-cbor`` by its
``/service/<target prefix>/operation/<name>`` path, ``rest-json`` and ``rest-xml`` by their routes
(``tests/wire_rest.py``).
"""

from __future__ import annotations

import functools
import json
import re
import urllib.parse
from collections.abc import Iterator
from typing import Any

import botocore.session
from botocore.model import ServiceModel

from pipeline.service_model import service_model
from tests.wire_http import HttpRequest, NotRecognised, WireRequest
from tests.wire_rest import read_rest
from tests.wire_values import FormReader, from_cbor, from_json

RPC_V2_PATH = re.compile(r"/service/([^/]+)/operation/([^/]+)")


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
            request = read_rest(model, service, protocol, http)
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
