"""A group's objects listed in one streaming pass: how many, how many bytes, a fingerprint of their keys,
sizes and ETags, and (optionally) the SageMaker manifest naming exactly those objects; and many groups listed
side by side, a thread each (the inventory step's and plan's listings).

The listing is S3's (ListObjectsV2, a page of up to 1,000 keys at a time) or, for a local run, a folder's; it
never holds more than one page, so a group of millions of objects lists in constant memory. Objects are taken
in the order the listing gives them (S3: by key; a folder: each folder's entries by name), which is stable, so
the same objects always give the same fingerprint and the same manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

S3_SCHEME = "s3://"
PAGE_SIZE = 1000  # ListObjectsV2's maximum
# Groups listed at once, a thread each: a listing waits on S3 for one page at a time, and boto3's clients are
# thread-safe (give the client a connection a thread: max_pool_connections, botocore's default is 10).
LISTING_THREADS = 16
OnPage = Callable[[int, int], None]  # (objects, bytes) of the page just listed


@dataclass(frozen=True)
class ListedObject:
    key: str  # relative to the group's prefix, "/"-separated
    size: int
    etag: str  # S3's ETag without its quotes; for a local file, its modification time (mtime:<ns>)


@dataclass(frozen=True)
class GroupListing:
    """What a group's listing found."""

    group: str
    prefix: str  # the group's folder: s3://bucket/root/<group>/ or /abs/root/<group>/
    objects: int
    bytes: int
    fingerprint: str  # sha256 (hex) of the prefix and every object's key, size and ETag, in listing order
    pages: int = 0  # the listing's pages: on S3, its ListObjectsV2 requests (an empty prefix is one page)


def group_prefix(root: str, group: str) -> str:
    """The group's folder under the input root, with a trailing "/": the prefix of group p0 must not also take
    p00's objects."""
    return f"{root.rstrip('/')}/{group}/"


def list_group(
    root: str,
    group: str,
    s3_client: Any = None,
    manifest: TextIO | None = None,
    on_page: OnPage | None = None,
) -> GroupListing:
    """List the group's objects under ``root`` (an s3:// URI, with ``s3_client``; or a local folder),
    writing the manifest to ``manifest`` if given; ``on_page(objects, bytes)`` is called after each page."""
    prefix = group_prefix(root, group)
    pages = _s3_pages(prefix, s3_client) if prefix.startswith(S3_SCHEME) else _folder_pages(Path(prefix))
    fingerprint = hashlib.sha256(json.dumps({"prefix": prefix}).encode() + b"\n")
    objects = total = pages_read = 0
    if manifest is not None:
        manifest.write("[" + json.dumps({"prefix": prefix}))
    for page in pages:
        page_bytes = 0
        for item in page:
            # One JSON array per object: keys may hold any character, a newline included.
            fingerprint.update(json.dumps([item.key, item.size, item.etag]).encode() + b"\n")
            if manifest is not None:
                manifest.write(",\n" + json.dumps(item.key))
            page_bytes += item.size
        objects += len(page)
        total += page_bytes
        pages_read += 1
        if on_page is not None:
            on_page(len(page), page_bytes)
    if manifest is not None:
        manifest.write("]\n")
    return GroupListing(group, prefix, objects, total, fingerprint.hexdigest(), pages_read)


def connections_for(groups: int) -> int:
    """The S3 client's connection pool for listing ``groups`` at once: one a listing thread, and no fewer
    than botocore's default."""
    return max(10, min(LISTING_THREADS, groups))


class ListingStopped(Exception):
    """Raised in a listing's thread, at its next page, when another listing failed or the caller was
    interrupted."""


