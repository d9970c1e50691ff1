"""Every output file is written whole or not at all: under a temporary name beside it, then renamed.

A reader (the combine step, the local runner, a rerun) that finds a file can rely on it being complete. The
temporary name is ``.<name>.<random>.partial``; a run that was killed leaves one behind, and the next run that
writes ``<name>`` in that folder removes it (:func:`remove_leftovers`): only names of that exact shape, never
a file we did not write. Files and folders get the modes the process's umask gives (as ``open`` and ``mkdir``
would), not the 0600/0700 of ``tempfile``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

PARTIAL_SUFFIX = ".partial"


def umask() -> int:
    """The process's umask: from ``/proc`` (Linux), where reading it changes nothing; elsewhere by setting and
    restoring it, which another thread creating a file at that moment could notice."""
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    current = os.umask(0o022)
    os.umask(current)
    return current


def file_mode() -> int:
    return 0o666 & ~umask()


def folder_mode() -> int:
    return 0o777 & ~umask()


def temporary_folder(target: Path, suffix: str = PARTIAL_SUFFIX) -> Path:
    """A new empty folder beside ``target`` (``.<name>.<random><suffix>``), with the umask's mode."""
    target.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent))
    os.chmod(folder, folder_mode())
    return folder


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A temporary path beside ``target``, renamed onto it only if the block completes."""
    with atomic_files(target.parent, [target.name]) as temporaries:
        yield temporaries[target.name]


@contextmanager
def atomic_text(target: Path) -> Iterator[IO[str]]:
    with atomic_path(target) as temporary, open(temporary, "w", encoding="utf-8") as stream:
        yield stream
        stream.flush()
        os.fsync(stream.fileno())


@contextmanager
def atomic_files(folder: Path, names: Sequence[str]) -> Iterator[dict[str, Path]]:
    """Temporary paths for several files of ``folder``, renamed onto ``names`` in the order given, once the
    block completes, with nothing else between the renames; if the block fails none is renamed. Put the file
    that vouches for the others (``summary.json``) last."""
    folder.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        temporaries = {name: stack.enter_context(_temporary_file(folder / name)) for name in names}
        yield temporaries
        for name in names:
            os.replace(temporaries[name], folder / name)


@contextmanager
def _temporary_file(target: Path) -> Iterator[Path]:
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=PARTIAL_SUFFIX, dir=target.parent)
    os.fchmod(handle, file_mode())
    os.close(handle)
    try:
        yield Path(temporary)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def leftovers(folder: Path, names: Iterable[str], suffixes: Iterable[str] = (PARTIAL_SUFFIX,)) -> list[Path]:
    """Temporary files and folders a killed run left in ``folder`` while writing ``names``."""
    patterns = [
        re.compile(re.escape(f".{name}.") + r"[A-Za-z0-9_]{8}" + re.escape(suffix))
        for name in names
        for suffix in suffixes
    ]
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    return [Path(entry.path) for entry in entries if any(p.fullmatch(entry.name) for p in patterns)]


def remove_leftovers(
    folder: Path, names: Iterable[str], suffixes: Iterable[str] = (PARTIAL_SUFFIX,)
) -> list[Path]:
    """Remove what :func:`leftovers` finds; the paths removed."""
    found = leftovers(folder, names, suffixes)
    for path in found:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    return found
