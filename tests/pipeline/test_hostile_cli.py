"""Hostile inputs and faults at the CLI's edge: each ends in one ``error:`` line (or one ``warning:`` line
and a run that goes on), a known exit code and a known state on disk, never a traceback.

The local runs here share one built definition (``kept``): each output folder starts with a copy of it, so a
run takes about a second instead of the SDK's build.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.cli import main as cli_main
from pipeline.config import MAX_GROUP_NAME, REGION_NAME
from pipeline.dag import extract_step
from pipeline.local.cache import CACHE_FILE
from pipeline.local.definition import DEFINITION_FILE, local_definition
from pipeline.local.run import LOCK_FILE
from tests.aws import MotoAws
from tests.pipeline.blocking_checkout import blocking_checkout

GROUPS = ["30", "31"]
CACHED_STEPS = {"Extract30", "Extract31", "Combine"}  # the inventory runs every time: never cached
REGION_MESSAGE = "is not an AWS region name (such as us-east-1)"


@pytest.fixture(scope="module")
def kept(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the kept definition of a run of groups 30 and 31."""
    folder = tmp_path_factory.mktemp("kept")
    local_definition(GROUPS, kept_in=folder)
    return folder / DEFINITION_FILE


@pytest.fixture
def data(real_data: Path, tmp_path: Path) -> Path:
    """Two small groups: the real group 30, and a copy of it as group 31."""
    root = tmp_path / "data"
    for group in GROUPS:
        shutil.copytree(real_data / "30", root / group)
    return root


