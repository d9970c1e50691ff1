"""The README's commands, as a newcomer copies them: every shell line is a command we ship (or a tool it
names), the local commands run here on sample data in place of a download, the cloud block runs against the
moto server, and the loading examples (pandas, DuckDB, Polars, Athena's SQL) run on what that run wrote."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from pipeline.cli import build_parser
from pipeline.cli import main as cli_main
from pipeline.config import load_config
from scripts.sample_data.mimic_sample import generate
from tests.aws import MotoAws
from tests.paths import ROOT

README = ROOT / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
OURS = "waveform-pipeline"
TOOLS = {"wget", "aws", "export", "."}  # other people's commands the README names: not ours to run here


@dataclass(frozen=True)
class Block:
    section: str  # the "## " heading it is under
    language: str
    text: str

    def lines(self) -> list[list[str]]:
        """Each command line as its words (continuation lines joined, comments dropped)."""
        joined = self.text.replace("\\\n", " ")
        return [words for line in joined.splitlines() if (words := shlex.split(line, comments=True))]


def readme_blocks() -> list[Block]:
    text = README.read_text(encoding="utf-8")
    blocks = []
    for match in FENCE.finditer(text):
        headings = re.findall(r"^## (.+)$", text[: match.start()], flags=re.MULTILINE)
        blocks.append(Block(headings[-1] if headings else "", match.group(1), match.group(2)))
    return blocks


def blocks(language: str, section: str | None = None) -> list[Block]:
    found = [b for b in readme_blocks() if b.language == language and section in (None, b.section)]
    assert found, f"the README has no {language} block{f' under {section}' if section else ''}"
    return found


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([a-z][a-z-]*):", text, flags=re.MULTILINE))


def test_every_shell_line_is_a_command_we_ship_or_a_tool_it_names() -> None:
    parser = build_parser()
    for block in blocks("sh"):
        for words in block.lines():
            if words[0] == "make":
                assert set(words[1:]) <= make_targets(), words
            elif words[0] == OURS:
                try:
                    parser.parse_args(words[1:])
                except SystemExit as exc:
                    pytest.fail(f"README: {shlex.join(words)} does not parse (exit {exc.code})")
            else:
                assert words[0] in TOOLS, f"README: {shlex.join(words)} is no command this project knows"


@pytest.fixture(scope="module")
def user_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder where a user ran the README's local commands, on sample data standing in for the download."""
    folder = tmp_path_factory.mktemp("user")
    generate(folder / "mimic3wdb", size_mb=1.0, groups=["30", "31", "39"])  # 39 holds the planted defects
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        for words in Block("", "sh", "\n".join(b.text for b in blocks("sh", "Your own data"))).lines():
            if words[0] == OURS:
                assert cli_main([*words[1:], "--no-progress"]) == 0, shlex.join(words)
    yield folder


def test_the_local_commands_made_the_outputs_the_readme_loads(user_folder: Path) -> None:
    latest = user_folder / "output" / "latest"
    assert (latest / "report.html").is_file() and any((latest / "dataset").glob("*/part-0.parquet"))


@pytest.mark.parametrize("index", range(len(blocks("python"))))
def test_each_loading_example_runs(user_folder: Path, index: int) -> None:
    code = blocks("python")[index].text
    done = subprocess.run([sys.executable, "-c", code], cwd=user_folder, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()  # each example prints what it found


def test_the_athena_query_runs_on_the_dataset_as_the_glue_table_shows_it(user_folder: Path) -> None:
    (query,) = (block.text for block in blocks("sql"))
    table = re.search(r"from (\w+)\.(\w+)", query)
    assert table is not None
    connection = duckdb.connect()
    connection.execute(f"create schema {table[1]}")
    dataset = user_folder / "output" / "latest" / "dataset"
    connection.execute(
        f"create view {table[1]}.{table[2]} as select * from read_parquet('{dataset}/*/*.parquet')"
    )
    rows = connection.execute(query).fetchall()
    assert rows and {row[0] for row in rows} == {"30"}


def exported(block: Block) -> dict[str, str]:
    return dict(word.split("=", 1) for words in block.lines() if words[0] == "export" for word in words[1:])


def test_the_cloud_block_runs_as_written(aws: MotoAws, monkeypatch: pytest.MonkeyPatch) -> None:
    (block,) = (b for b in blocks("sh", "On SageMaker") if "upsert" in b.text)
    settings = exported(block)
    role = settings["SAGEMAKER_ROLE_ARN"]
    assert aws.create_role(role.rsplit("/", 1)[1]) == role  # moto's account is the README's example account
    aws.create_bucket(settings["WAVEFORM_BUCKET"])
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(ROOT)
    for words in block.lines():
        if words[0] == "aws":  # the data goes where the pipeline's InputRoot says a group's folder is
            source, destination = words[-2:]
            root = load_config({}).input_root.rstrip("/")
            assert destination == f"{root}/{Path(source).name}", destination
        elif words[0] == OURS:
            assert cli_main(words[1:]) == 0, shlex.join(words)


EXECUTION_ID = re.compile(r"local-\d{8}T\d{6}-[0-9a-f]{4}")


def test_make_run_ends_as_the_readme_shows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's sample of the last lines is what ``make run`` prints, but for the execution id."""
    (shown,) = (block.text for block in blocks("text", "Start here"))
    recipe = (ROOT / "Makefile").read_text().split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "scripts.sample_data mimic --output-dir $(SAMPLE_DIR)" in recipe  # the sample, by its defaults
    assert "run-local --input-dir $(SAMPLE_DIR) --output-dir $(OUTPUT_DIR)" in recipe
    generate(tmp_path / "sample-data")
    monkeypatch.chdir(tmp_path)
    printed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "run-local",
            "--input-dir",
            "sample-data",
            "--output-dir",
            "output",
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert EXECUTION_ID.sub("<id>", printed) == EXECUTION_ID.sub("<id>", shown)
