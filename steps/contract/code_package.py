"""Where a step's code package lives: ``<code prefix>/<step>/<sha256 of the archive>/code.tar.gz``.

The deployer uploads each step's code under that key (``pipeline.step_code``), and the key is what a job's
configuration names among its inputs; a step finds its own code's digest there (:func:`code_digest`). Both
directions are here, so the key's layout is written once.
"""

from __future__ import annotations

import re

ARCHIVE_NAME = "code.tar.gz"
_DIGEST = re.compile(rf"/(?P<digest>[0-9a-f]{{64}})/{re.escape(ARCHIVE_NAME)}$")


def code_package_uri(code_prefix: str, step: str, digest: str) -> str:
    """Where the code of ``step`` whose archive has SHA-256 ``digest`` is uploaded."""
    return f"{code_prefix.rstrip('/')}/{step}/{digest}/{ARCHIVE_NAME}"


def code_digest(uri: str) -> str:
    """The archive's digest in a code package's URI; empty if ``uri`` is not one."""
    found = _DIGEST.search(uri)
    return found["digest"] if found else ""
