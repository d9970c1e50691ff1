"""The pipeline definition a local run executes: built by ``get_pipeline`` exactly as for SageMaker, with
local stand-ins for role, bucket and region, and rebuilt only when something it is built from has changed.

Building it takes seconds (the SDK takes ~3.5 s to import and builds a session per step), more than the
steps of a small run take to run. Its JSON depends only on what the key below covers: the settings, the
steps' code packages, the code of this package that drives the SDK, the SDK's versions and its defaults
files. So it is kept beside the run's other cache, with that key, and reused while the key holds.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from steps.contract.atomic import atomic_text

from ..config import PipelineConfig
from ..step_code import PROJECT_ROOT, StepCode, package_files, step_codes

LOCAL_ROLE = "arn:aws:iam::000000000000:role/local-run"  # stands in for the role: never used locally
LOCAL_BUCKET = "local-run"
# Stands in for the region: a local run calls no AWS service, and the region only picks the image URI, which
# runs nothing here. Not the user's AWS_REGION, which a local run does not need to be valid.
LOCAL_REGION = "us-east-1"
DEFINITION_FILE = ".pipeline-definition.json"
# What builds the definition, besides our own code: their versions are part of the key.
SDK_DISTRIBUTIONS = ("sagemaker", "sagemaker-core", "sagemaker-mlops", "boto3", "botocore")


def local_config(groups: Sequence[str], code_root: Path = PROJECT_ROOT) -> PipelineConfig:
    return PipelineConfig(
        role_arn=LOCAL_ROLE,
        region=LOCAL_REGION,
        bucket=LOCAL_BUCKET,
        groups=tuple(groups),
        code_root=str(code_root),
    )


def local_definition(
    groups: Sequence[str],
    code_root: Path = PROJECT_ROOT,
    codes: Mapping[str, StepCode] | None = None,
    kept_in: Path | None = None,
    building: Callable[[], None] = lambda: None,
) -> dict[str, Any]:
    """The definition for ``groups``, of the code under ``code_root`` (packed as ``codes``, when the caller
    has them); with ``kept_in`` (a folder), reused from there while its key holds. ``building`` is called
    before the SDK builds it, which takes seconds."""
    config = local_config(groups, code_root)
    codes = codes or step_codes(code_root)
    if kept_in is None or (key := definition_key(config, codes)) is None:
        building()
        return build_definition(config, codes)
    stored = kept_in / DEFINITION_FILE
    kept = _read(stored)
    if kept.get("key") == key:
        return dict(kept["definition"])
    building()
    definition = build_definition(config, codes)
    with atomic_text(stored) as stream:
        json.dump({"key": key, "definition": definition}, stream)
    return definition


def build_definition(config: PipelineConfig, codes: Mapping[str, StepCode]) -> dict[str, Any]:
    from ..aws_session import boto_session

    session = boto_session(config)  # before the SDK's import: it needs the region
    from ..definition import get_pipeline

    return dict(json.loads(get_pipeline(config, session, codes).definition()))


def definition_key(
    config: PipelineConfig, codes: Mapping[str, StepCode], pipeline_code: Path = PROJECT_ROOT
) -> str | None:
    """A digest of everything the definition is built from (``pipeline_code``: the checkout whose
    ``pipeline/`` builds it); None when that cannot be known (SDK defaults read from S3), and the definition
    is then built every time."""
    defaults = _sdk_defaults_files()
    if defaults is None:
        return None
    parts = {
        "config": asdict(config),
        "step_code": {step: code.digest for step, code in sorted(codes.items())},
        "pipeline_code": _digest(pipeline_code, package_files(pipeline_code, ["pipeline"])),
        "sdk": {name: _version(name) for name in SDK_DISTRIBUTIONS},
        "sdk_defaults": defaults,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _sdk_defaults_files() -> dict[str, str] | None:
    """The SDK's defaults files (admin and user), where the SDK looks for them, with their contents' digests;
    None if one is an S3 URI."""
    import platformdirs  # what the SDK itself uses to find them

    files = {
        "admin": os.environ.get(
            "SAGEMAKER_ADMIN_CONFIG_OVERRIDE",
            str(Path(platformdirs.site_config_dir("sagemaker")) / "config.yaml"),
        ),
        "user": os.environ.get(
            "SAGEMAKER_USER_CONFIG_OVERRIDE",
            str(Path(platformdirs.user_config_dir("sagemaker")) / "config.yaml"),
        ),
    }
    if any(path.startswith("s3://") for path in files.values()):
        return None
    found = {}
    for role, path in files.items():
        folder = Path(path)
        entries = [folder] if not folder.is_dir() else sorted(p for p in folder.rglob("*") if p.is_file())
        found[role] = _digest(Path("/"), [str(p.resolve()).lstrip("/") for p in entries if p.is_file()])
    return found


def _digest(root: Path, files: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for name in files:
        digest.update(name.encode() + b"\0" + (root / name).read_bytes() + b"\0")
    return digest.hexdigest()


def _version(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return ""


def _read(path: Path) -> dict[str, Any]:
    """The kept definition, or nothing if it is missing or unreadable (then it is built anew)."""
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return kept if isinstance(kept, dict) and isinstance(kept.get("definition"), dict) else {}
