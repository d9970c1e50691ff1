"""The inventory step on its own: listings of S3 (moto) and of local folders, fingerprints that change exactly
when a group's objects do, manifests SageMaker can read, volumes, and the problems that stop an execution."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from steps.inventory import command as inventory
from steps.inventory.listing import PAGE_SIZE, list_group
from steps.inventory.volumes import (
    COMBINE_MIN_VOLUME_GB,
    GIB,
    MAX_VOLUME_GB,
    VOLUME_EXTRA_GIB,
    combine_volume_gb,
    volume_gb,
)
from tests.aws import MotoAws

BUCKET = "records-bucket"
ROOT = f"s3://{BUCKET}/mimic"


def run(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    code = inventory.main(list(arguments))
    out, err = capsys.readouterr()
    return code, out, err


def put(aws: MotoAws, key: str, body: bytes) -> None:
    aws.client("s3").put_object(Bucket=BUCKET, Key=f"mimic/{key}", Body=body)


@pytest.fixture
def bucket(aws: MotoAws) -> MotoAws:
    aws.create_bucket(BUCKET)
    put(aws, "30/3000001/3000001.hea", b"3000001 2 125 1000\n")
    put(aws, "30/3000001/3000001_0001.dat", b"\x00" * 5000)
    put(aws, "31/3100001/3100001.hea", b"3100001 1 125 10\n")
    put(aws, "31/3100001/3100001_0001.dat", b"\x01" * 700)
    return aws


def listings(aws: MotoAws, *groups: str) -> dict[str, Any]:
    s3 = aws.client("s3")
    return {group: list_group(ROOT, group, s3) for group in groups}


def test_a_listing_counts_objects_and_bytes_of_its_group_only(bucket: MotoAws) -> None:
    put(bucket, "300/3000009/x.hea", b"group 300's, not group 30's")
    put(bucket, "30/", b"")  # a console "folder": no data
    found = listings(bucket, "30", "31")
    assert (found["30"].objects, found["30"].bytes) == (2, len(b"3000001 2 125 1000\n") + 5000)
    assert (found["31"].objects, found["31"].bytes) == (2, len(b"3100001 1 125 10\n") + 700)
    assert found["30"].prefix == f"{ROOT}/30/"
    empty = list_group(ROOT, "33", bucket.client("s3"))
    assert (empty.objects, empty.pages) == (0, 1)  # an empty prefix is still one request


def test_the_fingerprint_changes_for_exactly_the_group_whose_object_changed(bucket: MotoAws) -> None:
    before = listings(bucket, "30", "31")
    put(bucket, "31/3100001/3100001_0001.dat", b"\x02" * 700)  # same key and size, another ETag
    after = listings(bucket, "30", "31")
    assert after["30"].fingerprint == before["30"].fingerprint
    assert after["31"].fingerprint != before["31"].fingerprint
    put(bucket, "31/3100001/3100001_0001.dat", b"\x01" * 700)  # the original bytes again
    assert listings(bucket, "31")["31"].fingerprint == before["31"].fingerprint
    put(bucket, "30/3000001/3000001_0002.dat", b"")  # an added object, even empty
    assert listings(bucket, "30")["30"].fingerprint != before["30"].fingerprint


def test_a_group_of_many_pages_lists_whole_in_one_pass(bucket: MotoAws) -> None:
    count = PAGE_SIZE + 7
    s3 = bucket.client("s3")
    for index in range(count):
        s3.put_object(Bucket=BUCKET, Key=f"mimic/35/{index // 100:04d}/{index:06d}.dat", Body=b"ab")
    pages: list[tuple[int, int]] = []
    manifest = io.StringIO()
    listing = list_group(ROOT, "35", s3, manifest, on_page=lambda n, b: pages.append((n, b)))
    assert (listing.objects, listing.bytes) == (count, 2 * count)
    assert [n for n, _ in pages] == [PAGE_SIZE, 7] and listing.pages == 2  # its ListObjectsV2 requests
    written = json.loads(manifest.getvalue())
    assert written[0] == {"prefix": f"{ROOT}/35/"} and len(written) == count + 1
    assert written[1:] == sorted(written[1:])  # S3's order, stable between listings


def test_keys_of_any_characters_are_listed_and_named_exactly(bucket: MotoAws) -> None:
    odd = ["3200001/a b.hea", "3200001/ünïcode.dat", '3200001/quote"d.dat', "3200001/per%25cent.dat"]
    for key in odd:
        put(bucket, f"32/{key}", b"x")
    manifest = io.StringIO()
    listing = list_group(ROOT, "32", bucket.client("s3"), manifest)
    assert listing.objects == len(odd)
    assert sorted(json.loads(manifest.getvalue())[1:]) == sorted(odd)


def test_a_local_folder_lists_with_modification_times_for_etags(tmp_path: Path) -> None:
    group = tmp_path / "30" / "3000001"
    group.mkdir(parents=True)
    (group / "3000001.hea").write_text("3000001 1 125 10\n")
    (group / "3000001_0001.dat").write_bytes(b"\x00" * 20)
    (group / "new\nline.dat").write_bytes(b"")  # a name no line-based listing could carry
    manifest = io.StringIO()
    first = list_group(str(tmp_path), "30", manifest=manifest)
    assert (first.objects, first.bytes, first.prefix) == (3, 17 + 20, f"{tmp_path}/30/")
    assert json.loads(manifest.getvalue())[1:] == [
        "3000001/3000001.hea",
        "3000001/3000001_0001.dat",
        "3000001/new\nline.dat",
    ]
    assert list_group(str(tmp_path), "30").fingerprint == first.fingerprint
    (group / "3000001_0001.dat").write_bytes(b"\x01" * 20)
    import os

    os.utime(group / "3000001_0001.dat", ns=(1, 1))  # a different modification time
    assert list_group(str(tmp_path), "30").fingerprint != first.fingerprint


@pytest.mark.parametrize(
    ("group_bytes", "expected"),
    [
        (0, VOLUME_EXTRA_GIB),
        (1, 1 + VOLUME_EXTRA_GIB),
        (GIB, 2 + VOLUME_EXTRA_GIB),  # 1.1 GiB rounds up to 2
        (670 * 10**9, 687 + VOLUME_EXTRA_GIB),  # a MIMIC-III group: 670 GB x 1.1 = 686.4 GiB
    ],
)
def test_a_volume_holds_the_group_and_headroom(group_bytes: int, expected: int) -> None:
    assert volume_gb(group_bytes, 0) == expected  # no windows
    assert volume_gb(group_bytes, 0) * GIB >= group_bytes * 1.1


@pytest.mark.parametrize("window", [86_400, 60, 10, 1, 0.1])
def test_a_volume_holds_the_windows_twice_as_they_grow_with_shorter_windows(window: float) -> None:
    """Windows of 125 one-byte samples a second (MIMIC-III's waveforms), a 29-byte row per window: the parts
    and the file they are copied into."""
    group = 670 * 10**9
    windows = group / (125 * window) * 29
    assert volume_gb(group, window) * GIB >= group * 1.1 + 2 * windows
    assert volume_gb(group, window) >= volume_gb(group, 0)
    assert volume_gb(group, 1) > 1.4 * volume_gb(group, 0)  # 1-s windows: 46 % more than the input
    assert volume_gb(group, 60) < 1.02 * volume_gb(group, 0)


def test_the_combine_volume_holds_every_groups_windows_and_the_largest_again() -> None:
    groups = [670 * 10**9] * 10  # MIMIC-III
    assert combine_volume_gb(groups, 0) == COMBINE_MIN_VOLUME_GB == combine_volume_gb([], 60)
    assert combine_volume_gb(groups, 60) == COMBINE_MIN_VOLUME_GB  # ~26 GB of windows
    windows = 11 * 670 * 10**9 / (125 * 10) * 29  # 10-s windows: ~171 GB
    assert combine_volume_gb(groups, 10) * GIB >= windows * 1.1 + 30 * GIB
    assert combine_volume_gb(groups, 1) > 1024  # beyond the default quota: the inventory names it


def test_the_step_keeps_one_manifest_per_state_and_names_it_in_its_property_file(
    bucket: MotoAws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = bucket.create_kms_key()
    options = ["--input-root", ROOT, "--manifest-root", f"s3://{BUCKET}/out/manifests", "--kms-key-id", key]
    code, out, err = run(capsys, *options, "--output-dir", str(tmp_path / "a"), "--groups", "30", "31")
    assert (code, err) == (0, "")
    properties = json.loads((tmp_path / "a" / inventory.PROPERTY_FILE).read_text())
    s3 = bucket.client("s3")
    for group in ("30", "31"):
        entry = properties[inventory.group_key(group)]
        assert entry["manifest"] == f"s3://{BUCKET}/out/manifests/{group}/{entry['fingerprint']}.manifest"
        assert entry["volume_gb"] == VOLUME_EXTRA_GIB + 1 and entry["objects"] == 2
        head = s3.head_object(Bucket=BUCKET, Key=f"out/manifests/{group}/{entry['fingerprint']}.manifest")
        assert head["ServerSideEncryption"] == "aws:kms"
    assert out.count("(written)") == 2

    code, out, _ = run(capsys, *options, "--output-dir", str(tmp_path / "b"), "--groups", "30", "31")
    assert code == 0 and out.count("(unchanged, kept)") == 2  # nothing changed: nothing written
    assert (tmp_path / "b" / inventory.PROPERTY_FILE).read_text() == (
        tmp_path / "a" / inventory.PROPERTY_FILE
    ).read_text()


@pytest.mark.project_env  # the pipeline's JSONPath reader
def test_json_paths_of_the_property_file_read_each_groups_fields(
    bucket: MotoAws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipeline.definition_eval import json_path

    options = ["--input-root", ROOT, "--manifest-root", str(tmp_path / "manifests"), "--groups", "30"]
    assert run(capsys, *options, "--output-dir", str(tmp_path / "a"))[0] == 0
    properties = json.loads((tmp_path / "a" / inventory.PROPERTY_FILE).read_text())
    manifest = json_path(properties, inventory.property_path("30", inventory.MANIFEST_FIELD))
    assert Path(manifest).is_file() and Path(manifest).parent == tmp_path / "manifests" / "30"
    assert json_path(properties, inventory.property_path("30", inventory.VOLUME_FIELD)) == 3


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--groups", "30", "33"], f"no objects under {ROOT}/33/"),
        (
            ["--groups", "30", "--volume-quota-gb", "2"],
            "over the volume quota of 2 GB (group 30 needs 3 GB, the combine step needs 200 GB): raise the "
            "SageMaker quota 'Size of EBS volume for a processing job instance' in Service Quotas to at "
            "least 200 GB, then pass the new quota as --volume-quota-gb (the pipeline's VolumeQuotaGB "
            "parameter)",
        ),
        (
            ["--groups", "30", "--volume-size-gb", "2"],
            "--volume-size-gb 2 is too small for the groups' data (group 30 needs 3 GB)",
        ),
        (
            ["--groups", "30", "--volume-size-gb", str(MAX_VOLUME_GB + 1), "--volume-quota-gb", "99999"],
            f"no instance can hold these groups (group 30 needs {MAX_VOLUME_GB + 1} GB",
        ),
    ],
    ids=["an empty group", "over the quota", "a fixed volume too small", "over the largest volume"],
)
def test_what_would_stop_a_group_stops_the_inventory_in_one_line_and_writes_nothing(
    bucket: MotoAws, tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    options = ["--input-root", ROOT, "--manifest-root", f"s3://{BUCKET}/out/manifests"]
    code, out, err = run(capsys, *options, "--output-dir", str(tmp_path), *extra)
    assert (code, out) == (1, "")
    assert err.startswith("error: ") and message in err and err.count("\n") == 1, err
    assert not (tmp_path / inventory.PROPERTY_FILE).exists()
    assert bucket.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="out/").get("KeyCount", 0) == 0


@pytest.mark.parametrize(
    ("root", "message"),
    [
        ("s3://no-such-bucket/mimic", "listing s3://no-such-bucket/mimic/30/: NoSuchBucket: "),
        ("/no/such/folder", "no objects under /no/such/folder/30/"),
    ],
)
def test_a_root_that_cannot_be_listed_is_one_line(
    bucket: MotoAws, tmp_path: Path, capsys: pytest.CaptureFixture[str], root: str, message: str
) -> None:
    options = ["--input-root", root, "--manifest-root", str(tmp_path / "m"), "--groups", "30"]
    code, out, err = run(capsys, *options, "--output-dir", str(tmp_path / "o"))
    assert (code, out) == (1, "") and err.startswith(f"error: {message}") and err.count("\n") == 1, err


def test_a_local_listing_reads_each_real_folder_once_and_lists_what_it_cannot_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The extract step, given the manifest's files, must still see what it reports rather than reads: so
    a second link to a folder, a folder that cannot be listed and a dangling link are entries of their own."""
    import os

    group = tmp_path / "33"
    (group / "3300001").mkdir(parents=True)
    (group / "3300001" / "r_0001.hea").write_text("r_0001 1 125 10\n")
    os.symlink("..", group / "3300001" / "loop")  # back to the group folder, already being read
    os.symlink(group / "3300001", group / "3300009")  # a second way to the same record set
    (group / "3300002").mkdir()
    (group / "3300002" / "hidden.hea").write_text("hidden\n")
    os.symlink(group / "missing.dat", group / "dangling.dat")
    real_scandir = os.scandir

    def scandir(path: Any) -> Any:  # permissions do not stop root, who runs the tests: a lost mount does
        if isinstance(path, (str, os.PathLike)) and Path(path).name == "3300002":
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr("steps.inventory.listing.os.scandir", scandir)
    manifest = io.StringIO()
    listing = list_group(str(tmp_path), "33", manifest=manifest)
    keys = json.loads(manifest.getvalue())[1:]
    assert keys == ["3300001/loop", "3300001/r_0001.hea", "3300002", "3300009", "dangling.dat"]
    assert listing.objects == 5


@pytest.mark.parametrize("group", ["33"])
def test_an_unreadable_group_folder_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, group: str
) -> None:
    import os

    (tmp_path / group).mkdir()
    real_scandir = os.scandir

    def scandir(path: Any) -> Any:
        if isinstance(path, (str, os.PathLike)) and Path(path).name == group:
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr("steps.inventory.listing.os.scandir", scandir)
    options = ["--input-root", str(tmp_path), "--manifest-root", str(tmp_path / "m"), "--groups", group]
    code, out, err = run(capsys, *options, "--output-dir", str(tmp_path / "o"))
    assert (code, out) == (1, "")
    assert err == f"error: listing {tmp_path}/{group}/: [Errno 13] Permission denied\n"


