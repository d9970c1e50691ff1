"""``report.html``: ``quality.json`` and the signal statistics as one page of tables and plots.

One self-contained file: no scripts, no external assets; the plots are PNGs (``plots``, ``group_plots``,
``quality_plots``) embedded as base64 data URIs. The page reads top to bottom: the run (when, which code,
which job, and where each group's outputs came from), the totals and the failures, the groups (volume, time,
errors, windows, coverage over time), then the signals (their statistics, their clipping and flat lines, and
the spread of their record means). Text from the records and the jobs is escaped (``html_tables``); a value
that was not recorded says so.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from steps.contract.code_package import code_digest

from .group_plots import coverage_plot, groups_plot
from .html_tables import image, key_value_table, lines, paragraph, section, table
from .mean_distribution import SAMPLE_SIZE
from .plots import MAX_BARS, hours_plot, means_plot, valid_fraction_plot
from .report_windows_quality import signal_quality_section, windows_section

STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; max-width: 1400px; }
table { border-collapse: collapse; margin-bottom: 1.5em; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
table#run th { white-space: nowrap; }
td { overflow-wrap: anywhere; }
table#signal-quality td:nth-child(2) { overflow-wrap: normal; }
td.number { text-align: right; font-variant-numeric: tabular-nums; overflow-wrap: normal; }
td.missing { color: #888; font-style: italic; }
img { max-width: 100%; display: block; margin-bottom: 0.5em; }
p.note { color: #555; max-width: 75em; }
"""


def render_report(quality: dict[str, Any], stats: pd.DataFrame) -> str:
    """The whole report page."""
    groups = quality["groups"]
    reasons = [error["error"] for error in quality["errors"]]
    plotted = _plotted_note(len(stats))
    sections = [
        section("Run", _run_table(quality["run"])),
        section("Where each group's outputs came from", _sources_table(groups), level=3),
        section("Totals", _totals_table(quality["totals"])),
        section("Error reasons, commonest first", _errors_table(quality["errors"])),
        section("Errors per group and reason", _errors_per_group(groups, reasons)),
        section("Groups", _groups_table(groups) + image(groups_plot(groups, reasons), "per group")),
        section("Windows", windows_section(quality["windows"], groups)),
        section("Coverage over time", _coverage(quality["coverage"], groups)),
        section("Unknown signal names", _unknown_table(quality["unknown_signal_names"])),
        section("Signals", _stats_table(stats)),
        section("Hours per signal", image(hours_plot(stats), "hours per signal") + plotted),
        section("Valid fraction per signal", image(valid_fraction_plot(stats), "valid fraction") + plotted),
        section(
            "Signal quality: clipping and flat lines",
            signal_quality_section(quality["signal_quality"], stats),
        ),
        section("Record means per signal", _means(quality["signal_means"], stats)),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>Waveform features: quality report</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        "<h1>Waveform features: quality report</h1>\n" + "\n".join(sections) + "\n</body>\n</html>\n"
    )


def _run_table(run: dict[str, Any]) -> str:
    job = run["job"] or {}
    config = run["job_config"]
    code = [f"version {run['code_version']}" if run["code_version"] else "package not installed"]
    if job.get("code_digest"):
        code.append(f"code package {job['code_digest']}")
    arguments: list[list[str]] = []  # an option and its values a line
    for argument in job.get("arguments") or []:
        if argument.startswith("--") or not arguments:
            arguments.append([])
        arguments[-1].append(argument)
    count, instance_type = job.get("instance_count"), job.get("instance_type")
    rows = [
        ("report created (UTC)", run["created"]),
        ("job name", job.get("name")),
        ("job ARN", job.get("arn")),
        ("combine code", ", ".join(code)),
        ("inputs", _named(job.get("inputs"))),
        ("outputs", _named(job.get("outputs"))),
        ("instances", f"{count or '?'} x {instance_type}" if instance_type else None),
        ("image", job.get("image")),
        ("arguments", lines(" ".join(option) for option in arguments) if arguments else None),
        ("job configuration", config["problem"] or config["path"]),
    ]
    return key_value_table("run", rows)


def _sources_table(groups: list[dict[str, Any]]) -> str:
    header = [
        "group",
        "extract job",
        "records read from",
        "code package",
        "input version",
        "outputs read from",
    ]
    rows = []
    for group in groups:
        source = group["source"]
        job = source["extract_job"] or {}
        inputs = {name: uri for name, uri in (job.get("inputs") or {}).items() if not code_digest(uri)}
        if len(inputs) == 1:  # the records: no need to name them
            inputs = {"": next(iter(inputs.values()))}
        digest = job.get("code_digest")
        rows.append(
            [
                group["group"],
                job.get("name"),
                _named(inputs),
                digest and digest[:12],
                source["input_version"],
                source["outputs_from"],
            ]
        )
    return table("group-sources", header, rows)


