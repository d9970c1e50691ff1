"""``run-local``: the deployed definition, executed here, on generated data and on the real MIMIC records."""

from __future__ import annotations

import itertools
import json
import os
import shlex
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

from pipeline.cli import main as cli_main
from pipeline.dag import CLOUD_ONLY_ARGUMENTS, CONTAINER_ROOT
from pipeline.definition_eval import Evaluation, default_parameters, dependencies
from pipeline.definition_json import step_edges
from pipeline.errors import LocalRunError
from pipeline.local.definition import local_definition
from pipeline.local.processes import StepCommand, StepProcesses, step_command
from pipeline.local.run import read_local_property_file, run_locally
from pipeline.step_code import step_codes
from scripts.sample_data.mimic4_sample import generate_mimic4
from scripts.sample_data.mimic_sample import generate
from tests.paths import ROOT
from tests.reference import assert_statistics_match, reference_statistics
from tests.report_pages import images, key_values, table_dicts

GROUPS = ["30", "31", "39"]  # 39 holds the planted defects


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sample") / "data"
    generate(root, 3.0, groups=GROUPS)
    return root


@pytest.fixture
def data(sample: Path, tmp_path: Path) -> Path:
    """A copy of the sample that a test may change."""
    copy = tmp_path / "data"
    shutil.copytree(sample, copy)
    return copy


