"""Values as they travel on the wire (JSON, XML, form fields, headers), read back into what botocore's client
took, shape by shape: timestamps as datetimes, blobs as bytes, numbers and booleans as such.

A value that does not fit its shape is kept as it came, so the validator reports it; so is a member the shape
does not have, under the name it was sent as.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
from typing import Any
from xml.etree import ElementTree

from botocore.model import ListShape, MapShape, Shape, StructureShape
from botocore.utils import parse_timestamp

# -- text: headers, query strings, form fields, XML text ---------------------------------------------------


def from_text(shape: Shape, text: str) -> Any:
    """``text`` as the value of a scalar ``shape``."""
    kind = shape.type_name
    try:
        if kind in ("integer", "long"):
            return int(text)
        if kind in ("float", "double"):
            return float(text)
        if kind == "boolean":
            return {"true": True, "false": False}.get(text.lower(), text)
        if kind == "timestamp":
            return parse_timestamp(text)
        if kind == "blob":
            return base64.b64decode(text, validate=True)
        if kind == "string" and shape.serialization.get("jsonvalue"):
            return json.loads(base64.b64decode(text, validate=True))
    except (ValueError, binascii.Error):
        return text
    return text


def from_header(shape: Shape, text: str) -> Any:
    """A header's value: a list is sent comma-separated."""
    if isinstance(shape, ListShape):
        return [from_text(shape.member, item.strip()) for item in text.split(",")]
    return from_text(shape, text)


# -- JSON bodies (json, rest-json) -------------------------------------------------------------------------


def from_json(shape: Shape, value: Any) -> Any:
    """A decoded JSON value of ``shape``."""
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        names = {member.serialization.get("name", name): name for name, member in shape.members.items()}
        return {
            names.get(key, key): from_json(shape.members[names[key]], item) if key in names else item
            for key, item in value.items()
        }
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [from_json(shape.member, item) for item in value]
    if isinstance(shape, MapShape) and isinstance(value, dict):
        return {key: from_json(shape.value, item) for key, item in value.items()}
    if shape.type_name == "blob" and isinstance(value, str):
        return from_text(shape, value)
    if shape.type_name == "timestamp" and isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.datetime.fromtimestamp(value, tz=datetime.UTC)
    if shape.type_name == "timestamp" and isinstance(value, str):
        return from_text(shape, value)
    return value


# -- CBOR bodies (smithy-rpc-v2-cbor) ----------------------------------------------------------------------


def from_cbor(shape: Shape, content: bytes) -> Any:
    """A CBOR body of ``shape``: decoded as botocore decodes CBOR responses (blobs, timestamps included)."""
    # imported here: the botocore the container tests run on (1.31, the image's) predates the protocol
    from botocore.parsers import RpcV2CBORParser

    parser = RpcV2CBORParser()
    return from_json(shape, parser.parse_data_item(parser.get_peekable_stream_from_bytes(content)))


# -- XML bodies (rest-xml) -------------------------------------------------------------------------------


def from_xml(shape: Shape, element: ElementTree.Element) -> Any:
    """The XML ``element`` as a value of ``shape``."""
    if isinstance(shape, StructureShape):
        return _structure_from_xml(shape, element)
    if isinstance(shape, ListShape):
        return [from_xml(shape.member, child) for child in element]
    if isinstance(shape, MapShape):
        return _map_from_xml(shape, list(element))
    return from_text(shape, element.text or "")


def _structure_from_xml(shape: StructureShape, element: ElementTree.Element) -> dict[str, Any]:
    params: dict[str, Any] = {}
    by_tag: dict[str, list[ElementTree.Element]] = {}
    for child in element:
        by_tag.setdefault(local_name(child.tag), []).append(child)
    for name, member in shape.members.items():
        tag = member.serialization.get("name", name)
        if member.serialization.get("xmlAttribute"):
            attribute = _attribute(element, tag)
            if attribute is not None:
                params[name] = from_text(member, attribute)
            continue
        children = by_tag.pop(tag, [])
        if not children:
            continue
        if isinstance(member, ListShape) and member.serialization.get("flattened"):
            params[name] = [from_xml(member.member, child) for child in children]
        elif isinstance(member, MapShape) and member.serialization.get("flattened"):
            params[name] = _map_from_xml(member, children)
        else:
            params[name] = from_xml(member, children[0])
    for tag, children in by_tag.items():  # not members of the shape: kept, for the validator to name
        params[tag] = children[0].text
    return params


