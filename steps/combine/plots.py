"""The report's figures of signals, and what every figure shares: PNG bytes from matplotlib's Agg canvas.

No display and no pyplot state: each figure is drawn on a canvas of its own and returned as PNG bytes. The
figures are as wide as a desktop browser's page, and each axis is fitted to its data: the valid fraction on an
axis zoomed to the values (said on the axis), each signal's record means on an axis of its own, in its units.
Text from the records (signal names, units) is drawn as it is: no mathtext (``$`` and backslashes are
themselves), characters that do not print written as escapes, long text shortened. A figure of signals shows
at most :data:`MAX_BARS`, those with the most hours (the tables have them all).
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Sequence
from typing import Any

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

MAX_BARS = 60
MAX_LABEL = 48  # characters of a signal's name a plot shows
WIDTH = 13.0  # inches, at DPI: a desktop page's width
DPI = 100
BAR_COLOUR = "#4878a8"
SOFT = "#9db7d3"


def plot_label(signal: str, kind: str) -> str:
    """How a plot shows a signal: its name as :func:`plot_text` shows it, an empty one as ``""``."""
    return f"{plot_text(signal, MAX_LABEL) or chr(34) * 2} ({kind})"


def plot_text(text: str, limit: int) -> str:
    """Text from the records as a plot shows it: characters that do not print (a newline, a control
    character) written as escapes, and shortened to ``limit`` characters."""
    shown = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in str(text))
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def figure_of(height: float) -> Figure:
    figure = Figure(figsize=(WIDTH, height), dpi=DPI)
    FigureCanvasAgg(figure)
    return figure


def png(figure: Figure, tight: bool = True) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # a name in a script the default font lacks is drawn as boxes; that is no reason to warn
        warnings.filterwarnings("ignore", message="Glyph .* missing from", category=UserWarning)
        if tight:
            figure.tight_layout()
        figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def plotted(stats: pd.DataFrame) -> pd.DataFrame:
    """The signals a figure shows: at most MAX_BARS, those with the most hours, in the table's order."""
    if len(stats) <= MAX_BARS:
        return stats
    return stats.loc[stats["hours"].fillna(0).nlargest(MAX_BARS, keep="first").index.sort_values()]


def hours_plot(stats: pd.DataFrame) -> bytes:
    """A bar per signal: its hours of recording, the value written beside it."""
    shown = plotted(stats)
    hours = shown["hours"].fillna(0).to_numpy(dtype=float)
    figure, axes = _signal_axes(shown)
    if len(shown):
        axes.barh(range(len(shown)), hours, color=BAR_COLOUR)
        axes.set_xlim(0, max(hours.max(), 1e-9) * 1.02)
        _value_column(axes, [f"{value:,.4g} h" for value in hours])
    axes.set_xlabel("hours of recording (sum of the records' durations)")
    return png(figure)


def valid_fraction_plot(stats: pd.DataFrame) -> bytes:
    """A dot per signal at its valid fraction, on an axis zoomed to the values (bars of 0.93 ... 0.99 on a
    0 ... 1 axis would all look full), each value written beside it."""
    shown = plotted(stats)
    values = shown["valid_fraction"].to_numpy(dtype=float)
    figure, axes = _signal_axes(shown)
    finite = values[~pd.isna(values)]
    left = 0.0
    if len(finite):
        span = max(1.0 - float(finite.min()), 0.001)
        left = max(0.0, float(finite.min()) - 0.08 * span)
        positions = [p for p, v in enumerate(values) if not math.isnan(v)]
        axes.hlines(positions, left, finite, color=SOFT, linewidth=2)
        axes.plot(finite, positions, "o", color=BAR_COLOUR, markersize=7)
        axes.set_xlim(left, 1.0 + 0.01 * span)
        axes.axvline(1.0, color="#999", linewidth=0.8, linestyle=":")
        decimals = max(percent_decimals(v) for v in finite)
        _value_column(axes, ["no samples" if math.isnan(v) else _percent(v, decimals) for v in values])
    axes.xaxis.set_major_formatter(PercentFormatter(1.0))
    zoom = f"; the axis starts at {left:.{percent_decimals(left)}%}, zoomed to the values" if left > 0 else ""
    axes.set_xlabel(f"samples that are valid (not WFDB's invalid code){zoom}")
    return png(figure)


def _percent(fraction: float, decimals: int) -> str:
    return "100%" if fraction == 1 else f"{fraction:.{decimals}%}"


def percent_decimals(fraction: float) -> int:
    """Decimals enough for a percentage to show the part missing from 100% to two digits (1 ... 6)."""
    missing = (1.0 - fraction) * 100
    return 1 if missing <= 0 else min(max(1, math.ceil(-math.log10(missing)) + 1), 6)


