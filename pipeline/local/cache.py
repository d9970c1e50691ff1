"""The local run's step cache: SageMaker's cache key plus the files of each local input, kept on disk.

A step is remembered as soon as it succeeds (``<output>/.pipeline-cache.json``, replaced whole on each write),
so a rerun after a failure or Ctrl-C resumes where it stopped. An entry whose outputs are gone is not served,
and a cache file that cannot be read, or is not shaped as this runner writes it, is no cache: every step runs
(the run says so in one warning line), and the file is replaced when the first step succeeds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from steps.contract.atomic import atomic_text

from ..dag import MANIFEST_FILE
from ..definition_eval import CacheStore, Evaluation, cache_key

CACHE_FILE = ".pipeline-cache.json"


class UnusableCache(ValueError):
    """The cache file is not one this runner wrote; the message says what is wrong with it."""


@dataclass(frozen=True)
class LoadedCache:
    steps: CacheStore  # the remembered steps whose outputs are still on disk
    unusable: str | None = None  # why the file on disk was not used, if it was not


def local_cache_key(step: Mapping[str, Any], evaluation: Evaluation) -> str:
    """The service's cache key, plus a fingerprint of the files (names, sizes, modification times) of each
    local folder input: changed data is never served from the cache. A manifest input needs none: its name is
    the fingerprint of the files it names (the inventory step's)."""
    fingerprint = hashlib.sha256()
    for item in evaluation.value(step["Arguments"].get("ProcessingInputs", [])):
        s3_input = item["S3Input"]
        source = Path(s3_input["S3Uri"])
        if s3_input["S3Uri"].startswith("s3://") or s3_input.get("S3DataType") == MANIFEST_FILE:
            continue
        if not source.exists():
            continue
        for file in sorted(p for p in source.rglob("*") if p.is_file()):
            status = file.stat()
            fingerprint.update(
                f"{file.relative_to(source)}\0{status.st_size}\0{status.st_mtime_ns}\n".encode()
            )
    return cache_key(step, evaluation) + "|files:" + fingerprint.hexdigest()


def load_cache(path: Path) -> LoadedCache:
    """The remembered steps whose outputs are still on disk; none, and why, if the file is unusable."""
    if not path.exists() and not path.is_symlink():
        return LoadedCache({})
    try:
        return LoadedCache(_existing_outputs_only(_read(path)))
    except UnusableCache as problem:
        return LoadedCache({}, f"cache file {path} {problem}: every step runs, and the file is replaced")


def save_cache(path: Path, cache: CacheStore) -> None:
    with atomic_text(path) as stream:
        json.dump(cache, stream, indent=1, sort_keys=True)


def _existing_outputs_only(cache: CacheStore) -> CacheStore:
    """Entries whose outputs are still on disk: a deleted execution folder is not served from the cache."""
    kept: CacheStore = {}
    for step, entries in cache.items():
        for key, (execution, properties) in entries.items():
            outputs = properties["ProcessingOutputConfig"]["Outputs"]
            if all(Path(o["S3Output"]["S3Uri"]).is_dir() for o in outputs):
                kept.setdefault(step, {})[key] = (execution, properties)
    return kept


def _read(path: Path) -> CacheStore:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnusableCache(f"cannot be read ({exc.strerror or exc})") from None
    try:
        stored = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise UnusableCache(f"is not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise UnusableCache(f"is not JSON ({exc})") from None
    return _cache_store(stored)


def _cache_store(stored: Any) -> CacheStore:
    """The cache as ``save_cache`` writes it: step -> cache key -> [execution, properties], the properties
    holding the step's outputs (``ProcessingOutputConfig.Outputs[].S3Output.S3Uri``)."""
    if not isinstance(stored, dict):
        raise UnusableCache(f"holds a JSON {_json_type(stored)}, not an object of steps")
    cache: CacheStore = {}
    for step, entries in stored.items():
        if not isinstance(entries, dict):
            raise UnusableCache(f"step {step!r}: {_shown(entries)} is not an object of cache keys")
        for key, entry in entries.items():
            if not (
                isinstance(entry, list)
                and len(entry) == 2
                and isinstance(entry[0], str)
                and isinstance(entry[1], dict)
            ):
                raise UnusableCache(f"step {step!r}: {_shown(entry)} is not an [execution, properties] pair")
            outputs = entry[1].get("ProcessingOutputConfig")
            outputs = outputs.get("Outputs") if isinstance(outputs, dict) else None
            if not isinstance(outputs, list) or not all(_is_output(output) for output in outputs):
                raise UnusableCache(
                    f"step {step!r}: properties {_shown(entry[1])} have no ProcessingOutputConfig.Outputs "
                    "with a local path as S3Output.S3Uri each"
                )
            cache.setdefault(step, {})[key] = (entry[0], entry[1])
    return cache


def _is_output(output: Any) -> bool:
    """An output as the local run records it: its destination, an absolute local path."""
    if not (isinstance(output, dict) and isinstance(output.get("S3Output"), dict)):
        return False
    uri = output["S3Output"].get("S3Uri")
    return isinstance(uri, str) and "\0" not in uri and Path(uri).is_absolute()


def _json_type(value: Any) -> str:
    names = {list: "array", str: "string", int: "number", float: "number", bool: "boolean"}
    return names.get(type(value), "null")


def _shown(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."
