"""Step code, packed reproducibly and uploaded under content-addressed keys.

The SDK's processors upload code under time-stamped keys (sagemaker-python-sdk issues #4246 and #2736), so
every upsert changes the definition and misses the cache. Here a step's code is a tar.gz whose bytes depend
only on the files' paths and contents (sorted entries, fixed times, owners and modes, no gzip time stamp),
uploaded to ``<code prefix>/<step>/<sha256>/code.tar.gz``. A step's package holds its own folder and the
shared library, so changing one step's code changes that step's key only.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_LIBRARY = ("steps/__init__.py", "steps/waveforms")
CONTAINER_CODE_DIR = "/opt/ml/processing/input/code"
ARCHIVE_NAME = "code.tar.gz"


@dataclass(frozen=True)
class StepCode:
    """One step's code: what to upload, where, and how the container runs it."""

    step: str  # folder under steps/: "extract" or "combine"
    script: str  # path inside the package, e.g. "steps/extract/extract_group.py"
    archive: bytes
    digest: str

    @property
    def requirements(self) -> str:
        return f"steps/{self.step}/requirements.txt"

    def s3_uri(self, code_prefix: str) -> str:
        return f"{code_prefix.rstrip('/')}/{self.step}/{self.digest}/{ARCHIVE_NAME}"

    def entrypoint(self, install_requirements: bool) -> list[str]:
        """The container command: unpack, install the step's pinned requirements (not on a custom image,
        which has them), run the script with the job's arguments."""
        install = (
            f"python3 -m pip install --quiet --no-cache-dir -r {self.requirements} && "
            if install_requirements
            else ""
        )
        command = (
            f"set -e; cd {CONTAINER_CODE_DIR} && tar -xzf {ARCHIVE_NAME} && {install}"
            f'exec python3 {self.script} "$@"'
        )
        return ["/bin/bash", "-c", command, self.step]


def step_code(step: str, script: str, root: Path = PROJECT_ROOT) -> StepCode:
    files = _package_files(root, [*SHARED_LIBRARY, f"steps/{step}"])
    archive = reproducible_archive(root, files)
    return StepCode(step, script, archive, hashlib.sha256(archive).hexdigest())


def _package_files(root: Path, entries: list[str]) -> list[str]:
    files: set[str] = set()
    for entry in entries:
        path = root / entry
        if path.is_file():
            files.add(entry)
            continue
        for file in path.rglob("*"):
            relative = file.relative_to(root).as_posix()
            if (
                file.is_file()
                and "__pycache__" not in file.parts
                and not file.name.endswith((".pyc", ".pyo"))
            ):
                files.add(relative)
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
