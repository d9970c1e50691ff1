"""The combine step on real extract outputs: every row and every error accounted for, nothing half-written."""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from scripts.sample_data.mimic_sample import generate
from scripts.sample_data.records import digital_signals, write_record
from steps.combine import command as combine_step
from steps.combine.dataset_folder import MARKER_FILE
from steps.combine.dataset_schema import DATASET_SCHEMA
from steps.combine.destination import FROM_JOB_OUTPUT, S3Dataset, dataset_destination
from steps.extract.extraction import extract_group
from tests.paths import REAL_DATA, ROOT
from tests.report_pages import images
from tests.steps.container import (
    container_command,
    loaded_modules,
    package_modules,
    pinned,
    third_party_imports,
)
from tests.steps.extract_runs import seal

BIN = Path(sys.executable).parent
PLOTS = 6  # per group; coverage; hours, valid fraction, quality and record means per signal
GENERATED = ["31", "33", "39"]  # 39 holds the generator's three planted defects
ALL_GROUPS = ["30", "31", "32", "33", "35", "36", "39"]


@pytest.fixture(scope="module")
def groups_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Extract outputs, one folder per group: generated groups, the real records (30, 32), a group with
    unusual signal names (35) and an empty group folder (36)."""
    root = tmp_path_factory.mktemp("combine")
    data = root / "data"
    generate(data, 1.5, groups=GENERATED)
    odd = data / "35" / "3500001"
    write_record(
        odd, "3500001_0001", "16", digital_signals("16", 3000, 3, 5), names=["ecg ii", "Foo Lead", "pleth"]
    )
    write_record(odd, "3500001_0002", "16", digital_signals("16", 2000, 2, 6), names=["Foo Lead", "ART"])
    write_record(
        odd, "3500001n", "16", digital_signals("16", 50, 3, 7), names=["RESP", "NBP Sys", "Bar"], fs=1
    )
    (data / "36").mkdir()
    sources = {
        "30": REAL_DATA / "30",
        "32": REAL_DATA / "32",
        **{g: data / g for g in [*GENERATED, "35", "36"]},
    }
    for group, folder in sources.items():
        extract_group(folder, root / "groups" / group, group, workers=1)
    return root / "groups"


@pytest.fixture(scope="module")
def combined(groups_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The combine step's output folder for every group of ``groups_dir``."""
    output = tmp_path_factory.mktemp("combined") / "out"
    assert combine_step.main(["--input-dir", str(groups_dir), "--output-dir", str(output)]) == 0
    return output


def group_features(groups_dir: Path) -> pd.DataFrame:
    frames = [pd.read_parquet(groups_dir / group / "features.parquet") for group in ALL_GROUPS]
    return pd.concat(frames, ignore_index=True)


def group_errors(groups_dir: Path) -> list[dict[str, str]]:
    return [
        json.loads(line)
        for group in ALL_GROUPS
        for line in (groups_dir / group / "errors.jsonl").read_text().splitlines()
    ]


def read_dataset(folder: Path) -> pd.DataFrame:
    return pq.read_table(folder).to_pandas()


