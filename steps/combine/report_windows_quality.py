"""The report's sections on windows and signal quality, from ``quality.json``'s ``windows`` and
``signal_quality``: which window length the windows dataset holds and which groups it lacks; per signal, how
much is clipped or flat, over its samples, its records and its windows (``quality_plots`` draws it)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from .html_tables import Missing, Percent, image, paragraph, table
from .plots import MAX_BARS
from .quality_plots import quality_plot


def windows_section(windows: dict[str, Any], groups: list[dict[str, Any]]) -> str:
    """What the windows dataset holds: the window length, its rows, and the groups without windows."""
    length = windows["window_seconds"]
    if not length:
        return paragraph(
            "No windows: the groups were extracted without them (a window length of 0, or an extract step "
            "older than windows), so there is no windows dataset."
        )
    without = [
        f"{group['group']} ({'no length recorded' if group['window_seconds'] is None else 'length 0'})"
        for group in groups
        if not group["window_seconds"]
    ]
    text = (
        f"Every signal of every record cut into windows of {length:g} s (the last one of a signal partial): "
        f"{windows['rows']:,} windows in the windows dataset, partitioned by patient_group as the records "
        "are, one row per record, signal and window, with the record's statistics and quality fractions over "
        "the window's valid samples."
    )
    if without:
        text += f" Groups without windows, so not in it: {', '.join(without)}."
    return paragraph(text)


def signal_quality_section(quality: dict[str, Any], stats: pd.DataFrame) -> str:
    """The note, the table of every signal and the figure."""
    signals = quality["signals"]
    mostly = quality["mostly"]
    windows = any(row["windows"] for row in signals)
    note = paragraph(
        "Clipped: valid samples at the lowest or highest value the signal's storage format can hold. Flat: "
        "valid samples in a run of a second or more of one value. Per signal, the share of all its valid "
        "samples that are so, the median of its records' shares (exact up to "
        f"{quality['median_sample_size']:,} records, beyond from a uniform sample of as many), and the share "
        f"of its records that are mostly so (more than {mostly:.0%} of their valid samples)"
        + (", and of its windows." if windows else "; no windows were cut.")
        + " A record without valid samples has no share: it is counted in 'records', not in 'records "
        "measured'.",
        "note",
    )
    figure = image(
        quality_plot(signals, stats, mostly), "clipped and flat samples, records and windows per signal"
    )
    if not signals:
        return note + "<p>No signals.</p>" + figure
    header = ["signal_std", "kind", "records", "records measured", "samples clipped", "median record clipped",
              "records mostly clipped", "samples flat", "median record flat",
              "records mostly flat"]  # fmt: skip
    if windows:
        header += ["windows", "windows mostly clipped", "windows mostly flat", "windows mostly either"]
    rows = []
    for row in signals:
        cells = [
            row["signal_std"],
            row["kind"],
            row["records"],
            max(row["clip_records"], row["flat_records"]),
            *(_percent(row[key]) for key in ("clip_of_samples", "clip_record_median", "clip_records_mostly")),
            *(_percent(row[key]) for key in ("flat_of_samples", "flat_record_median", "flat_records_mostly")),
        ]
        if windows:
            cells.append(row["windows"])
            cells += [_percent(row[f"windows_mostly_{name}"]) for name in ("clipped", "flat", "either")]
        rows.append(cells)
    plotted = (
        ""
        if len(stats) <= MAX_BARS
        else f"<p>The figure shows the {MAX_BARS} signals with the most hours.</p>"
    )
    figure = image(
        quality_plot(signals, stats, mostly), "clipped and flat samples, records and windows per signal"
    )
    return note + table("signal-quality", header, rows) + figure + plotted


NOT_MEASURED = Missing("not measured")


def _percent(value: float | None) -> Percent | Missing:
    """A share as a percentage cell; None: nothing was measured."""
    return NOT_MEASURED if value is None else Percent(value)
