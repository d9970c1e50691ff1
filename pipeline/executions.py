"""Reporting on executions: their steps and executions as tables, waiting for one to finish, exit codes."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

TERMINAL = {"Succeeded", "Failed", "Stopped"}
EXIT_CODES = {"Succeeded": 0, "Failed": 1, "Stopped": 1}
NOT_FINISHED_EXIT = 3  # Executing or Stopping: no outcome yet


@dataclass(frozen=True)
class StepRow:
    name: str
    status: str
    cache: str
    started: str
    ended: str
    failure: str


def step_rows(steps: Sequence[dict[str, Any]]) -> list[StepRow]:
    """Rows of ``ListPipelineExecutionSteps`` summaries, in the order the steps started."""
    rows = []
    for step in sorted(steps, key=_start_order):
        hit = step.get("CacheHitResult", {}).get("SourcePipelineExecutionArn")
        rows.append(
            StepRow(
                name=step["StepName"],
                status=step.get("StepStatus", "?"),
                cache=f"hit from {hit.rsplit('/', 1)[-1]}" if hit else "-",
                started=_time(step.get("StartTime")),
                ended=_time(step.get("EndTime")),
                failure=step.get("FailureReason", "") or "",
            )
        )
    return rows


def _start_order(step: dict[str, Any]) -> tuple[float, str]:
    started = step.get("StartTime")
    return (started.timestamp() if isinstance(started, datetime) else float("inf"), step["StepName"])


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in [headers, *rows]]  # fmt: skip
    return "\n".join(lines)


def steps_table(rows: Sequence[StepRow]) -> str:
    headers = ("STEP", "STATUS", "CACHE", "START", "END", "FAILURE")
    return render_table(headers, [(r.name, r.status, r.cache, r.started, r.ended, r.failure) for r in rows])


def executions_table(summaries: Sequence[dict[str, Any]]) -> str:
    rows = [
        (
            summary["PipelineExecutionArn"].rsplit("/", 1)[-1],
            summary.get("PipelineExecutionStatus", "?"),
            _time(summary.get("StartTime")),
            summary.get("PipelineExecutionDisplayName", ""),
        )
        for summary in summaries
    ]
    return render_table(("EXECUTION", "STATUS", "START", "DISPLAY NAME"), rows)


def list_steps(list_steps_call: Callable[[], list[dict[str, Any]]]) -> tuple[list[StepRow], str]:
    """The execution's step rows, or none and why when the service cannot list them."""
    try:
        return step_rows(list_steps_call()), ""
    except ClientError as exc:
        error = exc.response.get("Error", {})
        return [], f"steps unavailable: {error.get('Code', 'error')}: {error.get('Message', exc)}"


def wait_until_finished(
    describe: Callable[[], dict[str, Any]],
    poll_seconds: float,
    report: Callable[[str], None],
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Poll until the execution reaches a terminal status, reporting each change of status."""
    last = ""
    while True:
        described = describe()
        status = described["PipelineExecutionStatus"]
        if status != last:
            report(f"{_time(datetime.now().astimezone())} {status}")
            last = status
        if status in TERMINAL:
            return described
        sleep(poll_seconds)


def exit_code(status: str) -> int:
    return EXIT_CODES.get(status, NOT_FINISHED_EXIT)


def _time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else "-"