def means_plot(means: Sequence[dict[str, Any]], stats: pd.DataFrame) -> bytes:
    """Per signal (at most MAX_BARS, those with the most hours) the spread of its records' means, on an axis
    of its own in its commonest units: box from the 25th to the 75th percentile, line at the median, whiskers
    at the 5th and 95th, dots at the smallest and largest (written at the edge when off the axis)."""
    hours = {(row.signal_std, row.kind): row.hours for row in stats.itertuples(index=False)}
    ranked = sorted(means, key=lambda row: -(hours.get((row["signal_std"], row["kind"])) or 0.0))
    shown = sorted(ranked[:MAX_BARS], key=lambda row: (row["signal_std"], row["kind"]))
    figure = figure_of(0.9 + 0.62 * max(len(shown), 1))
    if not shown:
        _nothing(figure.subplots(), "no signal has a record with a valid sample")
        return png(figure)
    rows = figure.subplots(len(shown), 1, squeeze=False)[:, 0]
    figure.subplots_adjust(left=0.2, right=0.74, top=1 - 0.3 / figure.get_figheight(), hspace=1.1,
                           bottom=0.6 / figure.get_figheight())  # fmt: skip
    for axes, row in zip(rows, shown, strict=True):
        _means_row(axes, row)
    rows[-1].set_xlabel("record means, each signal on its own axis, in the units written on its right")
    return png(figure, tight=False)


def _means_row(axes: Axes, row: dict[str, Any]) -> None:
    low, high = row["min"], row["max"]
    p05, p95 = row["p05"], row["p95"]
    width = (p95 - p05) or abs(row["p50"]) * 0.1 or 1.0
    view = (max(low, p05 - width), min(high, p95 + width))
    pad = (view[1] - view[0]) * 0.04 or width * 0.5
    stats = {"med": row["p50"], "q1": row["p25"], "q3": row["p75"], "whislo": p05, "whishi": p95}
    inside = [value for value in (low, high) if view[0] <= value <= view[1]]
    axes.bxp([{**stats, "fliers": inside}], orientation="horizontal", widths=0.6, showfliers=True,
             boxprops={"color": BAR_COLOUR}, medianprops={"color": "#c0392b", "linewidth": 2})  # fmt: skip
    axes.set_xlim(view[0] - pad, view[1] + pad)
    axes.set_yticks([])
    axes.tick_params(axis="x", labelsize=8)
    axes.text(-0.01, 0.5, plot_label(row["signal_std"], row["kind"]), transform=axes.transAxes,
              ha="right", va="center", parse_math=False)  # fmt: skip
    units = plot_text(row["units"], 16) or "no units"
    others = f", and {len(row['other_units'])} other units" if row["other_units"] else ""
    records = f"{row['means']:,} record{'s' * (row['means'] != 1)}"
    note = f"{units}: median {row['p50']:.4g}, {records}{others}"
    off_axis = [
        f"{name} {value:.3g}"
        for name, value, off in [("min", low, low < view[0]), ("max", high, high > view[1])]
        if off
    ]
    if off_axis:
        note += f"\n(off the axis: {', '.join(off_axis)})"
    axes.text(1.01, 0.5, note, transform=axes.transAxes, ha="left", va="center", fontsize=9, parse_math=False)


def _signal_axes(shown: pd.DataFrame) -> tuple[Figure, Axes]:
    """A figure with a row per signal, named on the left, top to bottom in the table's order."""
    figure = figure_of(1.2 + 0.3 * max(len(shown), 1))
    axes = figure.subplots()
    if len(shown):
        positions = list(range(len(shown)))  # not the names as categories: two names may show alike
        pairs = zip(shown["signal_std"], shown["kind"], strict=True)
        axes.set_yticks(positions, [plot_label(signal, kind) for signal, kind in pairs], parse_math=False)
        axes.set_ylim(len(shown) - 0.5, -0.5)  # the table's order, top to bottom
        axes.grid(axis="x", color="#ddd", linewidth=0.6)
        axes.set_axisbelow(True)
    else:
        _nothing(axes, "no signals")
    return figure, axes


def _value_column(axes: Axes, texts: Sequence[str]) -> None:
    """Each row's value written right of the axes, in a column of its own."""
    transform = axes.get_yaxis_transform()  # x in axes coordinates, y in data
    for position, text in enumerate(texts):
        axes.text(1.01, position, text, transform=transform, va="center", ha="left", fontsize=9)


def _nothing(axes: Axes, text: str) -> None:
    axes.text(0.5, 0.5, text, ha="center", va="center", transform=axes.transAxes)
    axes.set_xticks([])
    axes.set_yticks([])
