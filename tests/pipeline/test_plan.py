"""``plan`` against moto's S3 (and a local folder): each group's objects, bytes, volume and fingerprint, the
groups that are empty or over the volume quota, table and JSON output, nothing but listing calls and no SDK;
and the cost model's arithmetic, checked against figures computed by hand."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from pipeline.config import PipelineConfig
from pipeline.parameters import pipeline_parameters
from pipeline.planning.cost_figures import FIGURES
from pipeline.planning.cost_model import (
    cheapest_io_bound,
    compute_seconds,
    download_bytes_per_second,
    estimate_group,
    estimate_inventory,
    read_bytes_per_second,
    wall_seconds,
)
from pipeline.planning.instance_types import INSTANCE_TYPES, SOURCES
from pipeline.planning.plan import duration_text, make_plan, size_text
from steps.inventory.listing import GroupListing
from steps.inventory.volumes import volume_gb
from tests.aws import MotoAws
from tests.fresh_interpreter import modules_after
from tests.pipeline.cli_fixtures import BUCKET, Cli

ROOT = f"s3://{BUCKET}/waveform-pipeline/input"  # the default InputRoot of the deployable settings
MIMIC_GROUP_BYTES = 670_000_000_000  # a MIMIC-III group: 6.7 TB in ten groups
MIB = 2**20
DEFAULT_TYPE = next(p.default for p in pipeline_parameters(PipelineConfig()) if p.name == "GroupInstanceType")


def put(aws: MotoAws, group: str, files: dict[str, bytes]) -> None:
    s3 = aws.client("s3")
    prefix = f"waveform-pipeline/input/{group}/"
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(lambda item: s3.put_object(Bucket=BUCKET, Key=prefix + item[0], Body=item[1]),
                      files.items()))  # fmt: skip


def planned(cli: Cli, *args: str) -> dict[str, Any]:
    code, out, err = cli("--output", "json", "plan", *args)
    assert code == 0 and err == "", err
    document: dict[str, Any] = json.loads(out)
    return document


def by_group(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {group["group"]: group for group in document["groups"]}


@pytest.fixture
def three_groups(aws: MotoAws, deployable: Cli) -> Cli:
    """Groups 30 (three objects, 6,000 bytes), 31 (one of 5 MiB) and 32 (empty), as WAVEFORM_GROUPS names."""
    put(aws, "30", {"3000003/3000003.hea": b"h" * 1000, "3000003/3000003_0001.dat": b"d" * 2000,
                    "3000003/3000003_0002.dat": b"e" * 3000})  # fmt: skip
    put(aws, "31", {"3100001/3100001_0001.dat": b"x" * (5 * MIB)})
    return deployable


def test_each_group_is_listed_with_its_objects_bytes_and_volume(three_groups: Cli, aws: MotoAws) -> None:
    before = len(aws.calls())
    document = planned(three_groups)
    groups = by_group(document)
    assert list(groups) == ["30", "31", "32"]
    assert [(g["objects"], g["bytes"]) for g in groups.values()] == [(3, 6000), (1, 5 * MIB), (0, 0)]
    sizes = [volume_gb(6000, 60), volume_gb(5 * MIB, 60), volume_gb(0, 60)]  # WindowSeconds' default
    assert [g["volume_gb"] for g in groups.values()] == sizes
    assert groups["30"]["prefix"] == f"{ROOT}/30/"
    assert document["totals"]["objects"] == 4 and document["totals"]["bytes"] == 6000 + 5 * MIB
    assert document["empty_groups"] == ["32"] and document["over_volume_quota"] == []
    assert document["instance_type"]["name"] == DEFAULT_TYPE
    assert document["input_root"] == ROOT
    # Listing, and nothing else: no SageMaker call, no object read.
    assert {call for call in aws.calls()[before:]} == {("s3", "ListObjectsV2")}


def test_a_changed_object_changes_exactly_its_groups_fingerprint(three_groups: Cli, aws: MotoAws) -> None:
    first = {name: g["fingerprint"] for name, g in by_group(planned(three_groups)).items()}
    put(aws, "31", {"3100001/3100001_0001.dat": b"x" * (5 * MIB)})  # the same bytes again: the same ETag
    assert {name: g["fingerprint"] for name, g in by_group(planned(three_groups)).items()} == first
    put(aws, "30", {"3000003/3000003_0002.dat": b"f" * 3000})  # same size, other bytes: another ETag
    second = {name: g["fingerprint"] for name, g in by_group(planned(three_groups)).items()}
    assert [name for name in first if first[name] != second[name]] == ["30"]
    put(aws, "31", {"3100001/3100001_0001.dat": b"x" * (5 * MIB + 1)})  # another size
    third = {name: g["fingerprint"] for name, g in by_group(planned(three_groups)).items()}
    assert [name for name in second if second[name] != third[name]] == ["31"]


def test_the_table_names_each_group_the_totals_and_the_empty_and_over_quota_groups(three_groups: Cli) -> None:
    code, out, err = three_groups("plan", "--instance-type", "ml.m5.xlarge", "--volume-quota-gb", "2")
    assert code == 0 and err == "", err
    lines = out.splitlines()
    assert lines[0] == f"input root: {ROOT} (3 group(s))"
    assert (
        lines[1] == "instance: 1 x ml.m5.xlarge per group step (4 vCPUs, 16 GiB, $0.23 an hour in us-east-1)"
    )
    assert lines[2].split() == ["GROUP", "OBJECTS", "SIZE", "VOLUME", "DOWNLOAD", "READ", "COMPUTE", "TOTAL",
                                "COST", "FINGERPRINT"]  # fmt: skip
    rows = {line.split()[0]: line.split() for line in lines[3:7]}
    assert rows["30"][:6] == ["30", "3", "6.0", "kB", "3", "GB"]
    assert rows["31"][:4] == ["31", "1", "5.2", "MB"] and rows["32"][:4] == ["32", "0", "0", "B"]
    assert rows["total"][:4] == ["total", "4", "5.2", "MB"]
    assert "empty: 32 (no objects under the group's folder)" in lines
    over = [line for line in lines if line.startswith("over the volume quota")]
    assert over == [
        f"over the volume quota: {step} needs {size} GB, more than the 2 GB of 'Size of EBS volume for a "
        "processing job instance': raise it in Service Quotas, then plan --volume-quota-gb N"
        for step, size in (("group 30", 3), ("group 31", 3), ("the combine step", 200))  # group 32: 2 GB
    ]
    assert "this listing: 3 ListObjectsV2 request(s), $0.00" in lines
    assert lines[-1] == "figures and their sources: docs/cost-model.md (plan --output json lists them)"


def test_json_gives_the_model_and_every_figure_with_its_label(three_groups: Cli) -> None:
    document = planned(three_groups, "--instance-type", "ml.c5.xlarge", "--instance-count", "2")
    assert document["instance_type"]["name"] == "ml.c5.xlarge" and document["instances_per_group"] == 2
    group = by_group(document)["31"]
    assert set(group["seconds"]) == {"startup", "download", "read", "compute", "total"}
    assert group["bound"] in {"read", "compute"}
    assert set(group["cost_usd"]) == {"instances", "volumes", "requests", "total"}
    labels = {"measured here", "documented by AWS", "estimate"}
    assert {figure["label"] for figure in document["figures"].values()} <= labels
    assert all(figure["source"] for figure in document["figures"].values())
    assert document["totals"]["cost_usd_per_tb"] > 0 and document["model"] == "docs/cost-model.md"


def test_a_group_of_many_objects_lists_page_by_page(aws: MotoAws, deployable: Cli) -> None:
    """5,001 objects: six pages of ListObjectsV2 (at most 1,000 keys each), every one counted once."""
    sizes = {f"3000{n // 100:03d}/3000{n // 100:03d}_{n % 100:04d}.dat": n % 97 + 1 for n in range(5001)}
    put(aws, "30", {key: b"s" * size for key, size in sizes.items()})
    before = len(aws.calls())
    document = planned(deployable, "--groups", "30")
    group = by_group(document)["30"]
    assert (group["objects"], group["bytes"]) == (5001, sum(sizes.values()))
    assert aws.calls()[before:].count(("s3", "ListObjectsV2")) == 6 == document["totals"]["list_requests"]


def test_an_input_root_given_is_listed_instead_and_a_local_folder_too(
    three_groups: Cli, tmp_path: Path
) -> None:
    assert planned(three_groups, "--input-root", f"{ROOT}/")["input_root"] == f"{ROOT}/"
    for group, size in (("30", 10), ("31", 20), ("32", 0)):
        (tmp_path / group / "r").mkdir(parents=True)
        if size:
            (tmp_path / group / "r" / "r.dat").write_bytes(b"z" * size)
    local = planned(three_groups, "--input-root", str(tmp_path))
    groups = by_group(local)
    assert [(g["objects"], g["bytes"]) for g in groups.values()] == [(1, 10), (1, 20), (0, 0)]
    assert local["totals"]["list_requests"] == 0  # a local folder costs no S3 request


def test_plan_imports_no_sagemaker_module(three_groups: Cli) -> None:
    exit_code, modules = modules_after("pipeline", ["plan"])
    assert exit_code == 0
    assert not {name for name in modules if name.startswith("sagemaker")}


NO_FOLDER = "error: --input-root /no/such/folder: no such folder (give a folder, or s3://bucket/prefix)\n"
NO_BUCKET_NAME = "error: --input-root s3:///input: no bucket (give s3://bucket/prefix)\n"
NO_SUCH_BUCKET = "error: ListObjectsV2 failed: NoSuchBucket: The specified bucket does not exist\n"


@pytest.mark.parametrize(
    ("root", "message"),
    [("s3://no-such-bucket-here/input", NO_SUCH_BUCKET), ("/no/such/folder", NO_FOLDER),
     ("s3:///input", NO_BUCKET_NAME)],
    ids=["no such bucket", "no folder", "no bucket name"],
)  # fmt: skip
def test_a_root_that_cannot_be_listed_is_one_line(deployable: Cli, root: str, message: str) -> None:
    assert deployable("plan", "--input-root", root) == (1, "", message)


def test_without_a_bucket_it_says_how_to_give_one(deployable: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WAVEFORM_BUCKET")
    code, out, err = deployable("plan")
    assert (code, out) == (1, "") and err.startswith(
        "error: bucket is not set: give --bucket, WAVEFORM_BUCKET"
    )


def test_an_instance_type_without_figures_is_refused(deployable: Cli) -> None:
    with pytest.raises(SystemExit) as exited:
        deployable("plan", "--instance-type", "ml.p3.2xlarge")
    assert exited.value.code == 2
    assert "'ml.p3.2xlarge' has no figures in the cost model" in deployable.capsys.readouterr().err


# -- the model ----------------------------------------------------------------------------------------------


def test_every_instance_type_is_a_processing_instance_type_and_the_default_has_figures() -> None:
    model = botocore.session.get_session().get_service_model("sagemaker")
    assert set(INSTANCE_TYPES) <= set(model.shape_for("ProcessingInstanceType").enum)
    assert DEFAULT_TYPE in INSTANCE_TYPES


def test_every_figure_and_column_has_a_label_and_a_source() -> None:
    labels = {"measured here", "documented by AWS", "estimate"}
    assert all(f.label in labels and f.source for f in FIGURES.values())
    assert all(s["label"] in labels and s["source"] for s in SOURCES.values())


def test_a_mimic_group_on_m5_xlarge_as_computed_by_hand() -> None:
    m5 = INSTANCE_TYPES["ml.m5.xlarge"]
    estimate = estimate_group(m5, MIMIC_GROUP_BYTES, 0, 689)
    # Download: the slowest of File mode (50 GB in 300 s), 1.25 Gbit/s, EBS 143.75 MB/s, gp2 250 MiB/s.
    assert download_bytes_per_second(m5, 689) == 143.75e6
    assert estimate.download_seconds == pytest.approx(670e9 / 143.75e6)  # 4,660.9 s
    assert estimate.read_seconds == pytest.approx(670e9 / 143.75e6)
    assert estimate.compute_seconds == pytest.approx(670e9 / 751e6 / 4)  # 223.0 s
    assert estimate.bound == "read"
    total = 360 + 2 * 670e9 / 143.75e6  # 9,681.7 s
    assert estimate.total_seconds == pytest.approx(total)
    assert estimate.instance_dollars == pytest.approx(0.23 * total / 3600)  # $0.6186
    assert estimate.volume_dollars == pytest.approx(689 * 0.14 * total / 3600 / 730)  # $0.3554
    assert estimate.dollars / 0.67 == pytest.approx((0.6186 + 0.3554) / 0.67, rel=1e-3)  # per TB, no files


def test_a_small_volume_and_a_fast_instance_download_at_the_volumes_128_mib() -> None:
    c5 = INSTANCE_TYPES["ml.c5.9xlarge"]
    assert download_bytes_per_second(c5, 170) == 128 * MIB
    assert read_bytes_per_second(c5, 170) == 128 * MIB
    assert download_bytes_per_second(c5, 171) == 50e9 / 300  # File mode's rate, below 250 MiB/s
    assert read_bytes_per_second(c5, 171) == 250 * MIB


def test_many_small_files_wait_on_the_volumes_iops() -> None:
    c5 = INSTANCE_TYPES["ml.c5.xlarge"]
    estimate = estimate_group(c5, 10**9, 1_000_000, 100)  # 1 kB files; 100 GiB: 300 IOPS
    io_operations = 1_000_000 + 10**9 / (256 * 1024)  # an I/O a file, and one a 256 KiB
    assert estimate.download_seconds == pytest.approx(io_operations / 300)  # 3,346 s
    assert estimate.read_seconds == pytest.approx(io_operations / 300)
    big = estimate_group(c5, 10**9, 1_000_000, 2000)  # 6,000 IOPS: the instance's, not the volume's
    assert big.read_seconds == pytest.approx(io_operations / 6000)


def test_compute_counts_bytes_and_objects_on_the_sustained_share_of_each_vcpu() -> None:
    t3 = INSTANCE_TYPES["ml.t3.medium"]  # 2 vCPUs at 20 %: 0.4 of a vCPU
    assert compute_seconds(t3, 751e6 * 0.4, 0) == pytest.approx(1.0)
    assert compute_seconds(t3, 0, 1000) == pytest.approx(1000 * 0.15e-3 / 0.4)  # 0.375 s


def test_each_instance_copies_the_whole_group_and_extracts_its_share() -> None:
    m5 = INSTANCE_TYPES["ml.m5.large"]
    one, two = (estimate_group(m5, 10**11, 1000, 200, instances=n) for n in (1, 2))
    assert two.download_seconds == one.download_seconds
    assert two.read_seconds == pytest.approx(one.read_seconds / 2)
    assert two.compute_seconds == pytest.approx(one.compute_seconds / 2)
    assert two.instance_dollars == pytest.approx(2 * 0.115 * two.total_seconds / 3600)
    assert two.request_dollars == pytest.approx(2 * 1000 * 0.0004 / 1000)  # a GET per object per instance


def test_the_run_lasts_as_its_steps_fill_the_parallel_places() -> None:
    assert wall_seconds([3, 3, 3, 3, 3], 4) == 6
    assert wall_seconds([5, 1, 1, 1], 2) == 5
    assert wall_seconds([1, 1, 1, 5], 2) == 6
    assert wall_seconds([2, 2], 10) == 2 and wall_seconds([], 4) == 0


def test_the_default_instance_type_is_the_cheapest_per_tb_that_stays_io_bound_on_mimic() -> None:
    """Item 4 of issue 11: the pipeline's default is the model's choice for a MIMIC-III group (670 GB) whose
    files average 100 kB or more (docs/cost-model.md says why we expect that)."""
    for mean_object in (100e3, 1e6, 10e6):
        objects = int(MIMIC_GROUP_BYTES / mean_object)
        chosen = cheapest_io_bound(INSTANCE_TYPES.values(), MIMIC_GROUP_BYTES, objects, 689)
        assert chosen.name == DEFAULT_TYPE == "ml.c5.xlarge"
    # Files of 27 kB (as the real records in tests/data average): the volume's 2,067 IOPS hold every type
    # back alike, and the cheapest an hour wins.
    small = int(MIMIC_GROUP_BYTES / 27e3)
    assert cheapest_io_bound(INSTANCE_TYPES.values(), MIMIC_GROUP_BYTES, small, 689).name == "ml.m5.large"


def test_a_group_larger_than_any_volume_says_to_split_it() -> None:
    huge = GroupListing("35", "s3://b/input/35/", 10, 20 * 10**12, "0" * 64)
    plan = make_plan("s3://b/input", [huge], INSTANCE_TYPES["ml.c5.xlarge"], 1, 4, 1024, 0)
    assert [g.listing.group for g in plan.over_quota] == ["35"]
    assert (
        "over the volume quota: group 35 needs 20,492 GB, more than the 16,384 GB a Processing instance's "
        "volume can have: split the group's folder"
    ) in plan.text().splitlines()


def test_sizes_and_durations_read_as_people_write_them() -> None:
    assert [size_text(n) for n in (0, 999, 6000, 5 * MIB, 670 * 10**9, 67 * 10**11)] == [
        "0 B", "999 B", "6.0 kB", "5.2 MB", "670.0 GB", "6.70 TB"
    ]  # fmt: skip
    assert [duration_text(s) for s in (0, 44.6, 60, 1089, 9681.7)] == ["0s", "45s", "1m", "18m", "2h41m"]


def test_the_inventory_step_lists_its_groups_pages_side_by_side_before_the_groups_run() -> None:
    """Every execution starts with the inventory step on ml.t3.medium: start-up, then each group's pages
    one after another, 16 groups at a time; a LIST a page, a HEAD and at most a PUT a group's manifest."""
    t3 = INSTANCE_TYPES["ml.t3.medium"]
    inventory = estimate_inventory(t3, 10, [670, 0, 3], threads=16)
    assert inventory.list_requests == 670 + 1 + 3  # an empty group is one request
    assert inventory.listing_seconds == pytest.approx(670 * 0.2)  # the longest group's pages
    assert inventory.total_seconds == pytest.approx(360 + 134)
    requests = (674 + 3) * 0.005 / 1000 + 3 * 0.0004 / 1000
    assert inventory.request_dollars == pytest.approx(requests)
    hours = (360 + 134) / 3600
    assert inventory.dollars == pytest.approx(0.05 * hours + 10 * 0.14 * hours / 730 + requests)
    assert estimate_inventory(t3, 10, [5, 5, 5], threads=2).listing_seconds == pytest.approx(2.0)