def test_an_output_folder_that_cannot_be_written_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "in" / "30").mkdir(parents=True)
    (tmp_path / "in" / "30" / "x.hea").write_text("x 1 125 10\n")
    (tmp_path / "file").write_text("a file where the output folder should be\n")
    options = ["--input-root", str(tmp_path / "in"), "--manifest-root", str(tmp_path / "m"), "--groups", "30"]
    code, out, err = run(capsys, *options, "--output-dir", str(tmp_path / "file" / "out"))
    assert (code, out) == (1, "") and err.startswith("error: ") and err.count("\n") == 1, err


def test_group_names_are_packed_into_arguments_of_at_most_256_characters() -> None:
    names = [f"p{number}" for number in range(100, 200)]
    packed = inventory.packed_names(names)
    assert len(packed) == 2 and all(len(item) <= inventory.MAX_ARGUMENT_CHARACTERS for item in packed)
    assert ",".join(packed).split(",") == names
    longest = ["g" * 50] * 100
    packed = inventory.packed_names(longest)
    assert all(len(item) <= 256 for item in packed) and len(packed) == 20  # 5 names of 50 an argument
    parsed = inventory.build_parser().parse_args(
        ["--input-root", ROOT, "--manifest-root", "m", "--groups", *inventory.packed_names(names)]
    )
    assert [name for names_ in parsed.groups for name in names_] == names


def test_comma_separated_groups_are_listed_as_separate_groups(
    bucket: MotoAws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    options = ["--input-root", ROOT, "--manifest-root", str(tmp_path / "m"), "--output-dir", str(tmp_path)]
    code, out, err = run(capsys, *options, "--groups", "30,31")
    assert (code, err) == (0, "") and "group 30:" in out and "group 31:" in out
    with pytest.raises(SystemExit) as exited:
        run(capsys, *options, "--groups", "30,,31")
    assert exited.value.code == 2 and "'30,,31' names an empty group" in capsys.readouterr().err
