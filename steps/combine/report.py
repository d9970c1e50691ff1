"""``report.html``: the quality summary and signal statistics as plain tables, with two embedded plots.

One self-contained file: no scripts, no external assets; the plots are PNGs drawn with matplotlib's Agg
canvas (no display, no pyplot state) and embedded as base64 data URIs. Signal names come from the records, so
they are shown as they are: escaped in the HTML, and in the plots drawn as plain text (no mathtext: ``$`` and
backslashes are themselves), characters that do not print written as escapes, a long name shortened. A plot
shows at most :data:`MAX_BARS` signals, those with the most hours (the table has them all).
"""

from __future__ import annotations

import base64
import html
import io
import math
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

MAX_BARS = 60
MAX_LABEL = 48  # characters of a signal's name a plot shows

STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin-bottom: 1.5em; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.6em; text-align: left; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
"""


def render_report(quality: dict[str, Any], stats: pd.DataFrame) -> str:
    """The whole report page."""
    totals = quality["totals"]
    sections = [
        _section("Totals", _table("totals", ["total", "count"], totals.items())),
        _section("Groups", _groups_table(quality["groups"])),
        _section("Error reasons, commonest first", _errors_table(quality["errors"])),
        _section("Unknown signal names", _unknown_table(quality["unknown_signal_names"])),
        _section("Signals", _stats_table(stats)),
        _section(
            "Hours per signal",
            _image(hours_plot(stats), "hours of recording per signal") + _plotted_note(stats),
        ),
        _section(
            "Valid fraction per signal",
            _image(valid_fraction_plot(stats), "valid fraction per signal") + _plotted_note(stats),
        ),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>Waveform features: quality report</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        "<h1>Waveform features: quality report</h1>\n" + "\n".join(sections) + "\n</body>\n</html>\n"
    )


def _section(title: str, body: str) -> str:
    return f"<h2>{html.escape(title)}</h2>\n{body}"


def _table(table_id: str, header: Sequence[str], rows: Iterable[Iterable[Any]]) -> str:
    head = "".join(f"<th>{html.escape(name)}</th>" for name in header)
    body = "\n".join("<tr>" + "".join(_cell(value) for value in row) + "</tr>" for row in rows)
    return f'<table id="{table_id}">\n<tr>{head}</tr>\n{body}\n</table>'


def _cell(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"<td>{html.escape(str(value))}</td>"
    text = f"{value:,}" if isinstance(value, int) else "" if math.isnan(value) else f"{value:,.4g}"
    return f'<td class="number">{text}</td>'


def _groups_table(groups: list[dict[str, Any]]) -> str:
    header = ["group", "records discovered", "summarised", "failed", "rows", "errors reported"]
    keys = ["group", "records_discovered", "records_summarised", "records_failed", "rows", "errors_reported"]
    return _table("groups", header, ([group[key] for key in keys] for group in groups))


def _errors_table(errors: list[dict[str, Any]]) -> str:
    if not errors:
        return "<p>No errors reported.</p>"
    rows = (
        [
            error["error"],
            error["count"],
            "; ".join(f"{e['group']}/{e['path']}: {e['message']}" for e in error["examples"]),
        ]
        for error in errors
    )
    return _table("errors", ["error", "count", "examples"], rows)


def _unknown_table(unknown: dict[str, int]) -> str:
    if not unknown:
        return "<p>Every signal name is in the table of standard names.</p>"
    return _table("unknown-signal-names", ["signal name", "rows"], unknown.items())


def _stats_table(stats: pd.DataFrame) -> str:
    if stats.empty:
        return "<p>No signals.</p>"
    rows = ([_plain(value) for value in row] for row in stats.itertuples(index=False))
    return _table("signals", list(stats.columns), rows)


def _plain(value: Any) -> Any:
    """numpy scalars as Python numbers, so cells format alike."""
    return value.item() if hasattr(value, "item") else value


def _image(png: bytes, description: str) -> str:
    encoded = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(description)}" src="data:image/png;base64,{encoded}">'


def _plotted_note(stats: pd.DataFrame) -> str:
    if len(stats) <= MAX_BARS:
        return ""
    return f"<p>The {MAX_BARS} signals with the most hours, of {len(stats):,}; the table lists them all.</p>"


def hours_plot(stats: pd.DataFrame) -> bytes:
    return _bar_plot(stats, "hours", "hours of recording")


def valid_fraction_plot(stats: pd.DataFrame) -> bytes:
    return _bar_plot(stats, "valid_fraction", "fraction of samples valid", limit=(0.0, 1.0))


def plot_label(signal: str, kind: str) -> str:
    """How a plot shows a signal: characters that do not print (a newline, a control character) written as
    escapes, a long name shortened, an empty one as ``""``."""
    shown = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in str(signal)) or '""'
    if len(shown) > MAX_LABEL:
        shown = shown[: MAX_LABEL - 1] + "…"
    return f"{shown} ({kind})"


def _bar_plot(
    stats: pd.DataFrame, column: str, label: str, limit: tuple[float, float] | None = None
) -> bytes:
    """A horizontal bar per (signal_std, kind), in the table's order, as PNG bytes."""
    if len(stats) > MAX_BARS:
        stats = stats.loc[stats["hours"].fillna(0).nlargest(MAX_BARS, keep="first").index.sort_values()]
    pairs = zip(stats["signal_std"], stats["kind"], strict=True)
    names = [plot_label(signal, kind) for signal, kind in pairs]
    figure = Figure(figsize=(7, 1.2 + 0.3 * max(len(names), 1)))
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    if names:
        positions = list(range(len(names)))  # not the names as categories: two names may show alike
        axes.barh(positions, stats[column].fillna(0).to_numpy(dtype=float), color="#4878a8")
        axes.set_yticks(positions, names, parse_math=False)
        axes.invert_yaxis()  # the table's order, top to bottom
    else:
        axes.text(0.5, 0.5, "no signals", ha="center", va="center", transform=axes.transAxes)
    if limit:
        axes.set_xlim(*limit)
    axes.set_xlabel(label)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # a name in a script the default font lacks is drawn as boxes; that is no reason to warn
        warnings.filterwarnings("ignore", message="Glyph .* missing from", category=UserWarning)
        figure.tight_layout()
        figure.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    return buffer.getvalue()
