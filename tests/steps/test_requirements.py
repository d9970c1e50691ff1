"""Each step's requirements.txt is a complete lock for the container (``make lock``): every line one package
pinned ``==`` with its wheels' sha256, what the step's code imports among them, the steps' lists alike
where they share a package (one venv and one image install them all), the SageMaker image's versions kept; and
every place that installs them does so in hash-checking mode."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline.step_code import STEPS, step_code
from tests.paths import ROOT
from tests.steps.container import package_modules, third_party_imports

PIN = re.compile(
    r"(?P<name>[a-z0-9][a-z0-9-]*)==(?P<version>[A-Za-z0-9.+!-]+)(?P<hashes>( --hash=sha256:[0-9a-f]{64})+)"
)


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


def locked(step: str) -> dict[str, str]:
    """``name: line`` of a step's requirements.txt."""
    return {normalise(line.split("==", 1)[0]): line for line in requirement_lines(requirements_txt(step))}


def requirements_txt(step: str) -> Path:
    return ROOT / "steps" / step / "requirements.txt"


def listed_names(path: Path) -> dict[str, str]:
    """``name: version specifier`` of a requirements.in or constraints file (comments dropped)."""
    names = {}
    for line in path.read_text().splitlines():
        requirement = line.split("#", 1)[0].strip()
        if requirement:
            match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*)", requirement)
            assert match, line
            names[normalise(match.group(1))] = match.group(2).strip()
    return names


@pytest.mark.parametrize("step", STEPS)
def test_every_line_is_one_package_pinned_with_the_sha256_of_its_wheels(step: str) -> None:
    lines = requirement_lines(requirements_txt(step))
    assert lines
    for line in lines:
        assert PIN.fullmatch(line), line  # no ranges, no options but hashes, no continuation lines
    names = [normalise(line.split("==", 1)[0]) for line in lines]
    assert len(names) == len(set(names)), names


@pytest.mark.parametrize("step", STEPS)
def test_what_the_step_imports_is_in_its_inputs_and_its_lock(step: str) -> None:
    imported = {normalise(name) for name in third_party_imports(package_modules(step))}
    direct = set(listed_names(ROOT / "steps" / step / "requirements.in"))
    assert imported <= direct, imported - direct
    assert direct <= imported, f"listed but not imported: {direct - imported}"
    assert direct <= set(locked(step)), direct - set(locked(step))


@pytest.mark.parametrize("step", STEPS)
def test_the_lock_keeps_the_versions_its_inputs_pin(step: str) -> None:
    pins = {name: line.split("==", 1)[1].split()[0] for name, line in locked(step).items()}
    inputs = {
        **listed_names(ROOT / "steps" / "image-versions.txt"),
        **listed_names(ROOT / "steps" / step / "requirements.in"),
    }
    for name, specifier in inputs.items():
        if specifier and name in pins:
            assert specifier == f"=={pins[name]}", (name, specifier, pins[name])


def test_the_two_steps_pin_a_shared_package_alike() -> None:
    extract, combine = locked("extract"), locked("combine")
    shared = set(extract) & set(combine)
    assert {"numpy", "pandas", "pyarrow"} <= shared
    assert {name: extract[name] for name in shared} == {name: combine[name] for name in shared}


@pytest.mark.parametrize("step", STEPS)
def test_the_container_installs_the_lock_in_hash_checking_mode(step: str) -> None:
    code = step_code(step)
    command = code.entrypoint(install_requirements=True)[2]
    install = "python3 -m pip install --quiet --no-cache-dir --require-hashes --only-binary=:all: "
    install += f"-r {code.requirements}"
    assert install in command, command
    assert code.requirements == requirements_txt(step).relative_to(ROOT).as_posix()
    assert "pip" not in code.entrypoint(install_requirements=False)[2]


def test_the_custom_image_and_the_container_tests_install_every_lock_in_hash_checking_mode() -> None:
    dockerfile = (ROOT / "steps" / "Dockerfile").read_text()
    for step in STEPS:
        assert f"COPY steps/{step}/requirements.txt /tmp/requirements/{step}.txt" in dockerfile
    assert "pip install --require-hashes --only-binary=:all:" in dockerfile
    # the Makefile's recipes with their continued lines joined and runs of white space made one space
    makefile = " ".join((ROOT / "Makefile").read_text().replace("\\\n", " ").split())
    listed = " ".join(f"steps/{step}/requirements.txt" for step in STEPS)
    assert f"STEP_REQUIREMENTS := {listed}" in makefile
    install = "pip install --quiet --require-hashes --only-binary=:all: $(addprefix -r ,$(STEP_REQUIREMENTS))"
    assert install in makefile