def list_groups(
    groups: Sequence[str],
    list_one: Callable[[str, OnPage], GroupListing],
    on_page: OnPage | None = None,
    on_listed: Callable[[GroupListing], None] | None = None,
) -> list[GroupListing]:
    """Each of ``groups`` listed by ``list_one(group, on_page)`` (which lists it as :func:`list_group` does,
    passing ``on_page`` on), :data:`LISTING_THREADS` at once, in the order given. ``on_page`` is called after
    every page of any group, from the listings' threads; ``on_listed`` as each group's listing ends, from the
    caller's. The first
    listing to fail stops the others at their next page, and its error is raised."""
    stop = threading.Event()

    def page_listed(objects: int, page_bytes: int) -> None:
        if stop.is_set():
            raise ListingStopped
        if on_page is not None:
            on_page(objects, page_bytes)

    def listed(group: str) -> GroupListing:
        if stop.is_set():
            raise ListingStopped
        return list_one(group, page_listed)

    with ThreadPoolExecutor(max_workers=max(1, min(LISTING_THREADS, len(groups)))) as pool:
        futures: list[Future[GroupListing]] = [pool.submit(listed, group) for group in groups]
        pending = set(futures)
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    listing = future.result()  # the first failure raises here
                    if on_listed is not None:
                        on_listed(listing)
        except BaseException:
            stop.set()  # the running listings stop at their next page, the others do not start
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return [future.result() for future in futures]


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` as (bucket, key)."""
    bucket, _, key = uri[len(S3_SCHEME) :].partition("/")
    return bucket, key


def _s3_pages(prefix: str, client: Any) -> Iterator[list[ListedObject]]:
    if client is None:
        raise ValueError(f"listing {prefix} needs an S3 client")
    bucket, key_prefix = split_s3_uri(prefix)
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(
        Bucket=bucket, Prefix=key_prefix, PaginationConfig={"PageSize": PAGE_SIZE}
    ):
        yield [
            ListedObject(item["Key"][len(key_prefix) :], int(item["Size"]), str(item["ETag"]).strip('"'))
            for item in page.get("Contents", [])
            # A "folder" made in the console: an empty object whose key ends in "/", holding no data.
            if not (item["Key"].endswith("/") and int(item["Size"]) == 0)
        ]


def _folder_pages(folder: Path) -> Iterator[list[ListedObject]]:
    """A local group folder's files, a page at a time, as the extract step would find them in it: links
    followed, each real folder read once. What the extract step reports rather than reads is listed as an
    entry of its own, so that the step, given the manifest's files, still sees it and reports it: a folder
    that cannot be listed, a second link to a folder already read, a file that cannot be looked at (a
    dangling link). A group folder that does not exist lists nothing."""
    page: list[ListedObject] = []
    for item in _folder_entries(folder):
        page.append(item)
        if len(page) == PAGE_SIZE:
            yield page
            page = []
    if page:
        yield page


def _folder_entries(root: Path) -> Iterator[ListedObject]:
    try:
        status = root.stat()
    except FileNotFoundError:
        return
    seen = {(status.st_dev, status.st_ino)}
    # Depth first, each folder's entries by name; a stack of iterators, not recursion: trees may be deep.
    stack = [iter(_sorted_entries(root))]
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            continue
        key = Path(entry.path).relative_to(root).as_posix()
        try:
            status = os.stat(entry.path)  # links followed
        except OSError as exc:
            yield ListedObject(key, 0, f"unreadable:{exc.errno}")
            continue
        if not stat.S_ISDIR(status.st_mode):
            yield ListedObject(key, status.st_size, f"mtime:{status.st_mtime_ns}")
            continue
        identity = (status.st_dev, status.st_ino)
        if identity in seen:
            yield ListedObject(key, 0, "folder-read-before")
            continue
        seen.add(identity)
        try:
            entries = _sorted_entries(Path(entry.path))
        except OSError as exc:
            yield ListedObject(key, 0, f"unreadable:{exc.errno}")
            continue
        stack.append(iter(entries))


def _sorted_entries(folder: Path) -> list[os.DirEntry[str]]:
    with os.scandir(folder) as entries:
        return sorted(entries, key=lambda entry: entry.name)