def test_the_run_counts_the_inventory_step_before_its_group_steps() -> None:
    """A local root is planned as it will list once uploaded: a page for each 1,000 objects."""
    listings = [GroupListing(g, f"/data/{g}/", 2500, 10**9, "0" * 64) for g in ("30", "31")]
    plan = make_plan("/data", listings, INSTANCE_TYPES["ml.c5.xlarge"], 1, 1, 1024, 60)
    assert plan.inventory.list_requests == 3 + 3
    steps = [g.estimate.total_seconds for g in plan.groups]
    assert plan.wall_seconds == pytest.approx(plan.inventory.total_seconds + sum(steps))  # one at a time
    group_dollars = sum(g.estimate.dollars for g in plan.groups)
    assert plan.dollars == pytest.approx(plan.inventory.dollars + group_dollars)
    assert plan.dollars_per_tb == pytest.approx(plan.dollars / 0.002)
    document = plan.as_json()
    assert document["inventory"]["instance_type"] == "ml.t3.medium"
    assert document["totals"]["wall_seconds"] == round(plan.wall_seconds, 1)
    line = next(line for line in plan.text().splitlines() if line.startswith("inventory step: "))
    assert "ml.t3.medium" in line and "6 ListObjectsV2 request(s)" in line


def test_shorter_windows_need_larger_volumes_and_the_combine_step_is_named_over_the_quota() -> None:
    listings = [GroupListing(str(g), f"s3://b/{g}/", 670_000, MIMIC_GROUP_BYTES, "0" * 64) for g in range(10)]
    c5 = INSTANCE_TYPES["ml.c5.xlarge"]
    sixty, one = (make_plan("s3://b", listings, c5, 1, 4, 1024, w) for w in (60, 1))
    assert [g.estimate.volume_gb for g in sixty.groups] == [volume_gb(MIMIC_GROUP_BYTES, 60)] * 10
    assert one.groups[0].estimate.volume_gb > 1.4 * sixty.groups[0].estimate.volume_gb
    assert sixty.combine_volume_gb == 200 and one.combine_volume_gb > 1024
    assert not [line for line in sixty.text().splitlines() if line.startswith("over the volume quota")]
    over = [line for line in one.text().splitlines() if line.startswith("over the volume quota")]
    assert over == [
        f"over the volume quota: the combine step needs {one.combine_volume_gb:,} GB, more than the 1,024 GB "
        "of 'Size of EBS volume for a processing job instance': raise it in Service Quotas, then plan "
        "--volume-quota-gb N"
    ]
    assert one.as_json()["combine_over_volume_quota"] is True and one.as_json()["window_seconds"] == 1
    volumes = "volumes: each group's data and its outputs with windows of 1 s (--window-seconds); the combine"
    assert volumes in one.text()


def test_plan_takes_the_window_length(three_groups: Cli) -> None:
    default, short = planned(three_groups), planned(three_groups, "--window-seconds", "0.0001")
    assert default["window_seconds"] == 60 and short["window_seconds"] == 0.0001
    larger = by_group(short)["31"]["volume_gb"]
    assert larger == volume_gb(5 * MIB, 0.0001) > by_group(default)["31"]["volume_gb"]
    with pytest.raises(SystemExit) as exited:
        three_groups("plan", "--window-seconds", "-1")
    assert exited.value.code == 2
    assert "must be from 0 (no windows) to 86400 seconds" in three_groups.capsys.readouterr().err