@pytest.fixture
def output(kept: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    shutil.copy(kept, folder / DEFINITION_FILE)
    return folder


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Cli]:
    """The CLI in-process, in an empty working folder (no config file), with AWS_DEFAULT_REGION restored."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AWS_DEFAULT_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    yield Cli(capsys)


class Cli:
    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def __call__(self, *argv: str) -> tuple[int, str, str]:
        code = cli_main(list(argv))
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err

    def run_local(self, data: Path, output: Path, *extra: str) -> tuple[int, str, str]:
        return self(
            "run-local", "--input-dir", str(data), "--output-dir", str(output), "--no-progress", *extra
        )


def ran(out: str) -> str:
    return out.splitlines()[0].split(": ", 1)[1]  # "4 step(s) ran, 0 reused from the cache"


# 1. A cache file of the wrong shape is no cache: every step runs, one warning line, and it is replaced.

WRONG_CACHES = {
    "a list": (b"[]", "holds a JSON array, not an object of steps"),
    "a number for a step": (b'{"step": 5}', "step 'step': 5 is not an object of cache keys"),
    "an entry that is not a pair": (
        b'{"Extract30": {"key": ["local-x"]}}',
        "step 'Extract30': [\"local-x\"] is not an [execution, properties] pair",
    ),
    "properties without outputs": (
        b'{"Extract30": {"key": ["local-x", {"Other": 1}]}}',
        "step 'Extract30': properties {\"Other\": 1} have no ProcessingOutputConfig.Outputs with a local "
        "path as S3Output.S3Uri each",
    ),
    "an output without a local path": (
        b'{"Extract30": {"key": ["local-x", {"ProcessingOutputConfig": {"Outputs": [{"S3Output": '
        b'{"S3Uri": ""}}]}}]}}',
        'step \'Extract30\': properties {"ProcessingOutputConfig": {"Outputs": [{"S3Output": {"S3... '
        "have no ProcessingOutputConfig.Outputs with a local path as S3Output.S3Uri each",
    ),
    "bytes that are not UTF-8": (b'{"st\xe9p": {}}', "is not UTF-8 (byte 0xe9 at offset 4)"),
    "not JSON": (
        b"{",
        "is not JSON (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))",
    ),
}


@pytest.mark.parametrize("content", WRONG_CACHES.values(), ids=list(WRONG_CACHES))
def test_a_cache_file_of_the_wrong_shape_is_no_cache(
    cli: Cli, data: Path, output: Path, content: tuple[bytes, str]
) -> None:
    written, reason = content
    cache = output / CACHE_FILE
    cache.write_bytes(written)
    code, out, err = cli.run_local(data, output)
    assert (code, ran(out)) == (0, "4 step(s) ran, 0 reused from the cache"), err
    assert err == f"warning: cache file {cache} {reason}: every step runs, and the file is replaced\n"
    assert (
        set(json.loads(cache.read_text(encoding="utf-8"))) == CACHED_STEPS
    )  # replaced by a cache of this run
    code, out, err = cli.run_local(data, output)
    assert (code, ran(out), err) == (0, "1 step(s) ran, 3 reused from the cache", "")


# 2. A config file that is not UTF-8, or whose values are not of their setting's type.


def test_a_config_file_that_is_not_utf8_names_the_byte_and_its_offset(cli: Cli, tmp_path: Path) -> None:
    config = tmp_path / "waveform.toml"
    config.write_bytes(b'# caf\xe9\nbucket = "b"\n')
    code, out, err = cli("definition", "--config", str(config))
    assert (code, out, err) == (1, "", f"error: config file {config} is not UTF-8: byte 0xe9 at offset 5\n")


WRONG_TYPES = {
    "bucket = 5\n": "bucket = 5 is not a string",
    'region = ["us-east-1"]\n': "region = ['us-east-1'] is not a string",
    "[region]\nname = 'us-east-1'\n": "region = {'name': 'us-east-1'} is not a string",
    "prefix = 5\n": "prefix = 5 is not a string",
    "kms_key_id = 5\n": "kms_key_id = 5 is not a string",
    "pipeline_name = 5\n": "pipeline_name = 5 is not a string",
    "groups = 5\n": "groups = 5 is not a list of group names, or a comma-separated string",
    "groups = [true]\n": "groups = [True] is not a list of group names, or a comma-separated string",
    "subnets = 5\n": "subnets = 5 is not a list of subnet ids, or a comma-separated string",
    "tags = 5\n": 'tags = 5 is not a table of string values ([tags] KEY = "VALUE")',
    "[tags]\nowner = 5\n": "tags = {'owner': 5} is not a table of string values ([tags] KEY = \"VALUE\")",
    "max_parallel_steps = true\n": "max_parallel_steps = True is not a whole number",
    "no_such_setting = 1\n": "unknown key 'no_such_setting'",
}


@pytest.mark.parametrize(("content", "message"), WRONG_TYPES.items(), ids=list(WRONG_TYPES))
def test_a_config_value_of_the_wrong_type_is_named_with_its_key(
    cli: Cli, tmp_path: Path, content: str, message: str
) -> None:
    config = tmp_path / "waveform.toml"
    config.write_text(content)
    code, out, err = cli("definition", "--config", str(config))
    assert (code, out, err) == (1, "", f"error: config file {config}: {message}\n")


def test_a_config_that_is_a_folder_or_a_named_pipe_is_refused_without_reading_it(tmp_path: Path) -> None:
    """A named pipe would block the read until someone writes to it: the command must not hang."""
    pipe = tmp_path / "pipe.toml"
    os.mkfifo(pipe)
    for config in (tmp_path, pipe):
        result = subprocess.run(
            [sys.executable, "-m", "pipeline", "definition", "--config", str(config)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=60,
            check=False,
        )
        expected = f"error: config file {config} is not a regular file\n"
        assert (result.returncode, result.stderr) == (1, expected)


def test_empty_groups_in_the_config_file_and_the_environment_name_where_they_were_given(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "waveform.toml"
    config.write_text("groups = []\n")
    code, _, err = cli("definition", "--config", str(config))
    assert (code, err) == (1, f"error: groups in {config}: no group named in []\n")
    monkeypatch.setenv("WAVEFORM_GROUPS", " , ")
    code, _, err = cli("definition")
    assert (code, err) == (1, "error: WAVEFORM_GROUPS: no group named in ' , '\n")


# 3. A region that is not a region name, for every command that takes one; one the SDK has no image for.

AWS_COMMANDS = [
    ["definition"],
    ["graph"],
    ["check"],
    ["diff"],
    ["upsert"],
    ["start"],
    ["status"],
    ["executions"],
    ["schedule", "put", "--rate", "1 day", "--scheduler-role-arn", "arn:aws:iam::123456789012:role/s"],
    ["schedule", "show"],
    ["schedule", "delete"],
]


@pytest.mark.parametrize("command", AWS_COMMANDS, ids=" ".join)
def test_a_malformed_region_is_refused_before_any_aws_client(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.setenv("SAGEMAKER_ROLE_ARN", "arn:aws:iam::123456789012:role/x")
    monkeypatch.setenv("WAVEFORM_BUCKET", "my-bucket")
    for region in ("us east 1", "a" * 70, "us-east-1\n", "-us-east-1"):
        code, out, err = cli(*command, f"--region={region}")
        assert (code, out, err) == (1, "", f"error: --region: {region!r} {REGION_MESSAGE}\n"), command
    assert os.environ["AWS_DEFAULT_REGION"] != "us east 1"  # refused before it was exported


def test_the_region_rule_is_botocores_matched_against_the_whole_value() -> None:
    from botocore.exceptions import InvalidRegionError
    from botocore.utils import validate_region_name

    def botocore_accepts(region: str) -> bool:
        try:
            validate_region_name(region)
        except InvalidRegionError:
            return False
        return True

    samples = ["us-east-1", "us-gov-west-1", "mars-north-9", "a", "a" * 63, "a" * 64, "123", "1a", "-a", "a-"]
    samples += ["us east 1", "us_east_1", "us-east-1.", "ü", "eu-west-1/x"]
    for region in samples:
        assert bool(REGION_NAME.fullmatch(region)) == botocore_accepts(region), region
    assert botocore_accepts("us-east-1\n") and not REGION_NAME.fullmatch("us-east-1\n")  # botocore's $


def test_a_malformed_region_from_the_environment_or_the_file_says_where_it_came_from(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION", "SAGEMAKER_ROLE_ARN"):
        monkeypatch.delenv(variable, raising=False)  # the region is the file's alone
    (tmp_path / "waveform-pipeline.toml").write_text('region = "us_east_1"\n')
    code, _, err = cli("definition")
    assert (code, err) == (1, f"error: region in waveform-pipeline.toml: 'us_east_1' {REGION_MESSAGE}\n")
    monkeypatch.setenv("AWS_REGION", "eu west 1")
    code, _, err = cli("definition")
    assert (code, err) == (1, f"error: AWS_REGION: 'eu west 1' {REGION_MESSAGE}\n")


def test_a_region_the_sdk_has_no_image_for_says_so_and_an_image_uri_gets_past_it(
    aws: MotoAws, cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SAGEMAKER_ROLE_ARN", "arn:aws:iam::123456789012:role/x")
    monkeypatch.setenv("WAVEFORM_BUCKET", "my-bucket")
    monkeypatch.setenv("WAVEFORM_GROUPS", "30")
    code, out, err = cli("definition", "--region", "mars-north-9")
    assert (code, out) == (1, "")
    assert err.startswith("error: region 'mars-north-9': the SageMaker SDK (version 3.") and err.endswith(
        "knows no scikit-learn image 1.4-2-py312 there; give an image with --image-uri (WAVEFORM_IMAGE_URI, "
        "or image_uri in the config file), or a region the SDK knows, such as us-east-1\n"
    )
    image = "123456789012.dkr.ecr.mars-north-9.amazonaws.com/waveform-steps:1"
    written = tmp_path / "definition.json"
    code, _, err = cli("definition", "--region", "mars-north-9", "--image-uri", image, "--file", str(written))
    assert code == 0, err
    assert image in written.read_text()


def test_run_local_needs_no_valid_aws_region(
    cli: Cli, data: Path, output: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A local run calls no AWS service: the user's AWS_REGION, malformed or unknown, does not stop it."""
    for region in ("mars-north-9", "us east 1"):
        monkeypatch.setenv("AWS_REGION", region)
        code, out, err = cli.run_local(data, output, "--no-cache")
        assert (code, ran(out), err) == (0, "4 step(s) ran, 0 reused from the cache", ""), region