def test_every_row_lands_in_the_dataset_with_its_standard_name(groups_dir: Path, combined: Path) -> None:
    features = group_features(groups_dir)
    dataset = read_dataset(combined / "dataset")
    assert len(dataset) == len(features) > 0
    partitions = [g for g in ALL_GROUPS if g != "36"]  # the empty group has no rows, no partition
    assert sorted(p.name for p in (combined / "dataset").iterdir()) == [*partitions, MARKER_FILE]
    marker = json.loads(pq.read_metadata(combined / "dataset" / MARKER_FILE).metadata[b"waveform_pipeline"])
    assert marker["files"] == [f"{partition}/part-0.parquet" for partition in partitions]
    keys = ["patient_group", "record_set", "record", "signal_index"]
    ours = dataset.sort_values(keys).reset_index(drop=True)
    theirs = features.sort_values(keys).reset_index(drop=True)
    columns = list(features.columns)
    assert list(ours.columns) == [*columns[:6], "signal_std", *columns[6:]]
    pd.testing.assert_frame_equal(ours[columns], theirs)

    names = dict(zip(zip(ours["signal"], ours["kind"], strict=True), ours["signal_std"], strict=True))
    assert names == {
        ("II", "waveform"): "ECG_II",
        ("V", "waveform"): "ECG_V",
        ("ABP", "waveform"): "ABP",
        ("PLETH", "waveform"): "PPG",
        ("RESP", "waveform"): "RESP",
        ("HR", "numerics"): "HR",
        ("PULSE", "numerics"): "PULSE",
        ("RESP", "numerics"): "RESP_RATE",
        ("SpO2", "numerics"): "SPO2",
        ("NBPSys", "numerics"): "NBP_SYS",
        ("NBPDias", "numerics"): "NBP_DIAS",
        ("NBPMean", "numerics"): "NBP_MEAN",
        ("ecg ii", "waveform"): "ECG_II",
        ("ART", "waveform"): "ABP",
        ("pleth", "waveform"): "PPG",
        ("NBP Sys", "numerics"): "NBP_SYS",
        ("Foo Lead", "waveform"): "Foo Lead",  # unknown: kept as it is
        ("Bar", "numerics"): "Bar",
    }


def test_the_dataset_files_are_snappy_parquet_of_one_group_each(combined: Path) -> None:
    parts = list((combined / "dataset").glob("*/*.parquet"))
    assert len(parts) == len(ALL_GROUPS) - 1  # the empty group has none
    for part in parts:
        metadata = pq.ParquetFile(part).metadata
        assert {metadata.row_group(0).column(i).compression for i in range(metadata.num_columns)} == {
            "SNAPPY"
        }
        groups = pq.read_table(part, columns=["patient_group"]).column(0).unique().to_pylist()
        assert groups == [part.parent.name]  # in the files, in a folder named for it (not hive style)
    assert not [p for p in combined.rglob(".*")]  # no staging folder or partial file left behind
    marker = pq.read_table(combined / "dataset" / MARKER_FILE)  # read as an empty part by Polars and DuckDB
    assert marker.num_rows == 0 and marker.schema.remove_metadata() == DATASET_SCHEMA


def test_signal_stats_match_an_independent_computation(combined: Path) -> None:
    dataset = read_dataset(combined / "dataset")
    expected = []
    for (signal, kind), rows in sorted(dataset.groupby(["signal_std", "kind"]), key=lambda item: item[0]):
        means = rows["mean"].dropna()
        expected.append(
            {
                "signal_std": signal,
                "kind": kind,
                "records": len(
                    set(zip(rows["patient_group"], rows["record_set"], rows["record"], strict=True))
                ),
                "record_sets": len(set(zip(rows["patient_group"], rows["record_set"], strict=True))),
                "groups": rows["patient_group"].nunique(),
                "hours": math.fsum(rows["duration_s"]) / 3600,
                "valid_fraction": rows["n_valid"].sum() / rows["n_samples"].sum(),
                "mean_of_means": math.fsum(means) / len(means) if len(means) else math.nan,
            }
        )
    stats = pd.read_csv(combined / "signal_stats.csv", keep_default_na=False, na_values=[""])
    assert list(stats.columns) == list(expected[0])
    assert [(row["signal_std"], row["kind"]) for row in expected] == list(
        zip(stats["signal_std"], stats["kind"], strict=True)
    )
    for ours, theirs in zip(stats.to_dict("records"), expected, strict=True):
        for column in ("records", "record_sets", "groups"):
            assert ours[column] == theirs[column], (theirs["signal_std"], column)
        for column in ("hours", "valid_fraction", "mean_of_means"):
            assert ours[column] == pytest.approx(theirs[column], rel=1e-12, nan_ok=True), (theirs, column)
    assert stats.loc[stats["signal_std"] == "ECG_II", "groups"].tolist() == [6]  # all but the empty group


