"""Inventory step: list every group under the input root, keep each group's manifest under a key named by its
fingerprint, and write ``inventory.json``: for each group, the manifest's URI and the volume its step needs.

The pipeline's first step, run on every execution and never reused from the cache. Each group step reads its
records through the manifest this step names (a ``ManifestFile`` input), so a group step's cache key, which
holds its resolved inputs, changes exactly when its group's objects (keys, sizes, ETags) do: a group whose
data did not change is reused whatever its age, and one whose data changed runs again, on a start and on a
schedule alike. The step stops the execution, before any group step starts, when a group has no objects or
needs a larger volume than one instance may have.

Runs as the Processing job's command (``python3 -m steps.inventory.command``) and from the tests; the pipeline
builds its arguments with :func:`arguments` and reads its results with :func:`property_path`, so both ends of
the contract are here.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from steps.contract.arguments import DEFAULT_WINDOW_SECONDS, WINDOW_SECONDS_OPTION, window_seconds
from steps.contract.failure import printable

from .listing import S3_SCHEME, GroupListing, OnPage, connections_for, list_group, list_groups
from .volumes import MAX_VOLUME_GB, VOLUME_QUOTA_GB, VOLUME_QUOTA_NAME, combine_volume_gb, volume_gb

DEFAULT_OUTPUT = Path("/opt/ml/processing/output")
PROPERTY_FILE = "inventory.json"  # in the output folder; the pipeline declares it as the step's property file
MANIFEST_FIELD = "manifest"
VOLUME_FIELD = "volume_gb"
COMBINE_KEY = "combine"  # inventory.json's entry for the combine step: its VOLUME_FIELD
# CreateProcessingJob takes at most 100 container arguments of at most 256 characters each: the group names
# travel comma-separated, as many to an argument as fit, so a hundred groups take two arguments, not 100.
MAX_ARGUMENT_CHARACTERS = 256
GROUP_SEPARATOR = ","

DESCRIPTION = """\
List every group folder under the input root (S3 or a local folder): objects, bytes and a fingerprint of
their keys, sizes and ETags; keep each group's manifest under <manifest root>/<group>/<fingerprint>.manifest;
write inventory.json with each group's manifest and the volume its step needs, and the combine step's volume.
Fails, writing no inventory.json, if a group has no objects or a step needs a volume larger than the quota.

The same command runs as the pipeline's first SageMaker Processing job: python3 -m steps.inventory.command."""


def group_key(group: str) -> str:
    """A group's entry in inventory.json: a name JSONPath reads as a plain field (group names may start with
    a digit)."""
    return f"group_{group}"


def property_path(group: str | None, field: str) -> str:
    """The JSONPath of one of a group's fields in inventory.json, as the pipeline's JsonGet reads it; with no
    group, the combine step's."""
    return f"{COMBINE_KEY if group is None else group_key(group)}.{field}"


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(
        prog="steps.inventory.command",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--input-root", required=True, help="s3:// URI or folder holding the group folders")
    parser.add_argument(
        "--groups",
        nargs="+",
        required=True,
        type=_group_names,
        metavar="GROUP[,GROUP...]",
        help="the groups to list, each argument one name or several separated by commas",
    )
    parser.add_argument(
        "--manifest-root", required=True, help="s3:// URI or folder under which the manifests are kept"
    )
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=DEFAULT_OUTPUT,
        help="where inventory.json goes (default: %(default)s)",
    )
    parser.add_argument(
        "--volume-size-gb",
        type=_whole_number,
        default=0,
        help="every group step's volume in GB; 0 (the default): each group's from its bytes plus headroom",
    )
    parser.add_argument(
        "--volume-quota-gb",
        type=_whole_number,
        default=VOLUME_QUOTA_GB,
        help=f"the account's quota '{VOLUME_QUOTA_NAME}' (default: %(default)s, a new account's)",
    )
    parser.add_argument(
        WINDOW_SECONDS_OPTION,
        type=window_seconds,
        default=DEFAULT_WINDOW_SECONDS,
        metavar="SECONDS",
        help="the extract steps' window length, which their outputs and the combine step's grow with as it "
        "shortens (default: %(default)g; 0: no windows)",
    )
    parser.add_argument(
        "--kms-key-id", default="", help="KMS key of the manifests written to S3 (else SSE-S3)"
    )
    parser.add_argument(
        "--region", default="", help="AWS region (default: AWS_REGION, else AWS_DEFAULT_REGION)"
    )
    return parser


