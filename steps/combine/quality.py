"""``quality.json``: what every group discovered, summarised and failed, why records failed, unknown names.

Everything is accounted for: the error counts add up to the lines of every ``errors.jsonl``, and records
discovered = summarised + failed, per group and in total.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from steps.contract.outputs import SUMMARY_COUNTS

from .group_outputs import GroupOutputs

EXAMPLES_PER_ERROR = 3


def quality_report(groups: list[GroupOutputs], unknown_names: Counter[str]) -> dict[str, Any]:
    """The quality summary of a combine run, ready for ``json.dump``."""
    per_group = [_group_quality(outputs) for outputs in groups]
    totals: dict[str, int] = {"groups": len(groups)}
    for count in SUMMARY_COUNTS:
        totals[count] = sum(group[count] for group in per_group)
    totals["unknown_signal_rows"] = unknown_names.total()
    return {
        "totals": totals,
        "groups": per_group,
        "errors": error_reasons(groups),
        "unknown_signal_names": _commonest_first(unknown_names),
    }


def _group_quality(outputs: GroupOutputs) -> dict[str, Any]:
    quality: dict[str, Any] = {"group": outputs.group}
    quality.update({count: outputs.summary[count] for count in SUMMARY_COUNTS})
    quality["errors_by_code"] = _commonest_first(Counter(error["error"] for error in outputs.errors))
    return quality


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