def test_quality_accounts_for_every_record_and_error(groups_dir: Path, combined: Path) -> None:
    quality = json.loads((combined / "quality.json").read_text())
    errors = group_errors(groups_dir)
    codes = Counter(error["error"] for error in errors)
    assert [reason["error"] for reason in quality["errors"]] == [
        c for c, _ in sorted(codes.items(), key=lambda i: (-i[1], i[0]))
    ]
    assert {reason["error"]: reason["count"] for reason in quality["errors"]} == codes
    assert (
        sum(reason["count"] for reason in quality["errors"])
        == len(errors)
        == quality["totals"]["errors_reported"]
    )
    assert codes == {"empty_group": 1, "header_unparsable": 1, "missing_file": 1, "truncated_signal": 1}
    for reason in quality["errors"]:
        assert 1 <= len(reason["examples"]) <= 3 and all(example["message"] for example in reason["examples"])

    summaries = {g: json.loads((groups_dir / g / "summary.json").read_text()) for g in ALL_GROUPS}
    assert [group["group"] for group in quality["groups"]] == ALL_GROUPS
    for group in quality["groups"]:
        summary = summaries[group["group"]]
        for count in (
            "records_discovered",
            "records_summarised",
            "records_failed",
            "rows",
            "errors_reported",
        ):
            assert group[count] == summary[count]
        assert group["records_discovered"] == group["records_summarised"] + group["records_failed"]
        assert sum(group["errors_by_code"].values()) == group["errors_reported"]
    totals = quality["totals"]
    assert totals["groups"] == len(ALL_GROUPS)
    assert totals["records_discovered"] == totals["records_summarised"] + totals["records_failed"]
    assert totals["records_failed"] == 3 and totals["rows"] == len(group_features(groups_dir))
    assert quality["unknown_signal_names"] == {"Foo Lead": 2, "Bar": 1}
    assert totals["unknown_signal_rows"] == 3


def test_the_report_is_one_readable_page_with_its_plots(combined: Path) -> None:
    page = (combined / "report.html").read_text()
    assert len(images(page)) == PLOTS
    groups_table = re.search(r'<table id="groups">(.*?)</table>', page, re.S)
    assert groups_table is not None
    assert re.findall(r"<tr><td>(\w+)</td>", groups_table.group(1)) == ALL_GROUPS
    assert "<script" not in page and "http" not in page  # no external assets
    for heading in ("Groups", "Error reasons", "Unknown signal names", "Signals"):
        assert f"<h2>{heading}" in page
    assert "Foo Lead" in page and "truncated_signal" in page


@pytest.mark.project_env
def test_script_and_cli_write_the_same_reports(groups_dir: Path, tmp_path: Path) -> None:
    args = ["--input-dir", str(groups_dir), "--groups", *ALL_GROUPS]
    by_script = run([*container_command("combine"), *args, "--output-dir", str(tmp_path / "a")], cwd=ROOT)
    by_cli = run(
        [str(BIN / "waveform-pipeline"), "combine", *args, "--output-dir", str(tmp_path / "b")], cwd=tmp_path
    )
    assert by_script.returncode == 0 == by_cli.returncode, by_script.stderr + by_cli.stderr
    assert by_cli.stdout.startswith("combined 7 groups: ") and "3 failed, 4 errors reported" in by_cli.stdout
    for name in ("signal_stats.csv", "quality.json", "report.html"):
        written = [without_creation_time((tmp_path / run / name).read_text()) for run in "ab"]
        assert written[0] == written[1], name
    assert read_dataset(tmp_path / "a" / "dataset").equals(read_dataset(tmp_path / "b" / "dataset"))


def without_creation_time(report: str) -> str:
    """A report with its creation time (to the second, UTC) left out: two runs' reports differ only there."""
    return re.sub(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\b", "<created>", report)


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, check=False)


