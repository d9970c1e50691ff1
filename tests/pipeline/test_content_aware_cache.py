"""Content-aware caching, end to end: the deployed definition executed by the project's evaluator with the
service's caching rules, its inventory step's real code listing moto's S3 and keeping manifests there, the
group and combine steps taken as run. A group step runs again exactly when its group's objects (keys, sizes,
ETags) change; the combine step runs exactly when a group step ran; nothing else runs however old the cache.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline.config import PipelineConfig
from pipeline.dag import OUTPUT_DIR
from pipeline.definition_eval import (
    CacheStore,
    Evaluation,
    StepDone,
    default_parameters,
    execute,
)
from steps.inventory import command as inventory_command
from steps.inventory.listing import split_s3_uri
from tests.aws import MotoAws

ROLE = "arn:aws:iam::123456789012:role/waveform-exec"
BUCKET = "waveform-data"
GROUPS = ("30", "31", "32")
CONFIG = PipelineConfig(role_arn=ROLE, region="us-east-1", bucket=BUCKET, groups=GROUPS)
START = datetime(2026, 1, 1, tzinfo=UTC)


class Service:
    """Executions of the definition as the service runs them: the inventory step's code for real (its output
    uploaded where the job's output goes, as SageMaker uploads it), the other steps taken as run."""

    def __init__(self, aws: MotoAws, definition: dict[str, Any], scratch: Path) -> None:
        self.s3 = aws.client("s3")
        self.definition = definition
        self.scratch = scratch
        self.cache: CacheStore = {}
        self.count = 0

    def run_batch(
        self, batch: Sequence[Mapping[str, Any]], evaluation: Evaluation, succeeded: StepDone
    ) -> set[str]:
        for step in batch:
            if step["Name"] == "Inventory":
                self._run_inventory(step, evaluation)
            succeeded(step)
        return set()

    def _run_inventory(self, step: Mapping[str, Any], evaluation: Evaluation) -> None:
        request = evaluation.value(step["Arguments"])
        local = self.scratch / evaluation.execution_id
        arguments = [
            str(a).replace(OUTPUT_DIR, str(local)) for a in request["AppSpecification"]["ContainerArguments"]
        ]
        assert inventory_command.main(arguments) == 0
        destination = request["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
        bucket, key = split_s3_uri(destination)
        for file in local.iterdir():
            self.s3.upload_file(str(file), bucket, f"{key}/{file.name}")

    def read_property_file(
        self, step: Mapping[str, Any], declaration: Mapping[str, Any], properties: Mapping[str, Any]
    ) -> Any:
        outputs = properties["ProcessingOutputConfig"]["Outputs"]
        folder = next(o["S3Output"]["S3Uri"] for o in outputs if o["OutputName"] == declaration["OutputName"])
        bucket, key = split_s3_uri(f"{folder}/{declaration['FilePath']}")
        return json.loads(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read())

    def start(self, at: datetime = START, definition: dict[str, Any] | None = None) -> set[str]:
        """Run an execution at ``at``; the steps that ran (not reused from the cache)."""
        self.count += 1
        definition = definition or self.definition
        outcomes = execute(
            definition,
            f"exec-{self.count}",
            default_parameters(definition),
            self.cache,
            self.run_batch,
            read_property_file=self.read_property_file,
            now=lambda: at,
        )
        return {outcome.name for outcome in outcomes if not outcome.cache_hit}


def put(aws: MotoAws, key: str, body: bytes) -> None:
    aws.client("s3").put_object(Bucket=BUCKET, Key=f"waveform-pipeline/input/{key}", Body=body)


@pytest.fixture
def service(aws: MotoAws, tmp_path: Path) -> Service:
    from pipeline.definition import get_pipeline

    aws.create_bucket(BUCKET)
    for group in GROUPS:
        put(aws, f"{group}/{group}00001/{group}00001.hea", f"{group}00001 2 125 1000\n".encode())
        put(aws, f"{group}/{group}00001/{group}00001_0001.dat", bytes(range(200)))
        put(aws, f"{group}/{group}00002/{group}00002.hea", f"{group}00002 1 125 10\n".encode())
    definition = json.loads(get_pipeline(CONFIG, aws.session()).definition())
    return Service(aws, definition, tmp_path)


EVERY_STEP = {"Inventory", "Extract30", "Extract31", "Extract32", "Combine"}


def test_a_changed_object_reruns_its_group_and_the_combine_step_only(aws: MotoAws, service: Service) -> None:
    assert service.start() == EVERY_STEP
    assert service.start() == {"Inventory"}  # nothing changed: every group and the combine step reused

    put(aws, "31/3100001/3100001_0001.dat", bytes(range(1, 201)))  # same size, new content (ETag)
    assert service.start() == {"Inventory", "Extract31", "Combine"}
    assert service.start() == {"Inventory"}


def test_an_added_or_removed_object_reruns_its_group_only(aws: MotoAws, service: Service) -> None:
    service.start()
    put(aws, "32/3200003/3200003.hea", b"3200003 1 125 10\n")
    assert service.start() == {"Inventory", "Extract32", "Combine"}
    aws.client("s3").delete_object(Bucket=BUCKET, Key="waveform-pipeline/input/30/3000002/3000002.hea")
    assert service.start() == {"Inventory", "Extract30", "Combine"}


def test_the_same_bytes_uploaded_again_rerun_nothing(aws: MotoAws, service: Service) -> None:
    service.start()
    put(aws, "30/3000001/3000001_0001.dat", bytes(range(200)))  # a new object, the same ETag and size
    assert service.start() == {"Inventory"}


def test_an_object_of_a_neighbouring_prefix_is_not_the_groups(aws: MotoAws, service: Service) -> None:
    service.start()
    put(aws, "300/3000009/3000009.hea", b"3000009 1 125 10\n")  # group "300", not "30"
    put(aws, "30-old/notes.txt", b"not group 30's\n")
    assert service.start() == {"Inventory"}


@pytest.mark.parametrize("age", [timedelta(days=31), timedelta(days=400), timedelta(days=5 * 365)])
def test_nothing_changed_nothing_runs_after_the_old_expiry(service: Service, age: timedelta) -> None:
    service.start()
    assert service.start(at=START + age) == {"Inventory"}


def test_the_evaluator_expires_as_the_old_thirty_days_did(service: Service) -> None:
    """The control: with the cache expiring after 30 days, as before, every step ran again; so the test above
    shows the new expiry, not an evaluator that never expires."""
    thirty_days = json.loads(json.dumps(service.definition))
    for step in thirty_days["Steps"]:
        if step["CacheConfig"].get("Enabled"):
            step["CacheConfig"]["ExpireAfter"] = "P30D"
    service.start(definition=thirty_days)
    assert service.start(at=START + timedelta(days=29), definition=thirty_days) == {"Inventory"}
    assert service.start(at=START + timedelta(days=31), definition=thirty_days) == EVERY_STEP


def test_manifests_name_exactly_the_groups_objects_under_a_content_addressed_key(
    aws: MotoAws, service: Service
) -> None:
    service.start()
    s3 = aws.client("s3")
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="waveform-pipeline/output/manifests/")
    keys = sorted(item["Key"] for item in listed["Contents"])
    assert [key.split("/")[-2] for key in keys] == list(GROUPS)  # one manifest per group
    manifest = json.loads(s3.get_object(Bucket=BUCKET, Key=keys[1])["Body"].read())
    assert manifest == [
        {"prefix": f"s3://{BUCKET}/waveform-pipeline/input/31/"},
        "3100001/3100001.hea",
        "3100001/3100001_0001.dat",
        "3100002/3100002.hea",
    ]
    put(aws, "31/3100002/3100002.hea", b"3100002 1 125 20\n")
    service.start()
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="waveform-pipeline/output/manifests/31/")
    assert len(listed["Contents"]) == 2  # the old one kept: the executions that read it can still be read


