"""The report's figure of signal quality: per signal, how much of it is clipped and how much is flat.

Two panels sharing their rows (a signal each, at most ``plots.MAX_BARS``, those with the most hours, in the
table's order): clipping on the left, flat lines on the right. In each, a bar is the share of the signal's
valid samples (over all its records), a hollow diamond the share of its records that are mostly so (more than
``mostly`` of their valid samples), and, when windows were cut, a dot the share of its windows that are.
Each axis is fitted to its largest value (shares of a few tenths of a percent would vanish on a 0 ... 100 %
axis), and says so. A signal measured on no record is written "not measured" in its row, never drawn as 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import PercentFormatter

from .plots import BAR_COLOUR, figure_of, plot_label, plotted, png

WINDOW_COLOUR = "#c0392b"
RECORD_COLOUR = "#2c3e50"
PANELS = (("clip", "clipped", "mostly_clipped"), ("flat", "flat", "mostly_flat"))


def quality_plot(signals: Sequence[dict[str, Any]], stats: pd.DataFrame, mostly: float) -> bytes:
    """The figure of ``signals`` (``signal_quality``'s rows); ``stats`` chooses which, by hours."""
    shown = _shown(signals, stats)
    figure = figure_of(1.6 + 0.3 * max(len(shown), 1))
    panels = figure.subplots(1, 2, sharey=True)
    positions = list(range(len(shown)))
    if not shown:
        for axes in panels:
            axes.text(0.5, 0.5, "no signals", ha="center", va="center", transform=axes.transAxes)
            axes.set_xticks([])
            axes.set_yticks([])
        return png(figure)
    windows = any(row["windows"] for row in shown)
    for axes, (prefix, word, window_key) in zip(panels, PANELS, strict=True):
        samples = [_value(row[f"{prefix}_of_samples"]) for row in shown]
        records = [_value(row[f"{prefix}_records_mostly"]) for row in shown]
        in_windows = [_value(row[f"windows_{window_key}"]) for row in shown]
        axes.barh(positions, [0.0 if math.isnan(v) else v for v in samples], color=BAR_COLOUR, height=0.6,
                  label=f"valid samples {word}")  # fmt: skip
        _points(axes, records, "D", RECORD_COLOUR, f"records > {mostly:.0%} {word}", hollow=True)
        if windows:
            _points(axes, in_windows, "o", WINDOW_COLOUR, f"windows > {mostly:.0%} {word}")
        for position, value in enumerate(samples):
            if math.isnan(value):
                axes.text(0.01, position, "not measured", transform=axes.get_yaxis_transform(), va="center",
                          fontsize=8, color="#888")  # fmt: skip
        top = max([v for v in [*samples, *records, *in_windows] if not math.isnan(v)], default=0.0)
        axes.set_xlim(0, max(top * 1.08, 0.001))
        axes.xaxis.set_major_formatter(PercentFormatter(1.0))
        axes.grid(axis="x", color="#ddd", linewidth=0.6)
        axes.set_axisbelow(True)
        axes.set_xlabel(f"{word}: share of valid samples, records and windows (axis fitted to the values)")
        axes.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=3, fontsize=8, frameon=False)
    pairs = [(row["signal_std"], row["kind"]) for row in shown]
    panels[0].set_yticks(positions, [plot_label(signal, kind) for signal, kind in pairs], parse_math=False)
    panels[0].set_ylim(len(shown) - 0.5, -0.5)
    return png(figure)


def _shown(signals: Sequence[dict[str, Any]], stats: pd.DataFrame) -> list[dict[str, Any]]:
    """The signals the figure shows: those ``plots.plotted`` picks from ``stats``, in its order."""
    by_key = {(row["signal_std"], row["kind"]): row for row in signals}
    picked = plotted(stats)
    keys = [(row.signal_std, row.kind) for row in picked.itertuples(index=False)]
    return [by_key[key] for key in keys if key in by_key]


def _value(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _points(
    axes: Axes, values: Sequence[float], marker: str, colour: str, label: str, hollow: bool = False
) -> None:
    positions = [p for p, v in enumerate(values) if not math.isnan(v)]
    kept = [values[p] for p in positions]
    face = "none" if hollow else colour
    axes.plot(kept, positions, marker, color=colour, markerfacecolor=face, markersize=6, linestyle="none",
              label=label)  # fmt: skip
