"""The report's figures of groups: data volume, time and failures per group, and coverage over time.

Drawn like every figure of the report (``plots``): PNG bytes, as wide as the page. The groups' panels share
their rows (a group each) and have each their own axis; a number a group's summary does not give is drawn as
no bar and written "not recorded". The coverage is a heatmap of hours per group and period, one panel per
record kind, on a colour scale of its own (logarithmic when the hours span more than two orders of magnitude);
its periods are labels already (``coverage.coverage_table``), so no date reaches matplotlib's calendar, which
ends before MIMIC's shifted years do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.colors import LogNorm, Normalize
from matplotlib.ticker import MaxNLocator

from .plots import BAR_COLOUR, figure_of, plot_text, png

KIND_COLOURS = {"waveform": BAR_COLOUR, "numerics": "#e1812c"}
REASON_COLOURS = ["#c0392b", "#8e44ad", "#d35400", "#16a085", "#7f8c8d", "#2c3e50", "#f1c40f", "#27ae60"]
MAX_TICKS = 24


def groups_plot(groups: Sequence[dict[str, Any]], reasons: Sequence[str]) -> bytes:
    """Per group: MB read, hours recorded per kind, extract seconds, and errors by reason (``reasons``: every
    code, commonest first)."""
    names = [group["group"] for group in groups]
    figure = figure_of(1.6 + 0.32 * max(len(names), 1))
    panels = figure.subplots(1, 4, sharey=True)
    positions = np.arange(len(names))
    _bars(panels[0], positions, [_scaled(g["bytes_read"], 1e-6) for g in groups], "MB read")
    kinds = sorted({kind for g in groups for kind in g["hours"]}, key=lambda kind: (kind != "waveform", kind))
    height = 0.8 / max(len(kinds), 1)
    for index, kind in enumerate(kinds):
        offset = (index - (len(kinds) - 1) / 2) * height
        hours = [g["hours"].get(kind, 0.0) for g in groups]
        panels[1].barh(positions + offset, hours, height, label=plot_text(kind, 20),
                       color=KIND_COLOURS.get(kind, "#777"))  # fmt: skip
    if kinds:
        _legend_above(panels[1])
    panels[1].set_xlabel("hours recorded")
    _bars(panels[2], positions, [g["extract_seconds"] for g in groups], "extract seconds")
    left = np.zeros(len(names))
    for index, reason in enumerate(reasons):
        counts = np.array([g["errors_by_code"].get(reason, 0) for g in groups], dtype=float)
        panels[3].barh(positions, counts, left=left, label=plot_text(reason, 30),
                       color=REASON_COLOURS[index % len(REASON_COLOURS)])  # fmt: skip
        left += counts
    if reasons:
        _legend_above(panels[3])
        panels[3].xaxis.set_major_locator(MaxNLocator(integer=True))
    else:
        panels[3].text(0.5, 0.5, "no errors", ha="center", va="center", transform=panels[3].transAxes)
    panels[3].set_xlabel("errors reported, by reason")
    panels[0].set_yticks(positions, names, parse_math=False)
    panels[0].set_ylim(len(names) - 0.5, -0.5)
    panels[0].set_ylabel("group")
    for axes in panels:
        axes.grid(axis="x", color="#ddd", linewidth=0.6)
        axes.set_axisbelow(True)
    return png(figure)


def _legend_above(axes: Any) -> None:
    axes.legend(fontsize=8, loc="lower left", bbox_to_anchor=(0.0, 1.01), ncol=2, frameon=False)


def _bars(axes: Any, positions: np.ndarray, values: Sequence[float | None], label: str) -> None:
    axes.barh(positions, [value or 0.0 for value in values], color=BAR_COLOUR)
    for position, value in zip(positions, values, strict=True):
        if value is None:
            axes.text(0, position, " not recorded", va="center", fontsize=8, color="#777")
    axes.set_xlabel(label)


def _scaled(value: float | None, factor: float) -> float | None:
    return None if value is None else value * factor


def coverage_plot(coverage: dict[str, Any]) -> bytes:
    """Hours recorded per group (rows) and period (columns), a panel per record kind."""
    kinds = list(coverage["hours"])
    columns = coverage["columns"]
    groups = sorted({group for by_group in coverage["hours"].values() for group in by_group})
    figure = figure_of(0.6 + len(kinds) * (1.4 + 0.3 * len(groups)) if kinds else 1.6)
    if not kinds:
        axes = figure.subplots()
        axes.text(0.5, 0.5, "no dated records", ha="center", va="center", transform=axes.transAxes)
        axes.set_xticks([])
        axes.set_yticks([])
        return png(figure)
    panels = figure.subplots(len(kinds), 1, squeeze=False)[:, 0]
    for axes, kind in zip(panels, kinds, strict=True):
        hours = np.array([coverage["hours"][kind].get(group, [0.0] * len(columns)) for group in groups])
        shown = np.ma.masked_less_equal(hours, 0.0)  # no record then: left blank
        positive = hours[hours > 0]
        low, high = (float(positive.min()), float(positive.max())) if positive.size else (0.0, 1.0)
        norm = LogNorm(low, high) if high > 100 * low > 0 else Normalize(0.0, high)
        image = axes.imshow(shown, aspect="auto", cmap="viridis", norm=norm, interpolation="nearest")
        axes.set_facecolor("#f2f2f2")
        axes.set_yticks(range(len(groups)), groups, parse_math=False)
        step = max(1, -(-len(columns) // MAX_TICKS))
        ticks = list(range(0, len(columns), step))
        crowded = len(ticks) * max(len(label) for label in columns) > 100
        axes.set_xticks(ticks, [columns[t] for t in ticks], rotation=90 if crowded else 0)
        if len(columns) <= 16:  # few cells: each written in
            for (row, column), value in np.ndenumerate(hours):
                if value > 0:
                    colour = "black" if norm(value) > 0.6 else "white"
                    axes.text(
                        column, row, f"{value:.3g} h", ha="center", va="center", fontsize=9, color=colour
                    )
        axes.set_title(f"{plot_text(kind, 20)} records: hours recorded per {coverage['period']}",
                       fontsize=10, parse_math=False)  # fmt: skip
        figure.colorbar(image, ax=axes, label="hours", pad=0.01, fraction=0.03)
    return png(figure)
