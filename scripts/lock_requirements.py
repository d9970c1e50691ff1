"""Lock each step's requirements for the Processing container: ``steps/<step>/requirements.txt``, every
package the step needs pinned ``==`` with the sha256 of its wheels, generated from the step's
``requirements.in`` (its direct dependencies) and ``steps/image-versions.txt`` (the SageMaker image's own
versions, as constraints).

    make lock                          # keeps the current pins of whatever is still needed
    make lock LOCK_ARGS=--upgrade      # re-resolves every package no input file pins to its newest

How: pip resolves (``pip install --dry-run --report``: nothing is installed or built) for the container's
platform, CPython 3.12 on Linux x86_64, from wheels only and from PyPI only (pip's configuration files and
``PIP_*`` index settings are ignored, so no local mirror's files can leak into the hashes). The two steps are
resolved together first and then each within that result, so a package both need has the same version and
the same hashes in both lists: one image or venv installs both. Each pinned version is then resolved once
for every Linux the lists are installed on (``TARGETS``: pip takes the most specific manylinux wheel the
glibc allows), and every wheel taken is hashed, so ``pip install --require-hashes`` works on each of them.
The hashes are PyPI's published sha256; pip checks them against the files when it installs.

Environment markers are evaluated by the running interpreter, so this runs on Python 3.12 on Linux x86_64
(``make lock`` makes a throwaway venv of ``CONTAINER_PYTHON`` with a pinned pip).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STEPS = ("inventory", "extract", "combine")
IMAGE_VERSIONS = ROOT / "steps" / "image-versions.txt"
PYPI = "https://pypi.org/simple"
PYTHON_VERSION = "3.12"

# Where the lists are installed, with the glibc each has (it decides which manylinux wheel pip takes); the
# first is the one resolved for.
TARGETS: tuple[tuple[str, int], ...] = (
    ("SageMaker scikit-learn image 1.4-2-py312 (Ubuntu 24.04)", 39),
    ("steps/Dockerfile on python:3.12-slim (Debian 13)", 41),
    ("make test-container on Debian 12", 36),
)
OLDEST_MANYLINUX = 17  # manylinux2014, the oldest any of our packages' current wheels target

HEADER = """\
# The {step} step's packages in the Processing container (CPython {python}, Linux x86_64), each pinned,
# with the sha256 of its wheels. GENERATED: edit steps/{step}/requirements.in or steps/image-versions.txt,
# then run `make lock` (scripts/lock_requirements.py; docs/container.md). Installed with
#   python3 -m pip install --require-hashes --only-binary=:all: -r steps/{step}/requirements.txt
"""


@dataclass(frozen=True)
class Pick:
    """One package as pip resolved it for one platform: the version and the wheel it would install."""

    name: str  # normalised (PEP 503)
    version: str
    wheel: str
    sha256: str
    requested: bool  # named in the requirement files given (not only needed by another package)


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_names(path: Path) -> set[str]:
    """The normalised project names a requirements/constraints file lists."""
    names: set[str] = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line)
            if match:
                names.add(normalise(match.group()))
    return names


def locked_pins(path: Path) -> dict[str, str]:
    """``name: version`` of a generated requirements.txt (empty if there is none)."""
    pins: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            match = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)", line)
            if match:
                pins[normalise(match.group(1))] = match.group(2)
    return pins


def platforms(glibc: int) -> list[str]:
    """pip's ``--platform`` options for Linux x86_64 with this glibc, most specific first (pip does not expand
    ``manylinux_2_X`` to the older tags by itself)."""
    tags = [f"manylinux_2_{minor}_x86_64" for minor in range(glibc, OLDEST_MANYLINUX - 1, -1)]
    tags += ["manylinux2014_x86_64", "manylinux_2_12_x86_64", "manylinux2010_x86_64"]
    tags += ["manylinux_2_5_x86_64", "manylinux1_x86_64"]
    return [option for tag in tags for option in ("--platform", tag)]


def pip_environment(index_url: str) -> dict[str, str]:
    """This environment without pip's index settings and configuration files: PyPI (or ``index_url``) only."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_NO_INDEX"}
    }
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_INDEX_URL"] = index_url
    return env


