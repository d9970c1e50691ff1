"""Every group of an input root listed at once (``steps.inventory.listing.list_groups``, a thread a group),
with one progress bar on standard error.

Each group's listing streams (``list_group`` holds one page of keys at a time), so memory stays bounded
whatever the number of objects. The first group whose listing fails stops the others, and its error is raised.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from typing import Any

from steps.inventory.listing import GroupListing, OnPage, list_group, list_groups


def list_with_progress(
    root: str, groups: Sequence[str], s3_client: Any = None, progress: bool = False
) -> list[GroupListing]:
    """The listing of each of ``groups`` under ``root`` (an s3:// URI with ``s3_client``, or a folder), in
    the order given; a progress bar counts groups, objects and bytes when ``progress``."""
    from tqdm import tqdm

    lock = threading.Lock()
    seen = {"objects": 0, "bytes": 0}
    bar = tqdm(
        total=len(groups), unit="group", desc="listing", disable=not progress, file=sys.stderr, leave=False
    )

    def on_page(objects: int, page_bytes: int) -> None:
        with lock:
            seen["objects"] += objects
            seen["bytes"] += page_bytes
            bar.set_postfix_str(f"{seen['objects']:,} objects, {seen['bytes'] / 1e9:,.1f} GB")

    def on_listed(_: GroupListing) -> None:
        with lock:
            bar.update(1)

    def list_one(group: str, page_listed: OnPage) -> GroupListing:
        return list_group(root, group, s3_client, on_page=page_listed)

    try:
        return list_groups(groups, list_one, on_page, on_listed)
    finally:
        bar.close()
