"""The report's HTML pieces: sections, tables and embedded images, every text escaped.

A cell shows text escaped, a number right-aligned with thousands separators (a float to four significant
digits, NaN as nothing; a :class:`Percent` as a percentage), None as "not recorded" (a :class:`Missing` as
what it says), and :class:`Markup` (HTML built here of escaped text) as it is.
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


class Missing(str):
    """Why a value is missing, shown as "not recorded" is (say, "not measured")."""


class Percent(float):
    """A fraction a cell shows as a percentage, to three significant digits (``0.0123`` as ``1.23%``)."""


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
    if isinstance(value, Missing):
        return f'<td class="missing">{html.escape(value)}</td>'
    if isinstance(value, Markup):
        return f"<td>{value}</td>"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"<td>{html.escape(str(value))}</td>"
    if isinstance(value, Percent) and not math.isnan(value):
        return f'<td class="number">{_percent(value)}</td>'
    text = f"{value:,}" if isinstance(value, int) else "" if math.isnan(value) else f"{value:,.4g}"
    return f'<td class="number">{text}</td>'


def _percent(fraction: float) -> str:
    """0 and 1 exactly as ``0%`` and ``100%``, anything else to three significant digits (and never shown
    as 100% when it is not)."""
    if fraction in (0.0, 1.0):
        return f"{fraction:.0%}"
    text = f"{fraction * 100:.3g}%"
    return "&gt;99.9%" if text == "100%" else text


def image(png: bytes, description: str) -> str:
    encoded = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(description)}" src="data:image/png;base64,{encoded}">'