def _map_from_xml(shape: MapShape, entries: list[ElementTree.Element]) -> dict[str, Any]:
    key_tag = shape.key.serialization.get("name", "key")
    value_tag = shape.value.serialization.get("name", "value")
    result: dict[str, Any] = {}
    for entry in entries:
        parts = {local_name(child.tag): child for child in entry}
        if key_tag in parts and value_tag in parts:
            result[parts[key_tag].text or ""] = from_xml(shape.value, parts[value_tag])
    return result


def _attribute(element: ElementTree.Element, name: str) -> str | None:
    local = name.split(":")[-1]  # "xsi:type" arrives as "{http://www.w3.org/2001/XMLSchema-instance}type"
    for key, value in element.attrib.items():
        if local_name(key) == local:
            return value
    return None


def local_name(tag: str) -> str:
    return tag.rpartition("}")[2]


# -- form fields (query, ec2) ----------------------------------------------------------------------------


class FormReader:
    """The fields of one query-protocol request, read into the input shape; ``unread`` keeps the rest."""

    def __init__(self, fields: dict[str, str], ec2: bool = False) -> None:
        self.fields = fields
        self.ec2 = ec2
        self.unread = set(fields)

    def structure(self, shape: StructureShape, prefix: str = "") -> dict[str, Any]:
        params: dict[str, Any] = {}
        for name, member in shape.members.items():
            key = f"{prefix}.{self._name(member, name)}" if prefix else self._name(member, name)
            if self._present(key):
                params[name] = self.value(member, key)
        return params

    def value(self, shape: Shape, key: str) -> Any:
        if isinstance(shape, StructureShape):
            return self.structure(shape, key)
        if isinstance(shape, ListShape):
            return self._list(shape, key)
        if isinstance(shape, MapShape):
            return self._map(shape, key)
        self.unread.discard(key)
        return from_text(shape, self.fields[key])

    def _list(self, shape: ListShape, key: str) -> list[Any]:
        if self.fields.get(key) == "":  # how the protocol sends an empty list
            self.unread.discard(key)
            return []
        if self.ec2:
            prefix = key
        elif shape.serialization.get("flattened"):
            prefix = key
            if shape.member.serialization.get("name"):
                prefix = ".".join([*key.split(".")[:-1], shape.member.serialization["name"]])
        else:
            prefix = f"{key}.{shape.member.serialization.get('name', 'member')}"
        return [self.value(shape.member, f"{prefix}.{index}") for index in self._indices(prefix)]

    def _map(self, shape: MapShape, key: str) -> dict[str, Any]:
        prefix = key if shape.serialization.get("flattened") else f"{key}.entry"
        key_name = self._name(shape.key, "key")
        value_name = self._name(shape.value, "value")
        result: dict[str, Any] = {}
        for index in self._indices(prefix):
            entry_key = f"{prefix}.{index}.{key_name}"
            if entry_key in self.fields:
                self.unread.discard(entry_key)
                entry_value = f"{prefix}.{index}.{value_name}"
                result[self.fields[entry_key]] = (
                    self.value(shape.value, entry_value) if self._present(entry_value) else None
                )
        return result

    def _name(self, shape: Shape, default: str) -> str:
        name = str(shape.serialization.get("name", default))
        if self.ec2:
            return str(shape.serialization.get("queryName") or name[:1].upper() + name[1:])
        return name

    def _present(self, key: str) -> bool:
        return key in self.fields or any(field.startswith(key + ".") for field in self.fields)

    def _indices(self, prefix: str) -> list[int]:
        found = set()
        for field in self.fields:
            if field.startswith(prefix + "."):
                index = field[len(prefix) + 1 :].split(".", 1)[0]
                if index.isdigit():
                    found.add(int(index))
        return sorted(found)
