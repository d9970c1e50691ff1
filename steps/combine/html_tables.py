"""The report's HTML pieces: sections, tables and embedded images, every text escaped.

A cell shows text escaped, a number right-aligned with thousands separators (a float to four significant
digits, NaN as nothing), None as "not recorded", and :class:`Markup` (HTML built here of escaped text) as it
is.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Iterable, Sequence
from typing import Any

NOT_RECORDED = "not recorded"


class Markup(str):
    """HTML made here of escaped text: a cell shows it as it is."""


def lines(texts: Iterable[str]) -> Markup:
    """Texts, escaped, a line each."""
    return Markup("<br>".join(html.escape(text) for text in texts))


def section(title: str, body: str, level: int = 2) -> str:
    return f"<h{level}>{html.escape(title)}</h{level}>\n{body}"


def paragraph(text: str, css_class: str = "") -> str:
    attribute = f' class="{css_class}"' if css_class else ""
    return f"<p{attribute}>{html.escape(text)}</p>"


def table(table_id: str, header: Sequence[str], rows: Iterable[Iterable[Any]]) -> str:
    head = "".join(f"<th>{html.escape(name)}</th>" for name in header)
    body = "\n".join("<tr>" + "".join(cell(value) for value in row) + "</tr>" for row in rows)
    return f'<table id="{table_id}">\n<tr>{head}</tr>\n{body}\n</table>'


def key_value_table(table_id: str, rows: Iterable[tuple[str, Any]]) -> str:
    """A table of a name (a header cell) and a value a row."""
    body = "\n".join(f"<tr><th>{html.escape(name)}</th>{cell(value)}</tr>" for name, value in rows)
    return f'<table id="{table_id}">\n{body}\n</table>'


def cell(value: Any) -> str:
    value = value.item() if hasattr(value, "item") else value  # a numpy scalar as a Python number
    if value is None:
        return f'<td class="missing">{NOT_RECORDED}</td>'
    if isinstance(value, Markup):
        return f"<td>{value}</td>"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"<td>{html.escape(str(value))}</td>"
    text = f"{value:,}" if isinstance(value, int) else "" if math.isnan(value) else f"{value:,.4g}"
    return f'<td class="number">{text}</td>'


def image(png: bytes, description: str) -> str:
    encoded = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(description)}" src="data:image/png;base64,{encoded}">'