# 4. --groups: an empty or blank list is an error everywhere; comma lists work everywhere.


RUN_LOCAL = ["run-local", "--input-dir", ".", "--output-dir", "out"]


@pytest.mark.parametrize("command", [RUN_LOCAL, *AWS_COMMANDS], ids=" ".join)
def test_empty_groups_are_an_error_for_every_command(cli: Cli, tmp_path: Path, command: list[str]) -> None:
    for groups in ("", " , ,"):
        code, out, err = cli(*command, "--groups", groups)
        assert (code, out, err) == (1, "", f"error: --groups: no group named in {groups!r}\n"), command
    assert not (tmp_path / "out").exists()


def test_run_local_takes_a_comma_list_of_groups(cli: Cli, data: Path, output: Path) -> None:
    shutil.copytree(data / "30", data / "39")  # a third group, left out by the list
    code, out, err = cli.run_local(data, output, "--groups", " 30, 31 ")
    assert (code, ran(out), err) == (0, "4 step(s) ran, 0 reused from the cache", "")
    (execution,) = (p for p in output.iterdir() if p.name.startswith("local-"))
    assert sorted(p.name for p in (execution / "groups").iterdir()) == GROUPS


def test_a_group_name_too_long_for_its_step_is_refused(cli: Cli) -> None:
    assert len(extract_step("a" * MAX_GROUP_NAME).display_name) == 64  # the longest display name there is
    long = "a" * (MAX_GROUP_NAME + 1)
    code, _, err = cli("definition", "--groups", f"30,{long}")
    assert (code, err) == (
        1,
        f"error: --groups: {long!r} is longer than {MAX_GROUP_NAME} characters, the most a step's display "
        "name (Extract-group-<group>, at most 64) can hold\n",
    )


