"""Every group of an input root listed at once, one thread a group, with one progress bar on standard error.

Each group's listing streams (``steps.inventory.listing.list_group`` holds one page of keys at a time), so
memory stays bounded whatever the number of objects. The first group whose listing fails stops the others at
their next page, and its error is raised.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from steps.inventory.listing import GroupListing, list_group

MAX_THREADS = 16  # listings at once; boto3's clients are thread-safe, one connection each


class ListingStopped(Exception):
    """Raised in a listing's thread when another listing failed or the user interrupted."""


def list_groups(
    root: str, groups: Sequence[str], s3_client: Any = None, progress: bool = False
) -> list[GroupListing]:
    """The listing of each of ``groups`` under ``root`` (an s3:// URI with ``s3_client``, or a folder), in
    the order given."""
    from tqdm import tqdm

    stop = threading.Event()
    lock = threading.Lock()
    seen = {"objects": 0, "bytes": 0}
    bar = tqdm(
        total=len(groups), unit="group", desc="listing", disable=not progress, file=sys.stderr, leave=False
    )

    def on_page(objects: int, page_bytes: int) -> None:
        if stop.is_set():
            raise ListingStopped
        with lock:
            seen["objects"] += objects
            seen["bytes"] += page_bytes
            bar.set_postfix_str(f"{seen['objects']:,} objects, {seen['bytes'] / 1e9:,.1f} GB")

    def listed(group: str) -> GroupListing:
        if stop.is_set():
            raise ListingStopped
        return list_group(root, group, s3_client, on_page=on_page)

    try:
        with ThreadPoolExecutor(max_workers=max(1, min(MAX_THREADS, len(groups)))) as pool:
            futures: list[Future[GroupListing]] = [pool.submit(listed, group) for group in groups]
            pending = set(futures)
            try:
                while pending:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        future.result()  # the first failure raises here
                        with lock:
                            bar.update(1)
            except BaseException:
                stop.set()  # the running listings stop at their next page, the others do not start
                pool.shutdown(wait=True, cancel_futures=True)
                raise
        return [future.result() for future in futures]
    finally:
        bar.close()