def _named(uris: dict[str, str] | None) -> str | None:
    return "; ".join(f"{name}: {uri}" if name else uri for name, uri in uris.items()) if uris else None


def _totals_table(totals: dict[str, Any]) -> str:
    rows = [(name, value) for name, value in totals.items() if name != "hours"]
    rows += [(f"hours of {kind} records", hours) for kind, hours in totals["hours"].items()]
    return table("totals", ["total", "count"], rows)


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
    return table("errors", ["error", "count", "examples"], rows)


def _errors_per_group(groups: list[dict[str, Any]], reasons: list[str]) -> str:
    reporting = [group for group in groups if group["errors_reported"]]
    if not reporting:
        return "<p>No group reported an error.</p>"
    header = ["group", "records failed", "errors reported", *reasons]
    rows = (
        [
            g["group"],
            g["records_failed"],
            g["errors_reported"],
            *(g["errors_by_code"].get(r, 0) for r in reasons),
        ]
        for g in reporting
    )
    return table("errors-per-group", header, rows)


def _groups_table(groups: list[dict[str, Any]]) -> str:
    kinds = list(dict.fromkeys(kind for group in groups for kind in group["hours"]))
    header = ["group", "records discovered", "summarised", "failed", "rows", "errors reported", "MB read",
              *(f"hours ({kind})" for kind in kinds), "extract seconds", "dated records",
              "undated records", "window seconds", "windows"]  # fmt: skip
    counts = [
        "group",
        "records_discovered",
        "records_summarised",
        "records_failed",
        "rows",
        "errors_reported",
    ]
    rows = (
        [
            *(group[key] for key in counts),
            None if group["bytes_read"] is None else group["bytes_read"] / 1e6,
            *(group["hours"].get(kind, 0.0) for kind in kinds),
            group["extract_seconds"],
            group["records_dated"],
            group["records_undated"],
            group["window_seconds"],
            group["windows"],
        ]
        for group in groups
    )
    return table("groups", header, rows)


def _coverage(coverage: dict[str, Any], groups: list[dict[str, Any]]) -> str:
    undated = [
        f"group {g['group']}: {g['records_undated']:,} record{'s' * (g['records_undated'] != 1)}, "
        f"{g['undated_hours']:,.4g} h"
        for g in groups
        if g["records_undated"]
    ]
    note = f"Not shown, for want of a date: {'; '.join(undated)}." if undated else "Every record is dated."
    return image(coverage_plot(coverage), "hours recorded per group over time") + paragraph(note, "note")


def _unknown_table(unknown: dict[str, int]) -> str:
    if not unknown:
        return "<p>Every signal name is in the table of standard names.</p>"
    return table("unknown-signal-names", ["signal name", "rows"], unknown.items())


def _stats_table(stats: pd.DataFrame) -> str:
    if stats.empty:
        return "<p>No signals.</p>"
    return table("signals", list(stats.columns), stats.itertuples(index=False))


def _means(means: list[dict[str, Any]], stats: pd.DataFrame) -> str:
    plot = image(means_plot(means, stats), "record means per signal")
    if not means:
        return "<p>No signal has a record with a valid sample.</p>" + plot
    header = ["signal_std", "kind", "units", "records", "min", "p05", "p25", "median", "p75", "p95", "max",
              "in other units"]  # fmt: skip
    keys = ["signal_std", "kind", "units", "means", "min", "p05", "p25", "p50", "p75", "p95", "max"]
    rows = (
        [
            *(row[key] for key in keys),
            ", ".join(f"{u or 'no units'}: {n:,}" for u, n in row["other_units"].items()),
        ]
        for row in means
    )
    note = paragraph(
        "The mean of each record's valid samples, in the units most of the signal's records give (records in "
        "other units are counted in the last column, not in the spread). Percentiles are exact up to "
        f"{SAMPLE_SIZE:,} records, and beyond those of a uniform sample of {SAMPLE_SIZE:,}.",
        "note",
    )
    return note + table("signal-means", header, rows) + plot + _plotted_note(len(means))


def _plotted_note(signals: int) -> str:
    if signals <= MAX_BARS:
        return ""
    return f"<p>The {MAX_BARS} signals with the most hours, of {signals:,}; the table lists them all.</p>"
