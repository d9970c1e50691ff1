"""How every step that calls S3 itself finds its region and encrypts what it writes."""

from __future__ import annotations

import os


def aws_region(given: str = "") -> str:
    """``given`` (a step's ``--region``), else ``AWS_REGION``, else ``AWS_DEFAULT_REGION`` (the first set
    wins): users set the first, botocore reads only the last, so the region is passed to boto3 explicitly."""
    for region in (given, os.environ.get("AWS_REGION"), os.environ.get("AWS_DEFAULT_REGION")):
        if region:
            return str(region)
    return ""


def sse_arguments(kms_key_id: str) -> dict[str, str]:
    """How every object this project writes to S3 is encrypted (the dataset, the manifests, the step code
    packages by the deployer): SSE-KMS under the key when one is given, else SSE-S3."""
    if kms_key_id:
        return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id}
    return {"ServerSideEncryption": "AES256"}
