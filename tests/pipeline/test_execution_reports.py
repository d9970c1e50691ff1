"""What ``status`` and ``executions`` report, through the real SDK to moto's server: where an execution's
outputs are (the dataset, the reports, each group's), as a table or as one JSON document."""

from __future__ import annotations

import json
from datetime import datetime

from pipeline.execution_outputs import execution_run, output_locations
from tests.aws import MotoAws
from tests.pipeline.cli_fixtures import BUCKET, PIPELINE, Cli

REPORTS = ("signal_stats.csv", "quality.json", "report.html")
GROUPS = ("30", "31", "32")  # the deployable fixture's


def started(cli: Cli, *argv: str) -> str:
    code, out, err = cli("start", *argv)
    assert code == 0, err
    return out.split()[-1]


def expected_outputs(root: str, execution_id: str) -> dict[str, object]:
    """Where an execution writes under the output root ``root``, as ``status --output json`` says it."""
    combined = f"{root}/{execution_id}/combined"
    return {
        "dataset": f"{combined}/dataset/",
        "windows": f"{combined}/windows/",
        "reports": {name: f"{combined}/{name}" for name in REPORTS},
        "groups": {f"Extract{group}": f"{root}/{execution_id}/groups/{group}" for group in GROUPS},
    }


def outputs_table(out: str) -> dict[str, str]:
    lines = out.splitlines()
    header = next(index for index, line in enumerate(lines) if line.split() == ["OUTPUT", "LOCATION"])
    return dict(line.split() for line in lines[header + 1 :])


def test_status_says_where_the_dataset_reports_and_group_outputs_are(deployable: Cli, aws: MotoAws) -> None:
    assert deployable("upsert")[0] == 0
    first = started(deployable).rsplit("/", 1)[-1]
    second = started(deployable, "--param", "OutputRoot=s3://other-bucket/runs").rsplit("/", 1)[-1]
    default_root = f"s3://{BUCKET}/waveform-pipeline/output"

    code, out, err = deployable("status", first)
    assert code == 0, err
    expected = expected_outputs(default_root, first)
    reports, groups = expected["reports"], expected["groups"]
    assert isinstance(reports, dict) and isinstance(groups, dict)
    assert outputs_table(out) == {
        "dataset": expected["dataset"],
        "windows": expected["windows"],
        **reports,
        **groups,
    }

    code, out, err = deployable("--output", "json", "status", second)  # run with another OutputRoot
    assert code == 0, err
    document = json.loads(out)
    assert document["execution_id"] == second and document["status"] == "Succeeded"
    assert document["execution_arn"].endswith(f":pipeline/{PIPELINE}/execution/{second}")
    assert document["outputs"] == expected_outputs("s3://other-bucket/runs", second)
    assert document["outputs_unavailable"] is None and document["failure_reason"] is None
    # moto does not implement ListPipelineExecutionSteps: the steps say why they are missing
    assert document["steps"] == [] and document["steps_unavailable"].startswith("500: ")
    assert "\n" not in document["steps_unavailable"]


def test_a_step_reused_from_the_cache_has_the_outputs_of_the_execution_that_ran_it(
    deployable: Cli, aws: MotoAws
) -> None:
    """What ListPipelineExecutionSteps says of a cache hit (moto does not list steps): the execution whose
    run is reused, resolved with its own definition and parameters."""
    assert deployable("upsert")[0] == 0
    first = started(deployable)
    second = started(deployable, "--param", "OutputRoot=s3://other-bucket/runs")
    sagemaker = aws.client("sagemaker")
    runs = execution_run(sagemaker, first), execution_run(sagemaker, second)
    located = output_locations(runs[1], {"Extract30": runs[0], "Combine": runs[0]}, REPORTS)
    reused = expected_outputs(f"s3://{BUCKET}/waveform-pipeline/output", runs[0].execution_id)
    ran = expected_outputs("s3://other-bucket/runs", runs[1].execution_id)
    assert located.dataset == reused["dataset"] and located.reports == reused["reports"]
    assert located.groups == {
        "Extract30": f"s3://{BUCKET}/waveform-pipeline/output/{runs[0].execution_id}/groups/30",
        "Extract31": f"s3://other-bucket/runs/{runs[1].execution_id}/groups/31",
        "Extract32": f"s3://other-bucket/runs/{runs[1].execution_id}/groups/32",
    }
    assert output_locations(runs[1], {}, REPORTS).as_json() == ran


def test_a_dataset_uri_given_to_the_combine_step_is_where_the_dataset_is(
    deployable: Cli, aws: MotoAws
) -> None:
    """The pipeline gives the combine step from-job-output; a definition that names a URI is read as well."""
    assert deployable("upsert")[0] == 0
    run = execution_run(aws.client("sagemaker"), started(deployable))
    text = json.dumps(run.definition)
    assert text.count('"from-job-output"') == 1
    elsewhere = type(run)(
        run.execution_id, json.loads(text.replace('"from-job-output"', '"s3://elsewhere/dataset/"')), {}
    )
    assert output_locations(elsewhere, {}, REPORTS).dataset == "s3://elsewhere/dataset/"
    assert output_locations(elsewhere, {}, REPORTS).windows is None  # the step is given no place for them


def test_the_windows_dataset_is_listed_when_the_execution_cut_windows(deployable: Cli, aws: MotoAws) -> None:
    assert deployable("upsert")[0] == 0
    sagemaker = aws.client("sagemaker")
    without = execution_run(sagemaker, started(deployable, "--param", "WindowSeconds=0"))
    assert output_locations(without, {}, REPORTS).windows is None
    code, out, _ = deployable("status", without.execution_id)
    assert code == 0 and "windows" not in outputs_table(out)
    cut = execution_run(sagemaker, started(deployable, "--param", "WindowSeconds=5"))
    combined = f"s3://{BUCKET}/waveform-pipeline/output/{cut.execution_id}/combined"
    assert output_locations(cut, {}, REPORTS).windows == f"{combined}/windows/"
    text = json.dumps(cut.definition).replace(
        '"from-job-output"', '"s3://elsewhere/dataset/", "--windows-s3-uri", "s3://elsewhere/windows/"'
    )
    named = type(cut)(cut.execution_id, json.loads(text), cut.parameters)
    assert output_locations(named, {}, REPORTS).windows == "s3://elsewhere/windows/"


def test_executions_and_start_wait_print_one_json_document(deployable: Cli) -> None:
    assert deployable("upsert")[0] == 0
    code, out, err = deployable("start", "--display-name", "nightly", "--wait", "--output", "json")
    assert code == 0, err
    report = json.loads(out)  # standard output holds the report alone
    assert report["status"] == "Succeeded"
    assert err.splitlines()[0] == f"started {report['execution_arn']}" and err.endswith(" Succeeded\n")

    code, out, err = deployable("executions", "--output", "json")
    assert code == 0, err
    (listed,) = json.loads(out)["executions"]
    assert listed["execution_id"] == report["execution_id"] and listed["status"] == "Succeeded"
    assert listed["display_name"] == "nightly" and listed["execution_arn"] == report["execution_arn"]
    assert datetime.fromisoformat(listed["started"]).tzinfo is not None  # ISO 8601, with its offset
