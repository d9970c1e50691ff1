"""The local run's step cache: SageMaker's cache key plus the files of each local input, kept on disk.

A step is remembered as soon as it succeeds (``<output>/.pipeline-cache.json``, replaced whole on each write),
so a rerun after a failure or Ctrl-C resumes where it stopped. An entry whose outputs are gone is not served,
and an unreadable cache is no cache: every step runs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from steps.contract.atomic import atomic_text

from ..definition_eval import CacheStore, Evaluation, cache_key

CACHE_FILE = ".pipeline-cache.json"


def local_cache_key(step: Mapping[str, Any], evaluation: Evaluation) -> str:
    """The service's cache key, plus a fingerprint of the files (names, sizes, modification times) of each
    local input: changed data is never served from the cache."""
    fingerprint = hashlib.sha256()
    for item in evaluation.value(step["Arguments"].get("ProcessingInputs", [])):
        source = Path(item["S3Input"]["S3Uri"])
        if item["S3Input"]["S3Uri"].startswith("s3://") or not source.exists():
            continue
        for file in sorted(p for p in source.rglob("*") if p.is_file()):
            status = file.stat()
            fingerprint.update(
                f"{file.relative_to(source)}\0{status.st_size}\0{status.st_mtime_ns}\n".encode()
            )
    return cache_key(step, evaluation) + "|files:" + fingerprint.hexdigest()


def load_cache(path: Path) -> CacheStore:
    """The remembered steps whose outputs are still on disk."""
    return _existing_outputs_only(_read(path))


def save_cache(path: Path, cache: CacheStore) -> None:
    with atomic_text(path) as stream:
        json.dump(cache, stream, indent=1, sort_keys=True)


def _existing_outputs_only(cache: CacheStore) -> CacheStore:
    """Entries whose outputs are still on disk: a deleted execution folder is not served from the cache."""
    kept: CacheStore = {}
    for step, entries in cache.items():
        for key, (execution, properties) in entries.items():
            outputs = properties.get("ProcessingOutputConfig", {}).get("Outputs", [])
            if all(Path(o["S3Output"]["S3Uri"]).is_dir() for o in outputs):
                kept.setdefault(step, {})[key] = (execution, properties)
    return kept


def _read(path: Path) -> CacheStore:
    if not path.exists():
        return {}
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}  # an unreadable cache is no cache: every step runs
    return {step: {key: (entry[0], entry[1]) for key, entry in keys.items()} for step, keys in stored.items()}