# Each breakage but the summary's own seals the set again (summary.json describing the altered files), so the
# check it is meant for is reached; an unsealed set is refused before (tests/steps/test_hostile_combine.py).
def break_features_schema(group: Path) -> None:
    table = pq.read_table(group / "features.parquet")
    pq.write_table(
        table.set_column(table.schema.get_field_index("mean"), "mean", table["mean"].cast(pa.string())),
        group / "features.parquet",
    )
    seal(group)


def drop_a_column(group: Path) -> None:
    pq.write_table(
        pq.read_table(group / "features.parquet").drop_columns(["start_time"]), group / "features.parquet"
    )
    seal(group)


def truncate_features(group: Path) -> None:
    path = group / "features.parquet"
    path.write_bytes(path.read_bytes()[:-100])
    seal(group)


def miscount_rows(group: Path) -> None:
    summary = json.loads((group / "summary.json").read_text())
    summary["rows"] += 1
    (group / "summary.json").write_text(json.dumps(summary))


def garble_errors(group: Path) -> None:
    with (group / "errors.jsonl").open("a") as stream:
        stream.write('{"group": "33", "path": "x"}\n')
    seal(group)


BREAKAGES: dict[str, tuple[Any, str]] = {
    "wrong type": (
        break_features_schema,
        "features.parquet does not have the extract step's schema: mean is string, expected double",
    ),
    "missing column": (drop_a_column, "schema: missing columns start_time"),
    "truncated parquet": (truncate_features, "features.parquet is not a readable Parquet file"),
    "missing errors": (lambda group: (group / "errors.jsonl").unlink(), "errors.jsonl is missing"),
    "corrupt summary": (
        lambda group: (group / "summary.json").write_text("{"),
        "summary.json is not readable JSON",
    ),
    "miscounted rows": (miscount_rows, "summary.json counts"),
    "garbled error line": (garble_errors, "errors.jsonl line 1 is not a JSON object"),
}


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_a_broken_group_fails_with_one_line_naming_it_and_writes_nothing(
    breakage: str, groups_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "groups"
    shutil.copytree(groups_dir, broken)
    damage, message = BREAKAGES[breakage]
    damage(broken / "33")
    output = tmp_path / "out"
    code = combine_step.main(["--input-dir", str(broken), "--output-dir", str(output)])
    stderr = capsys.readouterr().err
    assert code == 1
    assert stderr.startswith("error: group 33: ") and stderr.count("\n") == 1, stderr
    assert message in stderr
    assert not output.exists()


@pytest.mark.project_env
def test_the_cli_prints_one_line_and_no_traceback(groups_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "groups"
    shutil.copytree(groups_dir, broken)
    break_features_schema(broken / "39")
    result = run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "combine",
            "--input-dir",
            str(broken),
            "--output-dir",
            str(tmp_path / "o"),
        ],
        cwd=ROOT,
    )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: group 39: ")
    assert "Traceback" not in result.stderr and not (tmp_path / "o").exists()


def test_an_expected_group_without_outputs_is_named(
    groups_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = combine_step.main(
        ["--input-dir", str(groups_dir), "--output-dir", str(tmp_path / "o"), "--groups", "30", "34", "37"]
    )
    assert code == 1
    assert capsys.readouterr().err == (
        f"error: group 34: no outputs: no folder {groups_dir / '34'} (groups missing: 34, 37)\n"
    )
    assert not (tmp_path / "o").exists()


def test_a_missing_input_folder_fails_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        combine_step.main(["--input-dir", str(tmp_path / "nowhere"), "--output-dir", str(tmp_path / "o")])
        == 2
    )
    assert capsys.readouterr().err.startswith("error: input folder ")


