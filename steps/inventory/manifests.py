"""Where a group's manifest is kept: under the manifest root, at a key named by the group's fingerprint, so
the key changes exactly when the group's objects do, and an unchanged group finds its manifest there.

Written whole or not at all: S3 puts an object whole; a local manifest is renamed into place.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from steps.contract.atomic import atomic_path
from steps.contract.s3 import sse_arguments

from .listing import S3_SCHEME, split_s3_uri

MANIFEST_SUFFIX = ".manifest"


def manifest_uri(manifest_root: str, group: str, fingerprint: str) -> str:
    """``<manifest root>/<group>/<fingerprint>.manifest``."""
    return f"{manifest_root.rstrip('/')}/{group}/{fingerprint}{MANIFEST_SUFFIX}"


def keep_manifest(written: Path, uri: str, s3_client: Any = None, kms_key_id: str = "") -> bool:
    """Put the manifest file ``written`` at ``uri`` unless it is there already (the same name means the same
    content); whether it was put."""
    if uri.startswith(S3_SCHEME):
        bucket, key = split_s3_uri(uri)
        if _s3_exists(s3_client, bucket, key):
            return False
        s3_client.upload_file(str(written), bucket, key, ExtraArgs=sse_arguments(kms_key_id))
        return True
    target = Path(uri)
    if target.is_file():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as temporary:
        shutil.copyfile(written, temporary)
    return True


def _s3_exists(client: Any, bucket: str, key: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        client.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
            return False
        raise
    return True