def resolve(args: Sequence[str], glibc: int, index_url: str, work: Path, no_deps: bool = False) -> list[Pick]:
    """What pip would install on the container's platform with this glibc, from ``args`` (``-r``, ``-c``)."""
    report = work / "report.json"
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--dry-run",
        "--ignore-installed",
        "--quiet",
        "--disable-pip-version-check",
        "--report",
        str(report),
        "--target",
        str(work / "target"),  # pip wants a target for a foreign platform; nothing is written with --dry-run
        "--only-binary=:all:",
        "--python-version",
        PYTHON_VERSION,
        "--implementation",
        "cp",
        "--abi",
        "cp" + PYTHON_VERSION.replace(".", ""),
        *platforms(glibc),
        *(["--no-deps"] if no_deps else []),
        *args,
    ]
    subprocess.run(command, check=True, env=pip_environment(index_url), cwd=ROOT)
    picks = []
    for item in json.loads(report.read_text())["install"]:
        download = item["download_info"]
        sha256 = download.get("archive_info", {}).get("hashes", {}).get("sha256")
        if not sha256:
            raise SystemExit(f"error: the index gave no sha256 for {download['url']}")
        picks.append(
            Pick(
                normalise(item["metadata"]["name"]),
                item["metadata"]["version"],
                download["url"].rsplit("/", 1)[-1].split("#", 1)[0],
                sha256,
                bool(item["requested"]),
            )
        )
    return picks


def write_pins(path: Path, pins: dict[str, str]) -> None:
    path.write_text("".join(f"{name}=={version}\n" for name, version in sorted(pins.items())))


def requirements_text(
    step: str, direct: Iterable[str], pins: dict[str, str], hashes: dict[str, set[str]]
) -> str:
    imported = sorted(set(direct))
    needed = sorted(set(pins) - set(imported))

    def line(name: str) -> str:
        return f"{name}=={pins[name]} " + " ".join(f"--hash=sha256:{h}" for h in sorted(hashes[name]))

    lines = [
        *HEADER.format(step=step, python=PYTHON_VERSION).splitlines(),
        "# Wheels hashed for:",
        *(f"#   {label}, glibc 2.{glibc}" for label, glibc in TARGETS),
        "",
        "# What the step imports (requirements.in)",
        *(line(name) for name in imported),
        "",
        "# What those need",
        *(line(name) for name in needed),
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--upgrade",
        action="store_true",
        help="forget the current pins: every package that no input file pins resolves to its newest version",
    )
    parser.add_argument("--index-url", default=PYPI, help=f"the index the container installs from ({PYPI})")
    args = parser.parse_args(argv)

    if sys.version_info[:2] != (3, 12) or sys.platform != "linux" or platform.machine() != "x86_64":
        print(
            "error: lock on Python 3.12 on Linux x86_64, the container's (this interpreter evaluates the"
            " environment markers): `make lock` does",
            file=sys.stderr,
        )
        return 2

    inputs = {step: ROOT / "steps" / step / "requirements.in" for step in STEPS}
    outputs = {step: ROOT / "steps" / step / "requirements.txt" for step in STEPS}
    pinned_by_inputs = requirement_names(IMAGE_VERSIONS).union(
        *(requirement_names(p) for p in inputs.values())
    )
    glibc = TARGETS[0][1]

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        # The current pins, as preferences, of whatever the input files leave open.
        previous: dict[str, str] = {}
        if not args.upgrade:
            for path in outputs.values():
                previous.update(locked_pins(path))
        preferences = work / "previous.txt"
        write_pins(preferences, {n: v for n, v in previous.items() if n not in pinned_by_inputs})

        both = [arg for step in STEPS for arg in ("-r", str(inputs[step]))]
        both += ["-c", str(IMAGE_VERSIONS), "-c", str(preferences)]
        try:
            union = {pick.name: pick.version for pick in resolve(both, glibc, args.index_url, work)}
        except subprocess.CalledProcessError:
            print(
                "error: no resolution keeping the current pins: try `make lock LOCK_ARGS=--upgrade`",
                file=sys.stderr,
            )
            return 1
        union_file = work / "union.txt"
        write_pins(union_file, union)

        per_step: dict[str, dict[str, str]] = {}
        direct: dict[str, list[str]] = {}
        for step in STEPS:
            picks = resolve(["-r", str(inputs[step]), "-c", str(union_file)], glibc, args.index_url, work)
            per_step[step] = {pick.name: pick.version for pick in picks}
            direct[step] = [pick.name for pick in picks if pick.requested]
            assert all(union[name] == version for name, version in per_step[step].items())

        hashes: dict[str, set[str]] = {name: set() for name in union}
        wheels: set[str] = set()
        for _label, target_glibc in TARGETS:
            for pick in resolve(["-r", str(union_file)], target_glibc, args.index_url, work, no_deps=True):
                hashes[pick.name].add(pick.sha256)
                wheels.add(pick.wheel)
        print(f"{len(union)} packages, {len(wheels)} wheels hashed for {len(TARGETS)} platforms")

    for step in STEPS:
        text = requirements_text(step, direct[step], per_step[step], hashes)
        changed = not outputs[step].exists() or outputs[step].read_text() != text
        if changed:  # else left untouched, so make sees no newer list (and keeps .venv-container)
            outputs[step].write_text(text)
        state = "written" if changed else "unchanged"
        print(f"{outputs[step].relative_to(ROOT)}: {len(per_step[step])} packages, {state}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
