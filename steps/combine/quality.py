"""``quality.json``: the run, what every group discovered, summarised and failed, why records failed, unknown
names; per group its data volume, recording time, windows and where it came from; the windows dataset's
window length and rows; the spread of each signal's record means, each signal's clipping and flat lines
(``signal_quality``), and the groups' coverage over time. The report (``report.py``) shows exactly this, and
the statistics.

Everything is accounted for: the error counts add up to the lines of every ``errors.jsonl``, and records
discovered = summarised + failed, per group and in total. A number a group's ``summary.json`` does not give
(bytes read, seconds) is None, as is its total then.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from typing import Any

from steps.contract.outputs import SUMMARY_COUNTS

from .coverage import GroupRecording, coverage_table
from .group_outputs import GroupOutputs
from .mean_distribution import MeanDistributions
from .run_metadata import group_source
from .signal_quality import SignalQuality

EXAMPLES_PER_ERROR = 3


def quality_report(
    groups: list[GroupOutputs],
    unknown_names: Counter[str],
    recordings: Mapping[str, GroupRecording],
    means: MeanDistributions,
    run: dict[str, Any],
    locations: Mapping[str, str],
    signal_quality: SignalQuality | None = None,
    window_seconds: float | None = None,
) -> dict[str, Any]:
    """The quality summary of a combine run, ready for ``json.dump``: ``recordings`` and ``locations`` by
    group (where its outputs were read from), ``run`` as ``run_metadata`` gives it; ``window_seconds``: the
    windows' one length (None: no windows)."""
    per_group = [
        _group_quality(outputs, recordings[outputs.group], locations[outputs.group]) for outputs in groups
    ]
    totals: dict[str, Any] = {"groups": len(groups)}
    for count in SUMMARY_COUNTS:
        totals[count] = sum(group[count] for group in per_group)
    totals["unknown_signal_rows"] = unknown_names.total()
    totals["bytes_read"] = _total(group["bytes_read"] for group in per_group)
    hours: Counter[str] = Counter()
    for group in per_group:
        hours.update(group["hours"])
    totals["hours"] = {kind: hours[kind] for kind in _kinds(hours)}
    totals["records_undated"] = sum(group["records_undated"] for group in per_group)
    totals["windows"] = sum(group["windows"] for group in per_group)
    return {
        "run": run,
        "totals": totals,
        "groups": per_group,
        "windows": {
            "window_seconds": window_seconds,
            "rows": totals["windows"],
            "groups_without_windows": [group["group"] for group in per_group if not group["window_seconds"]],
        },
        "errors": error_reasons(groups),
        "unknown_signal_names": _commonest_first(unknown_names),
        "signal_means": means.summary(),
        "signal_quality": (signal_quality or SignalQuality()).summary(),
        "coverage": coverage_table(dict(recordings)),
    }


def _group_quality(outputs: GroupOutputs, recording: GroupRecording, location: str) -> dict[str, Any]:
    quality: dict[str, Any] = {"group": outputs.group}
    quality.update({count: outputs.summary[count] for count in SUMMARY_COUNTS})
    quality["errors_by_code"] = _commonest_first(Counter(error["error"] for error in outputs.errors))
    shares = outputs.part_summaries
    quality["bytes_read"] = _total(_count(share.get("bytes_read")) for share in shares)  # every share's
    # the group's shares ran at once, each on its instance: the group took as long as the slowest
    seconds = [_seconds(share.get("seconds")) for share in shares]
    quality["extract_seconds"] = None if None in seconds else max(s for s in seconds if s is not None)
    quality["hours"] = {kind: recording.hours[kind] for kind in _kinds(recording.hours)}
    quality["records_dated"] = recording.records_dated
    quality["records_undated"] = recording.records_undated
    quality["undated_hours"] = recording.undated_hours
    quality["window_seconds"] = outputs.window_seconds  # 0: none cut; None: its summary does not say
    quality["windows"] = outputs.windows
    quality["source"] = group_source(outputs, location)
    return quality


def _kinds(hours: Mapping[str, float]) -> list[str]:
    """Record kinds, waveform first, then by name."""
    return sorted(hours, key=lambda kind: (kind != "waveform", kind))


def _total(values: Any) -> Any:
    """The sum of numbers; None if any is None (not recorded)."""
    values = list(values)
    return None if None in values else sum(values)


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _seconds(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value >= 0:
        return float(value)
    return None


def error_reasons(groups: list[GroupOutputs]) -> list[dict[str, Any]]:
    """Every error code with its count and a few example errors, commonest first."""
    by_code: dict[str, list[dict[str, str]]] = {}
    for outputs in groups:
        for error in outputs.errors:
            by_code.setdefault(error["error"], []).append(error)
    return [
        {
            "error": code,
            "count": count,
            "examples": [
                {key: error[key] for key in ("group", "path", "message")}
                for error in by_code[code][:EXAMPLES_PER_ERROR]
            ],
        }
        for code, count in _commonest_first(
            Counter({code: len(errors) for code, errors in by_code.items()})
        ).items()
    ]


def _commonest_first(counts: Counter[str]) -> dict[str, int]:
    """Counts as a dict, commonest first and ties by name, so the file is the same on every run."""
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