def arguments(
    input_root: Any,
    groups: Sequence[str],
    manifest_root: Any,
    output_dir: Any,
    volume_size_argument: Any,
    volume_quota_argument: Any,
    window_seconds_argument: Any,
    kms_key_id: str = "",
    region: str = "",
) -> list[Any]:
    """The command line :func:`build_parser` parses, from values or the pipeline's expressions for them.
    ``volume_size_argument``, ``volume_quota_argument`` and ``window_seconds_argument`` are ``--option=VALUE``
    as one argument each (joined from the pipeline's parameters); empty options are left out
    (CreateProcessingJob refuses an empty argument)."""
    optional = [("--kms-key-id", kms_key_id), ("--region", region)]
    return [
        "--input-root", input_root,
        "--manifest-root", manifest_root,
        "--output-dir", output_dir,
        volume_size_argument,
        volume_quota_argument,
        window_seconds_argument,
        *(item for option, value in optional if value for item in (option, value)),
        "--groups", *packed_names(groups),
    ]  # fmt: skip


def packed_names(names: Sequence[str]) -> list[str]:
    """``names`` joined with commas into as few arguments as hold them, each at most
    :data:`MAX_ARGUMENT_CHARACTERS` characters (a name is never cut: a name longer than that is its own
    argument, which the service refuses, as the preflight check says)."""
    packed: list[str] = []
    for name in names:
        if packed and len(packed[-1]) + len(GROUP_SEPARATOR) + len(name) <= MAX_ARGUMENT_CHARACTERS:
            packed[-1] += GROUP_SEPARATOR + name
        else:
            packed.append(name)
    return packed


def _group_names(text: str) -> list[str]:
    names = text.split(GROUP_SEPARATOR)
    if not all(names):
        raise argparse.ArgumentTypeError(f"{text!r} names an empty group")
    return names


class InventoryError(RuntimeError):
    """The listing could not be made or the groups cannot run; the message is one line."""


def run(args: argparse.Namespace) -> int:
    try:
        found = inventory(args)
    except InventoryError as exc:
        print(f"error: {printable(str(exc))}", file=sys.stderr)
        return 1
    except OSError as exc:  # its scratch folder or inventory.json cannot be written
        print(f"error: {printable(str(exc))}", file=sys.stderr)
        return 1
    listings, combine_volume = found
    for listing, manifest, volume, new in listings:
        state = "written" if new else "unchanged, kept"
        print(
            f"group {printable(listing.group)}: {listing.objects:,} objects, {listing.bytes / 1e9:,.3f} GB, "
            f"fingerprint {listing.fingerprint[:16]}, volume {volume} GB, manifest {printable(manifest)} "
            f"({state})"
        )
    print(f"combine step: volume {combine_volume} GB")
    print(f"wrote {printable(str(args.output_dir / PROPERTY_FILE))}")
    return 0


def inventory(args: argparse.Namespace) -> tuple[list[tuple[GroupListing, str, int, bool]], int]:
    """List the groups, check them, keep their manifests and write inventory.json: for each group its listing,
    manifest URI, volume and whether the manifest was new; and the combine step's volume."""
    from steps.contract.atomic import atomic_text
    from steps.contract.s3 import aws_region

    from .manifests import manifest_uri

    groups = list(dict.fromkeys(name for names in args.groups for name in names))
    on_s3 = any(str(root).startswith(S3_SCHEME) for root in (args.input_root, args.manifest_root))
    client = _s3_client(aws_region(args.region), connections_for(len(groups))) if on_s3 else None
    with tempfile.TemporaryDirectory(prefix="inventory-") as scratch:
        written = {group: Path(scratch, f"{index}.manifest") for index, group in enumerate(groups)}

        def list_one(group: str, on_page: OnPage) -> GroupListing:
            with open(written[group], "w", encoding="utf-8") as manifest:
                return _listed(args.input_root, group, client, manifest, on_page)

        listings = list_groups(groups, list_one)
        volumes = {
            listing.group: args.volume_size_gb or volume_gb(listing.bytes, args.window_seconds)
            for listing in listings
        }
        combine_volume = combine_volume_gb([listing.bytes for listing in listings], args.window_seconds)
        _check(listings, volumes, combine_volume, args)
        results = []
        for listing in listings:
            uri = manifest_uri(args.manifest_root, listing.group, listing.fingerprint)
            new = _kept(written[listing.group], uri, client, args.kms_key_id)
            results.append((listing, uri, volumes[listing.group], new))
    properties: dict[str, Any] = {"groups": groups, COMBINE_KEY: {VOLUME_FIELD: combine_volume}}
    for listing, uri, volume, _ in results:
        properties[group_key(listing.group)] = {
            MANIFEST_FIELD: uri,
            VOLUME_FIELD: volume,
            "prefix": listing.prefix,
            "objects": listing.objects,
            "bytes": listing.bytes,
            "fingerprint": listing.fingerprint,
        }
    with atomic_text(args.output_dir / PROPERTY_FILE) as stream:
        json.dump(properties, stream, indent=1)
    return results, combine_volume


