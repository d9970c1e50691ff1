"""Step code: each step's package, packed reproducibly, uploaded under a content-addressed key; how it starts.

The SDK's processors upload code under time-stamped keys (sagemaker-python-sdk issues #4246 and #2736), so
every upsert changes the definition and misses the cache. Here a step's code is a tar.gz whose bytes depend
only on the files' paths and contents (sorted entries, fixed times, owners and modes, no gzip time stamp),
uploaded to ``<code prefix>/<step>/<sha256>/code.tar.gz`` (``steps.contract.code_package``, where a step reads
its digest back from its job's configuration). A step's package holds its own folder under
``steps/`` and the contract between the steps (``steps/contract``), nothing else: a change to one step's code
changes that step's key only.

How a step starts is decided here, for both places it runs: :attr:`StepCode.module` is what the container's
command (:meth:`StepCode.entrypoint`) runs with ``python3 -m``, and what the local runner runs the same way.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from dataclasses import dataclass
from pathlib import Path

from steps.contract.code_package import ARCHIVE_NAME, code_package_uri

from .config import PipelineConfig
from .dag import CODE_DIR

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED = ("steps/__init__.py", "steps/contract")  # in every step's package
STEPS = ("inventory", "extract", "combine")


@dataclass(frozen=True)
class StepCode:
    """One step's code: what to upload, where, and how it is started."""

    step: str  # folder under steps/: "extract" or "combine"
    archive: bytes
    digest: str

    @property
    def module(self) -> str:
        """The step's command, run with ``python -m``: e.g. ``steps.extract.command``."""
        return f"steps.{self.step}.command"

    @property
    def requirements(self) -> str:
        return f"steps/{self.step}/requirements.txt"

    def s3_uri(self, code_prefix: str) -> str:
        return code_package_uri(code_prefix, self.step, self.digest)

    def entrypoint(self, install_requirements: bool) -> list[str]:
        """The container command: unpack, install the step's pinned requirements (not on a custom image,
        which has them), run the step's command with the job's arguments."""
        # The step's locked list (scripts/lock_requirements.py): --require-hashes installs only the pinned
        # wheels whose sha256 matches and refuses any package the list does not name; --only-binary never
        # builds an sdist (the hashes are of wheels; no compiler to count on). No --no-deps: the list is
        # complete, so pip's resolver only confirms that it is consistent. Packages the image already has at
        # the pinned version are left alone.
        install = (
            "python3 -m pip install --quiet --no-cache-dir --require-hashes --only-binary=:all: "
            f"-r {self.requirements} && "
            if install_requirements
            else ""
        )
        # -u: the step's output reaches the job's log as it is written (no environment entry: the combine
        # job's environment holds one per group, and a job takes at most 100)
        run = f'exec python3 -u -m {self.module} "$@"'
        command = f"set -e; cd {CODE_DIR} && tar -xzf {ARCHIVE_NAME} && {install}{run}"
        return ["/bin/bash", "-c", command, self.step]


def code_root(config: PipelineConfig) -> Path:
    """The checkout whose ``steps/`` is packed and run: the configured one, else this one."""
    return Path(config.code_root) if config.code_root else PROJECT_ROOT


def step_code(step: str, root: Path = PROJECT_ROOT) -> StepCode:
    archive = reproducible_archive(root, package_files(root, [*SHARED, f"steps/{step}"]))
    return StepCode(step, archive, hashlib.sha256(archive).hexdigest())


def step_codes(root: Path = PROJECT_ROOT) -> dict[str, StepCode]:
    """Every step's code, by step folder; built once per command."""
    return {step: step_code(step, root) for step in STEPS}


def package_files(root: Path, entries: list[str]) -> list[str]:
    """The files of ``entries`` (files or folders, relative to ``root``), without Python's caches."""
    files: set[str] = set()
    for entry in entries:
        path = root / entry
        if path.is_file():
            files.add(entry)
            continue
        for file in path.rglob("*"):
            if (
                file.is_file()
                and "__pycache__" not in file.parts
                and not file.name.endswith((".pyc", ".pyo"))
            ):
                files.add(file.relative_to(root).as_posix())
    return sorted(files)


def reproducible_archive(root: Path, files: list[str]) -> bytes:
    """tar.gz of ``files`` (relative to ``root``) whose bytes depend only on their names and contents."""
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(files):
            data = (root / name).read_bytes()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    compressed = io.BytesIO()
    with gzip.GzipFile(fileobj=compressed, mode="wb", mtime=0, compresslevel=9, filename="") as stream:
        stream.write(tar_bytes.getvalue())
    return compressed.getvalue()