# 5. Output and input folders that overlap; what counts as a group folder.


def test_an_output_folder_inside_the_input_folder_is_refused(cli: Cli, data: Path, tmp_path: Path) -> None:
    before = sorted(p.name for p in data.iterdir())
    code, out, err = cli.run_local(data, data / "out")
    assert (code, out) == (2, "")
    assert err == (
        f"error: --output-dir {data / 'out'} is inside --input-dir {data}: its outputs would be read as a "
        "group by the next run; give an output folder outside the input folder\n"
    )
    code, _, err = cli.run_local(data, data)
    assert (code, err) == (
        2,
        f"error: --output-dir {data} is the --input-dir folder: its outputs would be read as a group by "
        "the next run; give an output folder outside the input folder\n",
    )
    code, _, err = cli.run_local(data / "30", data)
    assert (code, err) == (
        2,
        f"error: --input-dir {data / '30'} is inside --output-dir {data}, where the runner writes and "
        "cleans up; give an output folder outside the input folder\n",
    )
    assert sorted(p.name for p in data.iterdir()) == before  # nothing written


def test_overlap_through_a_symbolic_link_is_refused(cli: Cli, data: Path, tmp_path: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to(data, target_is_directory=True)
    code, _, err = cli.run_local(data, link / "out")
    assert code == 2 and err.startswith(f"error: --output-dir {link / 'out'} is inside --input-dir {data}: ")
    code, _, err = cli.run_local(link, data)
    assert code == 2 and err.startswith(f"error: --output-dir {data} is the --input-dir folder: ")
    assert not (data / "out").exists()


def test_only_folders_named_as_groups_are_groups(cli: Cli, data: Path, output: Path) -> None:
    for folder in (".cache", ".staging", "lost+found", "not-a-group", "a" * (MAX_GROUP_NAME + 1)):
        shutil.copytree(data / "30", data / folder)
    (data / "32").write_text("a file, not a group folder")
    code, out, err = cli.run_local(data, output)
    assert (code, ran(out)) == (0, "4 step(s) ran, 0 reused from the cache")
    assert err == (
        f"warning: input folder {data}: not group folders (names of up to {MAX_GROUP_NAME} letters and "
        f"digits), so not run: {'a' * (MAX_GROUP_NAME + 1)}, lost+found, not-a-group\n"
    )


def test_an_input_or_output_that_is_a_file_is_named(cli: Cli, data: Path, tmp_path: Path) -> None:
    file = tmp_path / "file"
    file.write_text("x")
    code, out, err = cli.run_local(data, file)
    assert (code, out, err) == (1, "", f"error: output folder {file} is not a folder\n")
    code, out, err = cli.run_local(file, tmp_path / "out")
    assert (code, out, err) == (1, "", f"error: input folder {file} is not a folder\n")
    assert not (tmp_path / "out").exists()


def test_an_output_path_that_is_not_utf8_is_refused_before_any_step_runs(
    cli: Cli, data: Path, tmp_path: Path
) -> None:
    """pyarrow cannot write to such a path: the steps would fail after running, one by one."""
    output = tmp_path / os.fsdecode(b"out\xff")
    code, out, err = cli.run_local(data, output)
    offset = len(os.fsencode(str(tmp_path))) + len("/out")
    shown = str(output).encode("utf-8", "backslashreplace").decode()
    assert (code, out) == (2, "")
    assert err == (
        f"error: --output-dir {shown}: not UTF-8 (byte 0xff at offset {offset}), and the steps' Parquet "
        "writer (pyarrow) takes UTF-8 paths only\n"
    )
    assert not output.exists()


# 6. Leftovers of a killed run, a run already writing there, and the modes of what is written.


def test_a_run_cleans_what_a_killed_run_left_behind(cli: Cli, data: Path, output: Path) -> None:
    killed = output / "local-20260101T000000-dead"
    (killed / ".staging" / "Extract30" / "output").mkdir(parents=True)
    (killed / ".staging" / "Extract30" / "output" / "features.parquet").write_text("half")
    (killed / "logs").mkdir()
    (killed / "logs" / "Extract30.log").write_text("$ python -m steps.extract.command\n")
    half_written = output / f".{CACHE_FILE}.a1b2c3d4.partial"
    half_written.write_text("{")
    code, out, err = cli.run_local(data, output)
    assert (code, ran(out), err) == (0, "4 step(s) ran, 0 reused from the cache", "")
    assert not (killed / ".staging").exists() and not half_written.exists()
    assert (killed / "logs" / "Extract30.log").is_file()  # what tells the killed run's story is kept
    assert not list(output.glob("*/.staging"))  # nor does a run that finished leave an empty one


@pytest.fixture
def killable() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()


def test_after_kill_9_the_next_run_removes_the_staging_folders(
    cli: Cli, data: Path, output: Path, tmp_path: Path, killable: list[subprocess.Popen[str]]
) -> None:
    checkout = blocking_checkout(tmp_path, "31")  # group 31's step runs until it is killed
    local_definition(GROUPS, checkout, kept_in=output)  # what the run in the checkout builds, built here
    command = [
        sys.executable,
        "-m",
        "pipeline",
        "run-local",
        "--input-dir",
        str(data),
        "--output-dir",
        str(output),
    ]
    run = subprocess.Popen(
        [*command, "--no-progress", "--jobs", "2"],
        cwd=checkout,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    killable.append(run)
    deadline = time.monotonic() + 120
    while run.poll() is None and not any(output.glob("local-*/logs/Extract31.log")):
        assert time.monotonic() < deadline, "group 31's step did not start"
        time.sleep(0.02)
    assert run.poll() is None, run.communicate()
    os.killpg(run.pid, signal.SIGKILL)  # the run and its steps, as kill -9 of a process group does
    run.wait()
    (killed,) = output.glob("local-*/.staging/Extract31")
    assert killed.is_dir()
    code, _, err = cli.run_local(data, output)
    assert (code, err) == (0, "")
    assert not list(output.glob("local-*/.staging"))
    assert not list(output.glob(".*.partial"))


def test_a_second_run_into_the_same_output_stops_at_once(cli: Cli, data: Path, output: Path) -> None:
    with open(output / LOCK_FILE, "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a run in progress holds it
        code, out, err = cli.run_local(data, output)
    assert (code, out) == (1, "")
    assert err == (
        f"error: another run-local is writing to {output} (it holds {output / LOCK_FILE}): wait for it to "
        "finish, or give another --output-dir\n"
    )
    assert not [p for p in output.iterdir() if p.is_dir()]  # no execution was started
    assert cli.run_local(data, output)[0] == 0  # the lock is the run's: released with it


def test_outputs_get_the_modes_the_umask_gives(cli: Cli, data: Path, output: Path) -> None:
    previous = os.umask(0o022)
    try:
        code, _, err = cli.run_local(data, output)
    finally:
        os.umask(previous)
    assert code == 0, err
    modes = {}
    for root, folders, files in os.walk(output):
        for name in folders:
            modes[os.path.join(root, name)] = stat.S_IMODE(os.stat(os.path.join(root, name)).st_mode)
        for name in files:
            modes[os.path.join(root, name)] = stat.S_IMODE(os.stat(os.path.join(root, name)).st_mode)
    wrong = {
        os.path.relpath(path, output): oct(mode)
        for path, mode in modes.items()
        if mode != (0o755 if os.path.isdir(path) else 0o644)
    }
    assert not wrong, wrong
    assert {CACHE_FILE, LOCK_FILE} <= {Path(path).name for path in modes}
    assert any(path.endswith("/combined/dataset") for path in modes)


# 7. Other arguments a user can get wrong.


def test_run_local_refuses_a_param_it_sets_itself(cli: Cli, data: Path, output: Path) -> None:
    code, out, err = cli.run_local(data, output, "--param", "InputRoot=/etc")
    assert (code, out, err) == (2, "", "error: --param InputRoot: a local run sets it from --input-dir\n")
    code, _, err = cli.run_local(data, output, "--param", "OutputRoot=/tmp")
    assert (code, err) == (2, "error: --param OutputRoot: a local run sets it from --output-dir\n")


@pytest.mark.parametrize("poll", ["nan", "inf", "-1", "0"])
def test_a_poll_interval_that_is_not_a_positive_finite_number_is_a_usage_error(
    cli: Cli, capsys: pytest.CaptureFixture[str], poll: str
) -> None:
    # --pipeline-name is invalid too: code that let the poll through fails on it, before any AWS call
    with pytest.raises(SystemExit) as exited:
        cli("status", "--wait", "--poll", poll, "--pipeline-name", "not valid")
    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert err.splitlines()[-1] == (
        f"waveform-pipeline status: error: argument --poll: must be a finite number of seconds above 0, "
        f"not {poll!r}"
    )


def test_a_definition_written_to_a_path_that_is_not_utf8_is_reported_not_a_traceback(
    aws: MotoAws, cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SAGEMAKER_ROLE_ARN", "arn:aws:iam::123456789012:role/x")
    monkeypatch.setenv("WAVEFORM_BUCKET", "my-bucket")
    monkeypatch.setenv("WAVEFORM_GROUPS", "30")
    written = tmp_path / os.fsdecode(b"definition-\xff.json")
    code, out, err = cli("definition", "--region", aws.region, "--file", str(written))
    assert (code, err) == (0, "")
    assert out == f"definition written to {str(written).encode('utf-8', 'backslashreplace').decode()}\n"
    assert json.loads(written.read_text())["Steps"]
