"""Reading the combine step's ``report.html`` in tests: its tables as rows of cell texts, its images."""

from __future__ import annotations

import base64
import html
import re

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def table_rows(page: str, table_id: str) -> list[list[str]]:
    """The rows of the table of that id, each a list of its cells' texts (a line break as ``\\n``), the header
    row first when the table has one."""
    found = re.search(rf'<table id="{re.escape(table_id)}">(.*?)</table>', page, re.S)
    assert found is not None, f"no table {table_id!r} in the report"
    return [
        [
            html.unescape(cell.replace("<br>", "\n"))
            for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", found[1], re.S)
    ]


def table_dicts(page: str, table_id: str) -> list[dict[str, str]]:
    """The rows of a table with a header row, as ``{header: cell}``."""
    header, *rows = table_rows(page, table_id)
    return [dict(zip(header, row, strict=True)) for row in rows]


def key_values(page: str, table_id: str) -> dict[str, str]:
    """A table of a name and a value a row, as a dict."""
    return {name: value for name, value in table_rows(page, table_id)}


def images(page: str) -> list[bytes]:
    """The embedded PNG images, decoded; each checked to be a PNG."""
    found = [
        base64.b64decode(data) for data in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    ]
    assert page.count("data:image/png;base64,") == len(found)
    assert all(image.startswith(PNG_SIGNATURE) for image in found)
    return found