def _listed(root: str, group: str, client: Any, manifest: Any, on_page: OnPage) -> GroupListing:
    with _one_line(f"listing {root.rstrip('/')}/{group}/"):
        return list_group(root, group, client, manifest, on_page)


def _kept(written: Path, uri: str, client: Any, kms_key_id: str) -> bool:
    from .manifests import keep_manifest

    with _one_line(f"writing manifest {uri}"):
        return keep_manifest(written, uri, client, kms_key_id)


@contextmanager
def _one_line(doing: str) -> Iterator[None]:
    """S3's and the file system's errors as one line saying what was being done (S3's code and message)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise InventoryError(f"{doing}: {error.get('Code', 'error')}: {error.get('Message', exc)}") from None
    except (BotoCoreError, OSError) as exc:
        raise InventoryError(f"{doing}: {exc}") from None


def _check(
    listings: Sequence[GroupListing], volumes: dict[str, int], combine_volume: int, args: argparse.Namespace
) -> None:
    """Every problem that would stop a group step or the combine step, in one message: better now than after
    the others ran."""
    given, quota, window = args.volume_size_gb, args.volume_quota_gb, args.window_seconds
    problems = []
    empty = [listing.prefix for listing in listings if listing.objects == 0]
    if empty:
        problems.append(f"no objects under {', '.join(empty)}")
    if given:
        needed = {f"group {g.group}": volume_gb(g.bytes, window) for g in listings if g.objects}
        small = {group: size for group, size in needed.items() if given < size}
        if small:
            problems.append(f"--volume-size-gb {given} is too small for the groups' data ({_needs(small)})")
    sizes = {f"group {group}": size for group, size in volumes.items()}
    too_big = {step: size for step, size in sizes.items() if size > MAX_VOLUME_GB}
    if too_big:
        problems.append(
            f"no instance can hold these groups ({_needs(too_big)}; a volume has at most {MAX_VOLUME_GB} "
            "GB): split each into groups of its record-set folders"
            + (", or choose longer windows" if window else "")
        )
    if combine_volume > MAX_VOLUME_GB:
        problems.append(
            f"the combine step needs {combine_volume} GB for the windows of {window:g} s, more than a volume "
            f"may have ({MAX_VOLUME_GB} GB): choose longer windows, or fewer groups a pipeline"
        )
    sizes["the combine step"] = combine_volume
    over = {step: size for step, size in sizes.items() if quota < size <= MAX_VOLUME_GB}
    if over:
        problems.append(
            f"over the volume quota of {quota} GB ({_needs(over)}): raise the SageMaker quota "
            f"'{VOLUME_QUOTA_NAME}' in Service Quotas to at least {max(over.values())} GB, then pass the new "
            "quota as --volume-quota-gb (the pipeline's VolumeQuotaGB parameter)"
        )
    if problems:
        raise InventoryError("; ".join(problems))


def _needs(sizes: dict[str, int]) -> str:
    """``{"group 30": 1203}`` as ``group 30 needs 1203 GB``."""
    return ", ".join(f"{step} needs {size} GB" for step, size in sizes.items())


def _s3_client(region: str, connections: int) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("s3", region_name=region or None, config=Config(max_pool_connections=connections))


def _whole_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