def run_cli(*argv: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli_main(["run-local", "--no-progress", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_run_local_then_rerun_reuses_the_cache(
    sample: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out"
    code, out, err = run_cli("--input-dir", str(sample), "--output-dir", str(output), capsys=capsys)
    assert code == 0, err
    assert "5 step(s) ran, 0 reused from the cache" in out
    lines = dict(line.split(": ", 1) for line in out.splitlines() if line.startswith(("dataset", "report")))
    dataset, report = Path(lines["dataset"].strip()), Path(lines["report"].strip())
    first_execution = dataset.parents[1].name

    groups = output / first_execution / "groups"
    summaries = {g: json.loads((groups / g / "summary.json").read_text()) for g in GROUPS}
    rows = pd.read_parquet(dataset)
    assert len(rows) == sum(s["rows"] for s in summaries.values())
    assert sorted(rows["patient_group"].unique()) == GROUPS
    assert {"ECG_II", "ECG_V", "HR"} <= set(rows["signal_std"])
    errors = [json.loads(line) for line in (groups / "39" / "errors.jsonl").read_text().splitlines()]
    assert sorted(e["record"] for e in errors) == ["garbled_0003", "nodata_0002", "truncated_0001"]
    quality = json.loads((dataset.parent / "quality.json").read_text())
    assert quality["totals"]["records_failed"] == 3
    assert len(images(report.read_text())) == 6  # the signals: hours, valid fraction, quality, means
    for summary in summaries.values():
        assert summary["records_discovered"] == summary["records_summarised"] + summary["records_failed"]
    # each step was given a job configuration of this run, and recorded it: the report is traced to its run
    codes = step_codes()
    combine_job = quality["run"]["job"]
    assert combine_job["name"] == f"{first_execution}-Combine"
    assert combine_job["code_digest"] == codes["combine"].digest
    assert combine_job["outputs"] == {"combined": str(dataset.parent)}
    assert key_values(report.read_text(), "run")["job name"] == f"{first_execution}-Combine"
    for group, summary in summaries.items():
        assert summary["job"]["name"] == f"{first_execution}-Extract{group}"
        (manifest,) = (output / "manifests" / group).iterdir()  # what the inventory listed of the group
        assert summary["job"]["inputs"]["records"] == str(manifest)
        assert json.loads(manifest.read_text())[0] == {"prefix": f"{sample.resolve()}/{group}/"}
        assert summary["job"]["code_digest"] == codes["extract"].digest
    assert [row["extract job"] for row in table_dicts(report.read_text(), "group-sources")] == [
        f"{first_execution}-Extract{group}" for group in GROUPS
    ]

    code, out, _ = run_cli("--input-dir", str(sample), "--output-dir", str(output), capsys=capsys)
    assert code == 0 and "1 step(s) ran, 4 reused from the cache" in out
    assert f"(from {first_execution})" in out and str(dataset) in out

    code, out, _ = run_cli(
        "--input-dir", str(sample), "--output-dir", str(output), "--no-cache", capsys=capsys
    )
    assert code == 0 and "5 step(s) ran, 0 reused" in out
    execution = next(
        line.split()[1].rstrip(":") for line in out.splitlines() if line.startswith("execution ")
    )
    summary = json.loads((output / execution / "groups" / "30" / "summary.json").read_text())
    assert execution != first_execution and summary["job"]["name"] == f"{execution}-Extract30"
    quality = json.loads((output / execution / "combined" / "quality.json").read_text())
    assert quality["run"]["job"]["name"] == f"{execution}-Combine"


def test_the_run_ends_with_its_failures_and_where_everything_is(
    sample: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out"
    code, out, err = run_cli("--input-dir", str(sample), "--output-dir", str(output), capsys=capsys)
    assert code == 0, err
    lines = out.splitlines()
    execution = lines[0].split()[1].rstrip(":")
    run_folder = output / execution
    summaries = [json.loads((run_folder / "groups" / g / "summary.json").read_text()) for g in GROUPS]
    summarised = sum(s["records_summarised"] for s in summaries)
    discovered = sum(s["records_discovered"] for s in summaries)
    assert lines[1:] == [
        # the sample's planted defects, in group 39
        f"records: {summarised} of {discovered} summarised, 3 failed, in 3 group(s)",
        "  group 39: 3 failed (header_unparsable 1, missing_file 1, truncated_signal 1): "
        f"{run_folder / 'groups' / '39' / 'errors.jsonl'}",
        f"dataset: {run_folder / 'combined' / 'dataset'}",
        f"windows: {run_folder / 'combined' / 'windows'}",
        f"report:  {run_folder / 'combined' / 'report.html'}",
        f"logs:    {run_folder / 'logs'}",
        f"latest:  {output / 'latest'} -> {execution}/combined",
    ]
    assert (output / "latest" / "report.html").is_file() and (output / "latest" / "dataset").is_dir()
    assert sorted(p.name for p in (run_folder / "logs").iterdir()) == [
        f"{s}.log" for s in ("Combine", "Extract30", "Extract31", "Extract39", "Inventory")
    ]
    # each log says what its staging folder's paths were, and where the output went: that folder is gone
    log = (run_folder / "logs" / "Extract39.log").read_text().splitlines()
    staging = run_folder / ".staging" / "Extract39"
    (manifest,) = (output / "manifests" / "39").iterdir()
    assert log[0] == f"# {staging / 'input' / 'records'} holds the files {manifest} names"
    assert (
        log[1].startswith("$ cd ")
        and log[-1] == f"# {staging / 'output'} moved to {run_folder / 'groups' / '39'}"
    )
    assert not (run_folder / ".staging").exists()

    code, out, err = run_cli("--input-dir", str(sample), "--output-dir", str(output), capsys=capsys)
    assert code == 0, err
    again = out.splitlines()
    assert again[0].endswith("1 step(s) ran, 4 reused from the cache")
    rerun = again[0].split(":")[0].removeprefix("execution ")
    # the same outputs, failures and latest: those of the run reused; the logs of the run reused and this
    # run's inventory
    assert again[2:7] == lines[1:6] and again[8:] == lines[7:]
    assert again[7] == f"{lines[6]}, {output / rerun / 'logs'}"


def test_changed_input_files_rerun_their_group_and_the_combine_step(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out"
    assert run_cli("--input-dir", str(data), "--output-dir", str(output), capsys=capsys)[0] == 0
    shutil.rmtree(data / "31" / "3100000")
    code, out, _ = run_cli("--input-dir", str(data), "--output-dir", str(output), capsys=capsys)
    assert code == 0 and "3 step(s) ran, 2 reused" in out and "reused: Extract30, Extract39 " in out


def test_what_the_extract_step_reports_in_a_group_folder_still_reaches_it_through_the_manifest(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The group step reads the files its manifest names; a second link to a record set and a dangling link
    are named too, so the step reports them as it did when it read the folder itself."""
    record_set = sorted(p for p in (data / "30").iterdir() if p.is_dir())[0]
    os.symlink(record_set, data / "30" / "again")
    os.symlink(data / "30" / "gone.dat", data / "30" / "dangling.dat")
    output = tmp_path / "out"
    code, _, err = run_cli("--input-dir", str(data), "--output-dir", str(output), capsys=capsys)
    assert code == 0, err
    (execution,) = (p for p in output.iterdir() if p.name.startswith("local-"))
    errors = [
        json.loads(line) for line in (execution / "groups" / "30" / "errors.jsonl").read_text().splitlines()
    ]
    assert [(e["path"], e["error"]) for e in errors] == [("again/", "folder_seen_twice")]


def test_a_failed_run_resumes_where_it_stopped(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out"
    code, out, err = run_cli(
        "--input-dir", str(data), "--output-dir", str(output), "--param", "StrictMode=true", capsys=capsys
    )
    assert code == 1 and err.count("\n") == 1
    # strictness is the combine step's: every group step ran and is cached, the combine step failed
    assert err.startswith(
        "error: step(s) failed: Combine: error: strict mode: 3 problem(s) reported by group(s) 39 (3)"
    )
    assert "rerun to resume" in err
    shutil.rmtree(data / "39" / "3999999")  # the defective record set, mended
    code, out, err = run_cli(
        "--input-dir", str(data), "--output-dir", str(output), "--param", "StrictMode=true", capsys=capsys
    )
    assert code == 0, err
    assert "3 step(s) ran, 2 reused from the cache" in out and "reused: Extract30, Extract31 " in out


def test_real_mimic_records_end_to_end(real_data: Path, tmp_path: Path) -> None:
    result = run_locally(real_data, tmp_path / "out", jobs=2, progress=False)
    assert [o.name for o in result.outcomes] == ["Inventory", "Extract30", "Extract32", "Combine"]
    rows = pd.read_parquet(result.output_of("Combine") / "dataset")
    assert len(rows) == 2 + 45
    for header in [
        real_data / "30" / "3000003" / "3000003_0003.hea",
        real_data / "32" / "3234460" / "3234460_0016.hea",
    ]:
        ours = rows[rows["record"] == header.stem].sort_values("signal_index").to_dict("records")
        for row, expected in zip(ours, reference_statistics(header), strict=True):
            assert_statistics_match(row, expected, header.stem)
    numerics = rows[rows["record"] == "s25047-2704-05-04-10-44n"]
    assert set(numerics["signal_std"]) == {
        "HR",
        "PULSE",
        "RESP_RATE",
        "SPO2",
        "NBP_SYS",
        "NBP_DIAS",
        "NBP_MEAN",
    }


def test_the_mimic4wdb_layout_runs_locally_with_its_numerics_tables(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    waves = tmp_path / "waves"  # the MIMIC-IV database's group folders' parent: the input root
    generate_mimic4(waves, seed=0, groups=["p100", "p101"])
    code, out, err = run_cli("--input-dir", str(waves), "--output-dir", str(tmp_path / "out"), capsys=capsys)
    assert code == 0, err
    assert "4 step(s) ran" in out and "in 2 group(s)" in out
    assert "malformed_csv 1, missing_segment 1" in out  # the planted defects, in group p101
    rows = pd.read_parquet(tmp_path / "out" / "latest" / "dataset")
    numerics = rows[rows["kind"] == "numerics"]
    assert set(numerics["patient_group"]) == {"p100", "p101"}
    assert numerics["record_set"].str.fullmatch(r"p1\d{7}/\d{8}").all()  # subject/record
    assert numerics["record"].str.fullmatch(r"\d{8}n").all() and numerics["fs"].isna().all()
    assert {"HR", "SPO2"} <= set(numerics["signal_std"])


def test_the_local_run_executes_the_deployed_definitions_steps_and_arguments(
    real_data: Path, tmp_path: Path
) -> None:
    output = tmp_path / "out"
    result = run_locally(real_data, output, progress=False)
    definition = local_definition(["30", "32"])
    by_name = {step["Name"]: step for step in definition["Steps"]}
    # What the runner executes for each step, as the service resolves the definition in this execution.
    roots = {"InputRoot": str(real_data.resolve()), "OutputRoot": str(output.resolve())}
    properties = {outcome.name: outcome.properties for outcome in result.outcomes}
    evaluation = Evaluation(default_parameters(definition, roots), result.execution_id, properties)
    inventory = by_name["Inventory"]
    (declaration,) = inventory["PropertyFiles"]
    listed = read_local_property_file(inventory, declaration, properties["Inventory"])
    evaluation.property_files["Inventory"] = {declaration["PropertyFileName"]: listed}
    codes = step_codes()
    commands = {
        name: step_command(step, evaluation, codes[result.steps[name].code]) for name, step in by_name.items()
    }
    assert set(commands) == set(by_name) == {"Inventory", "Extract30", "Extract32", "Combine"}
    # Edges: each group step read the manifest the inventory listed for it; the combine step read exactly the
    # folders the group steps wrote (given in its environment, as <group>=<folder>). The combine step's one
    # more edge, from the inventory, is its volume, which a local run does not size.
    outputs = {command.output[1]: name for name, command in commands.items()}
    manifests = {entry["manifest"]: "Inventory" for entry in listed.values() if "manifest" in entry}
    given = {
        name: [value.partition("=")[2] for value in c.environment.values()] for name, c in commands.items()
    }
    local_edges = sorted(
        ({**outputs, **manifests}[source], name)
        for name, c in commands.items()
        for source in [*c.inputs.values(), *c.manifests.values(), *c.arguments, *given[name]]
        if source in outputs or source in manifests
    )
    assert sorted([*local_edges, ("Inventory", "Combine")]) == step_edges(definition)
    assert local_edges == [
        ("Extract30", "Combine"),
        ("Extract32", "Combine"),
        ("Inventory", "Extract30"),
        ("Inventory", "Extract32"),
    ]
    assert {name: dependencies(step) for name, step in by_name.items()}["Combine"] == {
        "Extract30",
        "Extract32",
        "Inventory",
    }
    # Arguments: the definition's container arguments, as resolved, less the S3-only dataset option.
    for name, command in commands.items():
        declared = by_name[name]["Arguments"]["AppSpecification"]["ContainerArguments"]
        literal = [a for a in declared if isinstance(a, str)]
        assert [a for a in command.arguments if a in literal] == [
            a for a in literal if not _cloud_only(a, literal)
        ]
        entrypoint = " ".join(by_name[name]["Arguments"]["AppSpecification"]["ContainerEntrypoint"])
        assert f"python3 -u -m {command.module} " in entrypoint
        # and that is what ran: each step's log opens with the command it ran (after what its paths are)
        log = output / result.execution_id / "logs" / f"{name}.log"
        typed_line = next(line for line in log.read_text().splitlines() if line.startswith("$ cd "))
        ran = shlex.split(typed_line.split(" && ", 1)[1])
        if command.environment:  # the job's environment, as env gives it to the command
            assignments = [f"{key}={value}" for key, value in command.environment.items()]
            assert ran[: 1 + len(assignments)] == ["env", *assignments]
            ran = ran[1 + len(assignments) :]
        assert ran[:3] == ["python", "-m", command.module] and len(ran) == 3 + len(command.arguments)
        for typed, argument in zip(ran[3:], command.arguments, strict=True):  # container paths: in staging
            staged = argument.startswith(CONTAINER_ROOT) and typed.endswith(
                argument.removeprefix(CONTAINER_ROOT)
            )
            assert typed == argument or (staged and f"/.staging/{name}/" in typed), (typed, argument)


def _cloud_only(argument: str, arguments: list[str]) -> bool:
    pairs = set(itertools.pairwise(arguments))
    cloud_only = tuple(CLOUD_ONLY_ARGUMENTS)
    return argument in cloud_only and cloud_only in pairs


def test_bad_input_ends_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(
        "--input-dir", str(tmp_path / "missing"), "--output-dir", str(tmp_path / "o"), capsys=capsys
    )
    assert code == 1 and err == f"error: input folder {tmp_path / 'missing'} does not exist\n"
    (tmp_path / "empty").mkdir()
    code, _, err = run_cli(
        "--input-dir", str(tmp_path / "empty"), "--output-dir", str(tmp_path / "o"), capsys=capsys
    )
    assert code == 1 and "holds no group folders" in err
    code, _, err = run_cli(
        "--input-dir",
        str(tmp_path / "empty"),
        "--output-dir",
        str(tmp_path / "o"),
        "--groups",
        "30",
        capsys=capsys,
    )
    assert code == 1 and err.startswith("error: no folder for group(s) 30")
    with pytest.raises(LocalRunError):
        run_locally(tmp_path / "missing", tmp_path / "o")


def test_a_step_with_several_workers_runs_them_from_its_forked_process(
    real_data: Path, tmp_path: Path
) -> None:
    """One group on two CPUs: its extract step gets both, and its loky workers start from a step process
    that was forked from the runner's server."""
    result = run_locally(real_data, tmp_path / "out", groups=["32"], jobs=2, progress=False)
    summary = json.loads((result.output_of("Extract32") / "summary.json").read_text())
    assert summary["workers"] == 2
    assert summary["records_summarised"] == summary["records_discovered"] == 19


def test_the_steps_run_the_code_of_the_checkout_the_definition_packs(real_data: Path, tmp_path: Path) -> None:
    """A checkout other than the installed one (``code_root``, as WAVEFORM_CODE_ROOT gives the CLI): its
    steps run its own code, not the installed steps of the runner."""
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT / "steps", checkout / "steps", ignore=shutil.ignore_patterns("__pycache__"))
    for step in ("extract", "combine"):
        command = checkout / "steps" / step / "command.py"
        marker = f"from __future__ import annotations\n\nprint('code of the other checkout: {step}')\n"
        command.write_text(command.read_text().replace("from __future__ import annotations\n", marker, 1))
    result = run_locally(real_data, tmp_path / "out", groups=["30"], progress=False, code_root=checkout)
    logs = tmp_path / "out" / result.execution_id / "logs"
    assert "code of the other checkout: extract" in (logs / "Extract30.log").read_text()
    assert "code of the other checkout: combine" in (logs / "Combine.log").read_text()


def test_many_step_processes_at_once_each_report_their_own_exit_code(tmp_path: Path) -> None:
    """Step processes started and awaited from several threads at once, as a wave of steps is: each exit
    code is the process's own (multiprocessing's reaping in one thread can steal another thread's status)."""
    (tmp_path / "quick_step.py").write_text("import sys\nsys.exit(int(sys.argv[1]))\n")
    processes = StepProcesses({"Steps": []}, {}, {}, tmp_path, tmp_path, cpus=2)

    def run(index: int) -> int | None:
        command = StepCommand(f"Step{index}", "quick_step", [], {}, ("", ""))
        return processes.run_process(command, [str(index % 3)], tmp_path / f"{index}.log", dict(os.environ))

    with ThreadPoolExecutor(max_workers=4) as pool:
        codes = list(pool.map(run, range(300)))
    assert codes == [index % 3 for index in range(300)]