def test_an_empty_group_stops_the_execution_before_any_group_runs(aws: MotoAws, service: Service) -> None:
    s3 = aws.client("s3")
    for item in s3.list_objects_v2(Bucket=BUCKET, Prefix="waveform-pipeline/input/32/")["Contents"]:
        s3.delete_object(Bucket=BUCKET, Key=item["Key"])
    stderr = io.StringIO()
    with pytest.raises(AssertionError), contextlib.redirect_stderr(stderr):
        service.start()
    assert f"no objects under s3://{BUCKET}/waveform-pipeline/input/32/" in stderr.getvalue()
    assert service.cache == {}


def test_a_schedule_and_a_cli_start_are_the_same_execution(service: Service) -> None:
    """A scheduled start sends no parameters (the schedule's target takes the defaults): the same resolved
    inputs as a CLI start without overrides, so the same cache keys."""
    first = execute(
        service.definition,
        "cli",
        default_parameters(service.definition),
        service.cache,
        service.run_batch,
        read_property_file=service.read_property_file,
    )
    second = execute(
        service.definition,
        "scheduled",
        default_parameters(service.definition, {}),
        service.cache,
        service.run_batch,
        read_property_file=service.read_property_file,
    )
    assert {o.name for o in second if not o.cache_hit} == {"Inventory"}
    assert [o.cache_key for o in first if o.name != "Inventory"] == [
        o.cache_key for o in second if o.name != "Inventory"
    ]


def test_the_groups_and_the_combine_steps_volumes_are_the_inventorys(aws: MotoAws, service: Service) -> None:
    captured: dict[str, Any] = {}
    original = service.run_batch

    def capturing(
        batch: Sequence[Mapping[str, Any]], evaluation: Evaluation, succeeded: StepDone
    ) -> set[str]:
        for step in batch:
            if step["Name"] != "Inventory":
                captured[step["Name"]] = evaluation.value(step["Arguments"])
        return original(batch, evaluation, succeeded)

    service.run_batch = capturing  # type: ignore[method-assign]
    service.start()
    for group in GROUPS:
        request = captured[f"Extract{group}"]
        assert request["ProcessingResources"]["ClusterConfig"]["VolumeSizeInGB"] == 3  # 2 GiB + the data
        records = next(i for i in request["ProcessingInputs"] if i["InputName"] == "records")["S3Input"]
        assert records["S3DataType"] == "ManifestFile"
        assert records["S3Uri"].startswith(f"s3://{BUCKET}/waveform-pipeline/output/manifests/{group}/")
    combine = captured["Combine"]["ProcessingResources"]["ClusterConfig"]
    assert combine["VolumeSizeInGB"] == 200  # its least: the windows of three small groups take little
