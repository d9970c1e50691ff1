"""Reporting on executions: their steps and executions as tables, waiting for one to finish, exit codes."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from .execution_outputs import OutputLocations

TERMINAL = {"Succeeded", "Failed", "Stopped"}
EXIT_CODES = {"Succeeded": 0, "Failed": 1, "Stopped": 1}
NOT_FINISHED_EXIT = 3  # Executing or Stopping: no outcome yet


@dataclass(frozen=True)
class StepRow:
    name: str
    status: str
    cache_source: str  # the ARN of the execution whose run a cache hit reuses; empty when the step ran here
    started: datetime | None
    ended: datetime | None
    failure: str

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "cache_hit_source": self.cache_source or None,
            "started": iso_time(self.started),
            "ended": iso_time(self.ended),
            "failure_reason": self.failure or None,
        }


def step_rows(steps: Sequence[dict[str, Any]]) -> list[StepRow]:
    """Rows of ``ListPipelineExecutionSteps`` summaries, in the order the steps started."""
    return [
        StepRow(
            name=step["StepName"],
            status=step.get("StepStatus", "?"),
            cache_source=step.get("CacheHitResult", {}).get("SourcePipelineExecutionArn", "") or "",
            started=_datetime(step.get("StartTime")),
            ended=_datetime(step.get("EndTime")),
            failure=step.get("FailureReason", "") or "",
        )
        for step in sorted(steps, key=_start_order)
    ]


def reused_from(rows: Sequence[StepRow]) -> dict[str, str]:
    """The steps that were cache hits, each with the ARN of the execution whose run it reuses."""
    return {row.name: row.cache_source for row in rows if row.cache_source}


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
    return render_table(
        headers,
        [
            (r.name, r.status, _cache(r.cache_source), _time(r.started), _time(r.ended), r.failure)
            for r in rows
        ],
    )


def _cache(source: str) -> str:
    return f"hit from {source.rsplit('/', 1)[-1]}" if source else "-"


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


def execution_json(summary: dict[str, Any]) -> dict[str, Any]:
    """An execution of ``ListPipelineExecutions``, as ``executions --output json`` lists it."""
    arn = summary["PipelineExecutionArn"]
    return {
        "execution_id": arn.rsplit("/", 1)[-1],
        "execution_arn": arn,
        "status": summary.get("PipelineExecutionStatus"),
        "started": iso_time(_datetime(summary.get("StartTime"))),
        "display_name": summary.get("PipelineExecutionDisplayName"),
    }


@dataclass(frozen=True)
class ExecutionReport:
    """What ``status`` says of an execution: its outcome, its steps, where its outputs are; each part that
    the service could not give says why instead."""

    arn: str
    status: str
    failure_reason: str
    steps: list[StepRow]
    steps_unavailable: str  # why the steps are not listed; empty when they are
    outputs: OutputLocations | None
    outputs_unavailable: str  # why the outputs are not known; empty when they are

    def as_json(self) -> dict[str, Any]:
        return {
            "execution_id": self.arn.rsplit("/", 1)[-1],
            "execution_arn": self.arn,
            "status": self.status,
            "failure_reason": self.failure_reason or None,
            "steps": [row.as_json() for row in self.steps],
            "steps_unavailable": self.steps_unavailable or None,
            "outputs": self.outputs.as_json() if self.outputs else None,
            "outputs_unavailable": self.outputs_unavailable or None,
        }

    def text(self) -> str:
        lines = [f"execution {self.arn.rsplit('/', 1)[-1]}: {self.status}"]
        if self.failure_reason:
            lines.append(f"failure: {self.failure_reason}")
        if self.steps:
            lines.append(steps_table(self.steps))
        else:
            lines.append(
                f"steps unavailable: {self.steps_unavailable}"
                if self.steps_unavailable
                else "no steps have started"
            )
        if self.outputs and self.outputs.rows():
            lines.append(render_table(("OUTPUT", "LOCATION"), self.outputs.rows()))
        elif self.outputs_unavailable:
            lines.append(f"outputs unavailable: {self.outputs_unavailable}")
        return "\n".join(lines)


def list_steps(list_steps_call: Callable[[], list[dict[str, Any]]]) -> tuple[list[StepRow], str]:
    """The execution's step rows, or none and why when the service cannot list them."""
    try:
        return step_rows(list_steps_call()), ""
    except ClientError as exc:
        return [], service_error(exc)


def service_error(exc: ClientError) -> str:
    """The service's error code and message, on one line."""
    error = exc.response.get("Error", {})
    return " ".join(f"{error.get('Code', 'error')}: {error.get('Message', exc)}".split())


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


def iso_time(value: datetime | None) -> str | None:
    """A time as JSON output gives it: ISO 8601, with its offset when it has one."""
    return value.isoformat() if value is not None else None


def _datetime(value: Any) -> datetime | None:
    return value if isinstance(value, datetime) else None
