"""Where the combine step finds each group's outputs: given as ``--group-output NAME LOCATION`` pairs.

Inside a pipeline execution LOCATION is an extract step's output S3 URI (a property reference the service
resolves), passed as a container argument rather than as a ProcessingInput: CreateProcessingJob takes at most
10 inputs, and the code package plus one input per group would be 11 for ten groups. The arguments are part of
the step's cache key just as the inputs were, so the combine step still re-runs exactly when a group step ran
anew. The step fetches each S3 location into a folder of its own; a local folder (the local runner's) is read
where it is. NAME is the group, as a folder's name is under ``--input-dir``: the outputs at LOCATION must name
that group, and NAME must be a folder name (the S3 outputs are fetched into ``<input-dir>/NAME``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import GroupOutputError
from .group_outputs import GroupFolder, group_name_problem


def group_folders_of(sources: Sequence[Sequence[str]], fetch_into: Path, region: str) -> list[GroupFolder]:
    """A folder for each (name, location) pair: S3 locations are downloaded into ``fetch_into/<name>/``."""
    names = [name for name, _ in sources]
    for name in names:
        problem = group_name_problem(name)
        if problem:
            raise ValueError(f"--group-output: {problem}")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise GroupOutputError(repeated[0], "given twice with --group-output")
    folders: list[GroupFolder] = []
    client: Any = None
    for name, location in sources:
        if not location.startswith("s3://"):
            folders.append((name, Path(location)))
            continue
        if client is None:
            import boto3  # only a step that fetches from S3 needs it

            client = boto3.Session(region_name=region or None).client("s3")
        folders.append((name, _download_prefix(client, name, location, fetch_into / name)))
    return folders


def _download_prefix(client: Any, name: str, uri: str, folder: Path) -> Path:
    """Every object under ``uri`` (a prefix: ``.../groups/30`` must not take ``.../groups/300``) into
    ``folder``, keeping the key's path below the prefix."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    prefix = prefix.rstrip("/") + "/"
    fetched = 0
    try:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for page in pages:
            for item in page.get("Contents", []):
                relative = PurePosixPath(item["Key"][len(prefix) :])
                if item["Key"].endswith("/") or not relative.parts:
                    continue  # a folder marker
                if ".." in relative.parts:
                    raise GroupOutputError(name, f"object key {item['Key']!r} climbs out of {uri}")
                target = folder.joinpath(*relative.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                client.download_file(bucket, item["Key"], str(target))
                fetched += 1
    except (BotoCoreError, ClientError) as exc:
        raise GroupOutputError(name, f"cannot fetch the outputs under {uri}: {exc}") from exc
    except OSError as exc:
        raise GroupOutputError(name, f"cannot store the outputs of {uri} in {folder}: {exc}") from exc
    if fetched == 0:
        raise GroupOutputError(name, f"no outputs under {uri}")
    return folder
