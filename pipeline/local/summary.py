"""What a finished local run tells its user last: the steps run and reused, the records that failed (per
group, commonest reasons first), and where the dataset, the windows dataset (when windows were cut), the
report, the logs and ``<output>/latest`` are."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from steps.combine.output_names import DATASET_FOLDER, QUALITY_FILE, REPORT_FILE, WINDOWS_FOLDER
from steps.contract.outputs import ERRORS_FILE

from .run import LATEST, LocalRun

MAX_GROUPS_LISTED = 10  # failing groups named one per line; beyond, the rest in one line
MAX_REASONS_LISTED = 3  # per group, commonest first


def summary_lines(run: LocalRun, output_dir: Path) -> list[str]:
    """The lines a finished run ends with."""
    ran = len(run.outcomes) - len(run.reused)
    lines = [f"execution {run.execution_id}: {ran} step(s) ran, {len(run.reused)} reused from the cache"]
    if run.reused:
        sources = sorted({outcome.source_execution for outcome in run.reused})
        lines.append(f"reused: {', '.join(o.name for o in run.reused)} (from {', '.join(sources)})")
    lines += _record_lines(_quality(run.combined / QUALITY_FILE), run.group_output_of)
    latest = output_dir / LATEST
    windows = run.combined / WINDOWS_FOLDER
    lines += [
        f"dataset: {_shown(run.combined / DATASET_FOLDER)}",
        f"windows: {_shown(windows)}" if windows.is_dir() else "",
        f"report:  {_shown(run.combined / REPORT_FILE)}",
        f"logs:    {', '.join(_shown(folder) for folder in run.log_folders)}",
        f"latest:  {_shown(latest)} -> {os.readlink(latest)}" if latest.is_symlink() else "",
    ]
    return [line for line in lines if line]


def _shown(path: Path) -> str:
    """A path as a user can type it from here: relative to the working folder when inside it, as git shows
    paths; absolute otherwise."""
    try:
        here = Path.cwd()
    except OSError:  # the working folder was removed
        return str(path)
    return str(path.relative_to(here)) if path.is_relative_to(here) else str(path)


def _quality(path: Path) -> dict[str, Any] | None:
    try:
        quality = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return quality if isinstance(quality, dict) else None


def _record_lines(quality: dict[str, Any] | None, outputs: Mapping[str, Path]) -> list[str]:
    """Records summarised and failed, and for each group with failures its count, its commonest reasons and
    the errors file that lists them (``outputs``: each group's output folder)."""
    if quality is None:
        return [f"records: see {QUALITY_FILE} (it could not be read)"]
    totals = quality["totals"]
    lines = [
        f"records: {totals['records_summarised']:,} of {totals['records_discovered']:,} summarised, "
        f"{totals['records_failed']:,} failed, in {totals['groups']} group(s)"
    ]
    failing = [group for group in quality["groups"] if group["errors_reported"]]
    for group in failing[:MAX_GROUPS_LISTED]:
        reasons: dict[str, int] = group["errors_by_code"]  # commonest first
        shown = [f"{reason} {count:,}" for reason, count in list(reasons.items())[:MAX_REASONS_LISTED]]
        if len(reasons) > MAX_REASONS_LISTED:
            shown.append(f"{len(reasons) - MAX_REASONS_LISTED} more reason(s)")
        errors = _shown(outputs[group["group"]] / ERRORS_FILE) if group["group"] in outputs else ERRORS_FILE
        lines.append(
            f"  group {group['group']}: {group['records_failed']:,} failed ({', '.join(shown)}): {errors}"
        )
    if len(failing) > MAX_GROUPS_LISTED:
        rest = failing[MAX_GROUPS_LISTED:]
        lines.append(
            f"  and {len(rest)} more group(s) with {sum(g['records_failed'] for g in rest):,} failed records"
        )
    return lines
