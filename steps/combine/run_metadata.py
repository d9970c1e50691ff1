"""Which run a report describes: when it was made, by which code, in which job; where each group came from.

The job is the one whose configuration the step finds (``steps.contract.job_config``): on SageMaker the
combine step's own Processing job, whose name, ARN and output URI identify the pipeline execution that ran
it, and whose code package's key holds the code's digest; in a local run the runner's equivalent. Nothing of
it is passed as an argument or an environment variable of the step, which would change its cache key on
every execution. A cached combine step's report is the report of the run that computed it, and its metadata
describe that run. Each group's outputs name the extract job that made them (its ``summary.json``: the
job's facts, recorded the same way) and its input version; the combine step adds where it read them from.
"""

from __future__ import annotations

from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from steps.contract.failure import printable
from steps.contract.job_config import JOB_FACTS, JobConfig, job_facts

from .group_outputs import GroupOutputs

DISTRIBUTION = "waveform-pipeline"  # the project's package, when installed (not in a Processing job)


def run_metadata(job: JobConfig, created: datetime | None = None) -> dict[str, Any]:
    """The run's metadata for ``quality.json`` and the report (``created``: default now)."""
    return {
        "created": f"{created or datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}",
        "code_version": package_version(),
        "job": job_facts(job.request) if job.request else None,
        "job_config": {"path": printable(str(job.path)), "problem": job.problem or None},
    }


def package_version() -> str | None:
    """The installed project's version; None where only the step's code package is (a Processing job)."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return None


def group_source(outputs: GroupOutputs, location: str) -> dict[str, Any]:
    """Where a group's outputs came from: the location the step read them from, the extract job that made
    them and the input version it was given (None when its ``summary.json`` does not say)."""
    summary = outputs.summary
    version_given = summary.get("input_version")
    return {
        "outputs_from": printable(location),
        "input_version": printable(version_given) if isinstance(version_given, str) else None,
        "extract_job": recorded_facts(summary.get("job")),
        "host_shares": len(outputs.parts),
    }


def recorded_facts(facts: Any) -> dict[str, Any] | None:
    """A job's facts as a summary recorded them (``job_facts``): each kept only if of the type it writes
    (else None), text made printable; None if none were recorded."""
    if not isinstance(facts, dict) or not facts:
        return None
    kept: dict[str, Any] = {}
    for key, kind in JOB_FACTS.items():
        value = facts.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            kept[key] = None
        elif isinstance(value, str):
            kept[key] = printable(value)
        elif isinstance(value, dict):
            kept[key] = {printable(k): printable(v) for k, v in value.items() if isinstance(v, str)}
        elif isinstance(value, list):
            kept[key] = [printable(item) for item in value if isinstance(item, str)]
        else:
            kept[key] = value
    return kept
