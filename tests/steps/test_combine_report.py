"""The report and its twin ``quality.json`` on the sample's planted failures, in Processing jobs.

Each step runs by its command line, as in a Processing job: it finds its job's configuration (as SageMaker
writes it) where the steps look for it, so the extract steps record their jobs in ``summary.json`` and the
combine step names its own. Group 39 holds the generator's three planted failures; the real records' group 30
is undated, group 32 dated in 2704 (MIMIC's shifted years).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from scripts.sample_data.mimic_sample import generate
from steps.combine import command as combine_step
from steps.contract.job_config import JOB_CONFIG_VARIABLE
from steps.extract import command as extract_command
from tests.paths import REAL_DATA
from tests.report_pages import images, key_values, table_dicts, table_rows
from tests.steps.job_configs import processing_job_config, write_job_config

GENERATED = ["31", "39"]  # 39 holds the planted failures
GROUPS = ["30", "31", "32", "39"]  # 30 and 32: the real records
PLANTED = {"header_unparsable": 1, "missing_file": 1, "truncated_signal": 1}
DIGESTS = {"extract": "e" * 64, "combine": "c" * 64}
ROOT_URI = "s3://bucket/waveform"
EXECUTION = "k2x9q0r1s7ab"


@dataclass(frozen=True)
class Run:
    groups: Path  # one folder of extract outputs per group
    combined: Path
    started: datetime

    @property
    def page(self) -> str:
        return (self.combined / "report.html").read_text(encoding="utf-8")

    @property
    def quality(self) -> dict[str, Any]:
        return dict(json.loads((self.combined / "quality.json").read_text(encoding="utf-8")))

    def summary(self, group: str) -> dict[str, Any]:
        return dict(json.loads((self.groups / group / "summary.json").read_text()))

    def features(self, group: str) -> pd.DataFrame:
        return pd.read_parquet(self.groups / group / "features.parquet")


def extract_job(group: str) -> str:
    return f"waveform-{EXECUTION}-Extract{group}"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    root = tmp_path_factory.mktemp("report")
    data = root / "data"
    generate(data, 1.0, groups=GENERATED)
    sources = {"30": REAL_DATA / "30", "32": REAL_DATA / "32", **{g: data / g for g in GENERATED}}
    started = datetime.now(UTC).replace(microsecond=0)
    with pytest.MonkeyPatch.context() as patch:
        for group, folder in sources.items():
            output = f"{ROOT_URI}/{EXECUTION}/groups/{group}"
            arguments = ["--input-dir", str(folder), "--output-dir", str(root / "groups" / group)]
            arguments += ["--group", group, "--workers", "1", "--input-version=v7"]
            config = processing_job_config(
                extract_job(group), "extract", DIGESTS["extract"], {"records": f"{ROOT_URI}/in/{group}/"},
                ("group", output), arguments,
            )  # fmt: skip
            patch.setenv(JOB_CONFIG_VARIABLE, str(write_job_config(root / f"{group}.json", config)))
            assert extract_command.main(arguments) == 0
        arguments = ["--input-dir", str(root / "groups"), "--output-dir", str(root / "combined")]
        combined = ("combined", f"{ROOT_URI}/{EXECUTION}/combined")
        config = processing_job_config(
            f"waveform-{EXECUTION}-Combine", "combine", DIGESTS["combine"], {}, combined,
            [*arguments, "--strict", "false"], "ml.m5.4xlarge",
        )  # fmt: skip
        patch.setenv(JOB_CONFIG_VARIABLE, str(write_job_config(root / "combine.json", config)))
        assert combine_step.main(arguments) == 0
    return Run(root / "groups", root / "combined", started)


def test_the_run_is_named_by_its_job_and_dated(run: Run) -> None:
    rows = key_values(run.page, "run")
    assert rows["job name"] == f"waveform-{EXECUTION}-Combine"
    assert (
        rows["job ARN"]
        == f"arn:aws:sagemaker:eu-west-1:123456789012:processing-job/waveform-{EXECUTION}-combine"
    )
    assert rows["combine code"].endswith(f", code package {DIGESTS['combine']}")
    assert rows["outputs"] == f"combined: {ROOT_URI}/{EXECUTION}/combined"
    assert rows["instances"] == "1 x ml.m5.4xlarge"
    assert rows["arguments"].splitlines()[-1] == "--strict false"
    created = datetime.strptime(rows["report created (UTC)"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert run.started <= created <= datetime.now(UTC) + timedelta(seconds=1)
    metadata = run.quality["run"]
    assert (
        metadata["job"]["name"] == rows["job name"] and metadata["job"]["code_digest"] == DIGESTS["combine"]
    )
    assert metadata["created"] == rows["report created (UTC)"] and metadata["job_config"]["problem"] is None
    assert next(iter(run.quality)) == "run"  # the twin of the page, in the page's order


def test_each_group_names_the_extract_job_and_input_it_came_from(run: Run) -> None:
    for group in GROUPS:
        job = run.summary(group)["job"]
        assert job["name"] == extract_job(group) and job["code_digest"] == DIGESTS["extract"]
        assert job["inputs"]["records"] == f"{ROOT_URI}/in/{group}/"
    sources = table_dicts(run.page, "group-sources")
    assert sources == [
        {
            "group": group,
            "extract job": extract_job(group),
            "records read from": f"{ROOT_URI}/in/{group}/",
            "code package": DIGESTS["extract"][:12],
            "input version": "v7",
            "outputs read from": str(run.groups / group),
        }
        for group in GROUPS
    ]
    assert [g["source"]["extract_job"]["name"] for g in run.quality["groups"]] == [
        extract_job(g) for g in GROUPS
    ]


def test_errors_per_group_and_reason_name_the_planted_failures(run: Run) -> None:
    assert table_rows(run.page, "errors-per-group") == [
        ["group", "records failed", "errors reported", *PLANTED],
        ["39", "3", "3", "1", "1", "1"],
    ]
    by_group = {group["group"]: group for group in run.quality["groups"]}
    assert by_group["39"]["errors_by_code"] == PLANTED and by_group["39"]["records_failed"] == 3
    assert all(not by_group[g]["errors_by_code"] for g in GROUPS if g != "39")
    errors = [json.loads(line) for line in (run.groups / "39" / "errors.jsonl").read_text().splitlines()]
    assert sorted(error["record"] for error in errors) == ["garbled_0003", "nodata_0002", "truncated_0001"]


def test_per_group_bytes_seconds_and_hours_are_the_steps_own(run: Run) -> None:
    table = {row["group"]: row for row in table_dicts(run.page, "groups")}
    for group in run.quality["groups"]:
        name = group["group"]
        summary = run.summary(name)
        assert group["bytes_read"] == summary["bytes_read"] > 0
        assert group["extract_seconds"] == summary["seconds"]
        assert table[name]["MB read"] == f"{summary['bytes_read'] / 1e6:,.4g}"
        records = (
            run.features(name)
            .groupby(["record_set", "record"])
            .agg(kind=("kind", "first"), duration_s=("duration_s", "max"), dated=("start_time", "count"))
        )
        hours = (records.groupby("kind")["duration_s"].sum() / 3600).to_dict()
        assert group["hours"] == pytest.approx(hours, abs=1e-6)
        for kind in hours:
            assert table[name][f"hours ({kind})"] == f"{group['hours'][kind]:,.4g}"
        assert (group["records_dated"], group["records_undated"]) == (
            int((records["dated"] > 0).sum()),
            int((records["dated"] == 0).sum()),
        )
    totals = run.quality["totals"]
    assert totals["bytes_read"] == sum(run.summary(g)["bytes_read"] for g in GROUPS)
    assert totals["records_failed"] == 3 and totals["records_undated"] == 1  # the real record of group 30


def test_coverage_counts_each_group_s_dated_hours_and_says_which_are_undated(run: Run) -> None:
    coverage = run.quality["coverage"]
    # the sample's years 2150 ... 2199 and the real records' 2704: decades
    starts = pd.concat([run.features(group)["start_time"] for group in GROUPS]).dropna()
    first, last = starts.min().year // 10 * 10, starts.max().year // 10 * 10
    assert coverage["period"] == "10 years" and last == 2700
    assert coverage["columns"] == [f"{decade}s" for decade in range(first, last + 10, 10)]
    for group in run.quality["groups"]:
        dated = run.features(group["group"]).dropna(subset=["start_time"])
        for kind in coverage["hours"]:
            records = dated[dated["kind"] == kind].groupby(["record_set", "record"])["duration_s"].max()
            assert sum(coverage["hours"][kind][group["group"]]) == pytest.approx(
                records.sum() / 3600, abs=1e-4
            )
    real = coverage["hours"]["waveform"]["32"]
    assert real[coverage["columns"].index("2700s")] == pytest.approx(sum(real))
    assert sum(real) > 1.0
    assert sum(coverage["hours"]["waveform"]["30"]) == 0  # its one record is undated
    assert "Not shown, for want of a date: group 30: 1 record, 0.002284 h." in run.page


def test_each_signal_s_record_means_are_spread_in_its_commonest_units(run: Run) -> None:
    dataset = pd.read_parquet(run.combined / "dataset")
    means = {(row["signal_std"], row["kind"]): row for row in run.quality["signal_means"]}
    assert sorted(means) == sorted(set(zip(dataset["signal_std"], dataset["kind"], strict=True)))
    for (signal, kind), rows in dataset.groupby(["signal_std", "kind"]):
        ours = means[(signal, kind)]
        assert ours["units"] == rows["units"].value_counts().index[0] and ours["other_units"] == {}
        values = rows["mean"].dropna().to_numpy()
        assert ours["means"] == len(values) and not ours["sampled"]
        expected = np.quantile(values, [0, 0.05, 0.25, 0.5, 0.75, 0.95, 1])
        assert [ours[key] for key in ("min", "p05", "p25", "p50", "p75", "p95", "max")] == pytest.approx(
            expected
        )
    table = table_dicts(run.page, "signal-means")
    assert [(row["signal_std"], row["units"]) for row in table] == [
        (row["signal_std"], row["units"]) for row in run.quality["signal_means"]
    ]
    spo2 = next(row for row in table if row["signal_std"] == "SPO2")
    assert spo2["units"] == "%" and spo2["median"] == f"{means[('SPO2', 'numerics')]['p50']:,.4g}"


def test_the_page_reads_run_totals_failures_groups_signals_in_that_order(run: Run) -> None:
    page = run.page
    headings = re.findall(r"<h2>(.*?)</h2>", page)
    assert headings == [
        "Run",
        "Totals",
        "Error reasons, commonest first",
        "Errors per group and reason",
        "Groups",
        "Windows",
        "Coverage over time",
        "Unknown signal names",
        "Signals",
        "Hours per signal",
        "Valid fraction per signal",
        "Signal quality: clipping and flat lines",
        "Record means per signal",
    ]
    assert len(images(page)) == 6
    assert "<script" not in page and "http" not in page  # self-contained


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "not run as a Processing job ({path} does not exist)"),
        (b"{not json", "{path} cannot be read: "),
        (b"[1, 2]", "{path} does not hold a JSON object"),
    ],
)
def test_without_a_readable_job_configuration_the_run_is_not_recorded(
    content: bytes | None, problem: str, run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "processingjobconfig.json"
    if content is not None:
        config.write_bytes(content)
    monkeypatch.setenv(JOB_CONFIG_VARIABLE, str(config))
    output = tmp_path / "out"
    assert combine_step.main(["--input-dir", str(run.groups), "--output-dir", str(output)]) == 0
    page = (output / "report.html").read_text()
    rows = key_values(page, "run")
    assert rows["job name"] == rows["job ARN"] == rows["inputs"] == rows["instances"] == "not recorded"
    assert rows["job configuration"].startswith(problem.format(path=config))
    quality = json.loads((output / "quality.json").read_text())
    assert quality["run"]["job"] is None and quality["run"]["job_config"]["path"] == str(config)
    # the groups' own jobs are still those their summaries recorded
    assert [row["extract job"] for row in table_dicts(page, "group-sources")] == [
        extract_job(g) for g in GROUPS
    ]