def test_only_empty_groups_still_give_every_output(groups_dir: Path, tmp_path: Path) -> None:
    output = tmp_path / "o"
    assert (
        combine_step.main(["--input-dir", str(groups_dir), "--groups", "36", "--output-dir", str(output)])
        == 0
    )
    assert [p.name for p in (output / "dataset").iterdir()] == [MARKER_FILE]
    assert (output / "signal_stats.csv").read_text() == (
        "signal_std,kind,records,record_sets,groups,hours,valid_fraction,mean_of_means\n"
    )
    quality = json.loads((output / "quality.json").read_text())
    assert quality["totals"]["rows"] == 0 and quality["errors"][0]["error"] == "empty_group"
    assert len(images((output / "report.html").read_text())) == PLOTS


def test_a_rerun_replaces_the_dataset_whole(groups_dir: Path, tmp_path: Path) -> None:
    output = tmp_path / "o"
    assert combine_step.main(["--input-dir", str(groups_dir), "--output-dir", str(output)]) == 0
    assert (
        combine_step.main(["--input-dir", str(groups_dir), "--output-dir", str(output), "--groups", "32"])
        == 0
    )
    assert sorted(p.name for p in (output / "dataset").iterdir()) == ["32", MARKER_FILE]
    assert sorted(p.name for p in output.iterdir()) == [
        "dataset",
        "quality.json",
        "report.html",
        "signal_stats.csv",
    ]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--kms-key-id", "k"], "--kms-key-id only apply with --dataset-s3-uri"),
        (["--dataset-s3-uri", "bucket/prefix"], "--dataset-s3-uri must be s3://bucket/prefix"),
        (["--dataset-s3-uri", "s3://b/p", "--glue-table", "t"], "give both --glue-database and --glue-table"),
        (["--dataset-s3-uri", "s3://b/p", "--dataset-dir", "d"], "not both"),
        (["--dataset-s3-uri", FROM_JOB_OUTPUT], "not in a Processing job"),
    ],
)
def test_contradicting_options_end_in_one_line(
    options: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = combine_step.main(["--input-dir", str(tmp_path), "--output-dir", str(tmp_path / "o"), *options])
    stderr = capsys.readouterr().err
    assert code == 2 and stderr.count("\n") == 1 and message in stderr, stderr


def test_from_job_output_puts_the_dataset_beside_the_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):  # the destination's region comes from them
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "processingjobconfig.json"
    config.write_text(
        json.dumps(
            {
                "ProcessingOutputConfig": {
                    "Outputs": [
                        {
                            "OutputName": "combined",
                            "S3Output": {
                                "S3Uri": "s3://bucket/root/exec-1/combined",
                                "LocalPath": "/opt/ml/processing/output",
                                "S3UploadMode": "EndOfJob",
                            },
                        }
                    ]
                }
            }
        )
    )
    args = combine_step.build_parser().parse_args(
        ["--dataset-s3-uri", FROM_JOB_OUTPUT, "--kms-key-id", "key-1"]
    )
    destination = dataset_destination(args, job_config=config)
    assert destination == S3Dataset("s3://bucket/root/exec-1/combined/dataset/", "key-1")
    args.output_dir = Path("/elsewhere")
    with pytest.raises(ValueError, match="uploads no output from /elsewhere"):
        dataset_destination(args, job_config=config)


def test_step_code_never_imports_the_sagemaker_sdk_and_pins_what_it_imports() -> None:
    # the step's own modules (the dataset writer's awswrangler too), and every module of its code package
    files, sagemaker = loaded_modules("steps.combine.command", "steps.combine.combining", "awswrangler")
    assert not sagemaker
    assert files <= package_modules("combine"), files - package_modules("combine")  # all in its package
    imported = third_party_imports({*files, *package_modules("combine")})
    assert {"awswrangler", "botocore", "matplotlib", "pandas", "pyarrow"} <= imported
    assert "wfdb" not in imported  # the combine container reads no waveforms
    assert imported <= pinned(ROOT / "steps" / "combine" / "requirements.txt"), imported
