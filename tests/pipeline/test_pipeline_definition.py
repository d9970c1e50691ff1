"""The pipeline definition: its shape, its determinism, and the caching it allows (proven on the JSON)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pipeline.config import GROUP_PRESETS, PipelineConfig
from pipeline.definition_eval import (
    CacheStore,
    Evaluation,
    StepDone,
    StepOutcome,
    cache_key,
    default_parameters,
    execute,
    topological_order,
)
from pipeline.definition_json import mermaid, step_edges
from pipeline.step_code import PROJECT_ROOT, step_code, step_codes
from tests.aws import MotoAws
from tests.pipeline.inventory_stand_in import inventory_reader

ROLE = "arn:aws:iam::123456789012:role/waveform-exec"
CONFIG = PipelineConfig(role_arn=ROLE, region="us-east-1", bucket="waveform-bucket")


def build(aws: MotoAws, config: PipelineConfig = CONFIG, code_root: Path = PROJECT_ROOT) -> dict[str, Any]:
    from pipeline.definition import get_pipeline

    return dict(json.loads(get_pipeline(config, aws.session(), step_codes(code_root)).definition()))


def steps_by_name(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["Name"]: step for step in definition["Steps"]}


GROUPS = CONFIG.groups


def test_an_inventory_then_one_extract_step_per_group_and_one_combine(aws: MotoAws) -> None:
    steps = steps_by_name(build(aws))
    assert list(steps) == ["Inventory"] + [f"Extract{g}" for g in range(30, 40)] + ["Combine"]
    matched = steps_by_name(build(aws, replace(CONFIG, groups=GROUP_PRESETS["matched"])))
    assert list(matched) == ["Inventory"] + [f"Extractp{g:02d}" for g in range(10)] + ["Combine"]
    assert steps["Inventory"]["CacheConfig"] == {"Enabled": False}  # it notices changed data: every run
    for name, step in steps.items():
        assert step["Type"] == "Processing"
        assert step["DisplayName"] and step["Description"]
        if name != "Inventory":  # reused whatever their age: their keys hold their data and code
            assert step["CacheConfig"] == {"Enabled": True, "ExpireAfter": "P10Y"}
        kinds = {kind for policy in step["RetryPolicies"] for kind in policy["ExceptionType"]}
        assert {"Step.THROTTLING", "SageMaker.CAPACITY_ERROR", "SageMaker.JOB_INTERNAL_ERROR"} <= kinds, name


def test_group_steps_are_independent_and_read_their_inventoried_objects_fully_replicated(
    aws: MotoAws,
) -> None:
    definition = build(aws)
    edges = step_edges(definition)
    assert edges == sorted(  # no edge between group steps; the combine step's volume is the inventory's
        [("Inventory", f"Extract{g}") for g in range(30, 40)]
        + [(f"Extract{g}", "Combine") for g in range(30, 40)]
        + [("Inventory", "Combine")]
    )
    inventory = {"Get": "Steps.Inventory.PropertyFiles.Inventory"}
    for group in range(30, 40):
        step = steps_by_name(definition)[f"Extract{group}"]
        assert "DependsOn" not in step
        inputs = {i["InputName"]: i["S3Input"] for i in step["Arguments"]["ProcessingInputs"]}
        records = inputs["records"]
        assert records["S3DataDistributionType"] == "FullyReplicated"
        assert records["S3DataType"] == "ManifestFile"
        assert records["S3Uri"] == {
            "Std:JsonGet": {"PropertyFile": inventory, "Path": f"group_{group}.manifest"}
        }
        cluster = step["Arguments"]["ProcessingResources"]["ClusterConfig"]
        assert cluster["VolumeSizeInGB"] == {
            "Std:JsonGet": {"PropertyFile": inventory, "Path": f"group_{group}.volume_gb"}
        }
        output = step["Arguments"]["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
        assert output == {
            "Std:Join": {
                "On": "/",
                "Values": [
                    {"Get": "Parameters.OutputRoot"},
                    {"Get": "Execution.PipelineExecutionId"},
                    "groups",
                    str(group),
                ],
            }
        }  # per execution and group: a run never overwrites another run's result


def test_combine_is_given_every_group_steps_output_property_in_its_environment(aws: MotoAws) -> None:
    combine = steps_by_name(build(aws))["Combine"]
    # one input, its code: CreateProcessingJob takes at most 10, and ten groups plus the code would be 11
    assert [i["InputName"] for i in combine["Arguments"]["ProcessingInputs"]] == ["code"]
    # one environment variable a group, its name and its location joined whole (a job takes at most 100
    # arguments, and a pipeline may have 100 groups); the command line says where they are
    arguments = combine["Arguments"]["AppSpecification"]["ContainerArguments"]
    assert "--group-outputs-from-environment" in arguments and "--group-output" not in arguments
    assert combine["Arguments"]["Environment"] == {
        f"WAVEFORM_GROUP_OUTPUT_{index:02d}": {
            "Std:Join": {
                "On": "=",
                "Values": [
                    str(g),
                    {"Get": f"Steps.Extract{g}.ProcessingOutputConfig.Outputs['group'].S3Output.S3Uri"},
                ],
            }
        }
        for index, g in enumerate(range(30, 40), start=1)
    }
    for name, step in steps_by_name(build(aws)).items():  # the others have no environment at all
        if name != "Combine":
            assert "Environment" not in step["Arguments"], name
    # on a volume the inventory sized for every group's windows
    assert combine["Arguments"]["ProcessingResources"]["ClusterConfig"]["VolumeSizeInGB"] == {
        "Std:JsonGet": {
            "PropertyFile": {"Get": "Steps.Inventory.PropertyFiles.Inventory"},
            "Path": "combine.volume_gb",
        }
    }


def test_parameters_have_defaults_and_descriptions(aws: MotoAws) -> None:
    from pipeline.definition import get_pipeline
    from pipeline.deployment import pipeline_description

    definition = build(aws)
    parameters = {p["Name"]: p for p in definition["Parameters"]}
    assert set(parameters) == {
        "InputRoot", "OutputRoot", "GroupInstanceType", "GroupInstanceCount", "GroupVolumeSizeGB",
        "CombineInstanceType", "StrictMode", "MaxRuntimeSeconds", "InputVersion", "VolumeQuotaGB",
        "WindowSeconds",
    }  # fmt: skip
    assert all("DefaultValue" in p for p in parameters.values())
    assert parameters["GroupInstanceCount"] == {
        "Name": "GroupInstanceCount",
        "Type": "Integer",
        "DefaultValue": 1,
    }
    assert parameters["StrictMode"]["Type"] == "Boolean"
    description = pipeline_description(CONFIG, get_pipeline(CONFIG, aws.session()))
    for name in parameters:
        assert f"{name} (default " in description
    assert "StrictMode (default false)" in description
    assert len(description) <= 3072 and "\n" not in description


def test_two_builds_are_byte_identical(aws: MotoAws) -> None:
    from pipeline.definition import get_pipeline

    first = get_pipeline(CONFIG, aws.session()).definition()
    second = get_pipeline(CONFIG, aws.session()).definition()
    assert first == second


def copy_of_code(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    shutil.copytree(PROJECT_ROOT / "steps", root / "steps", ignore=shutil.ignore_patterns("__pycache__"))
    return root


def code_uris(definition: dict[str, Any]) -> dict[str, str]:
    return {
        name: next(
            i["S3Input"]["S3Uri"] for i in step["Arguments"]["ProcessingInputs"] if i["InputName"] == "code"
        )
        for name, step in steps_by_name(definition).items()
    }


def test_step_code_is_content_addressed_and_changes_only_the_steps_that_use_it(
    aws: MotoAws, tmp_path: Path
) -> None:
    root = copy_of_code(tmp_path)
    before = code_uris(build(aws, code_root=root))
    assert len({uri for name, uri in before.items() if name.startswith("Extract")}) == 1
    extract_archive = step_code("extract", root=root)
    assert extract_archive.digest in before["Extract30"] and extract_archive.archive.startswith(b"\x1f\x8b")

    with open(root / "steps" / "combine" / "command.py", "a") as script:
        script.write("\n# a change to the combine step only\n")
    after_combine = code_uris(build(aws, code_root=root))
    changed = {name for name in before if before[name] != after_combine[name]}
    assert changed == {"Combine"}

    (root / "steps" / "extract" / "notes.txt").write_text("a second file in the extract step's code\n")
    after_extract = code_uris(build(aws, code_root=root))
    assert {name for name in before if after_combine[name] != after_extract[name]} == {
        f"Extract{g}" for g in range(30, 40)
    }

    with open(root / "steps" / "contract" / "outputs.py", "a") as shared:
        shared.write("\n# a change to the contract between the steps\n")
    after_shared = code_uris(build(aws, code_root=root))
    assert all(after_extract[name] != after_shared[name] for name in before)


def test_archives_hold_the_contract_and_nothing_volatile(tmp_path: Path) -> None:
    import io
    import tarfile

    root = copy_of_code(tmp_path)
    code = step_code("combine", root=root)
    (root / "steps" / "contract" / "__pycache__").mkdir(exist_ok=True)
    (root / "steps" / "contract" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"volatile")
    assert step_code("combine", root=root).digest == code.digest
    with tarfile.open(fileobj=io.BytesIO(code.archive)) as archive:
        members = archive.getmembers()
    names = [member.name for member in members]
    assert "steps/contract/outputs.py" in names and "steps/combine/requirements.txt" in names
    assert "steps/combine/signal_names.py" in names
    assert not any(name.startswith("steps/extract/") for name in names)
    assert all(member.mtime == 0 and member.uid == 0 for member in members)


def run_execution(
    definition: dict[str, Any],
    execution_id: str,
    cache: CacheStore,
    overrides: dict[str, Any] | None = None,
) -> dict[str, StepOutcome]:
    outcomes = execute(
        definition,
        execution_id,
        default_parameters(definition, overrides),
        cache,
        read_property_file=inventory_reader(GROUPS),
    )
    return {outcome.name: outcome for outcome in outcomes}


def test_combine_cache_key_changes_if_and_only_if_a_group_step_ran_anew(aws: MotoAws) -> None:
    definition = build(aws)
    cache: CacheStore = {}
    first = run_execution(definition, "exec-a", cache)
    assert not any(outcome.cache_hit for outcome in first.values())

    # Nothing changed: every group step is reused, their output properties point at exec-a's results,
    # so the combine step's key is exec-a's and reusing its result is right.
    second = run_execution(definition, "exec-b", cache)
    assert all(outcome.cache_hit for name, outcome in second.items() if name != "Inventory")
    assert second["Combine"].cache_key == first["Combine"].cache_key
    assert second["Combine"].source_execution == "exec-a"

    # One group's earlier run is not reusable (it failed, or its cache expired): it runs anew, writes under
    # exec-c, and so the combine step's key changes: it is never a hit over outputs it has not seen.
    del cache["Extract33"]
    third = run_execution(definition, "exec-c", cache)
    ran = {name for name, outcome in third.items() if not outcome.cache_hit}
    assert ran == {"Inventory", "Extract33", "Combine"}
    assert third["Combine"].cache_key != first["Combine"].cache_key
    assert (
        "exec-c/groups/33" in third["Combine"].cache_key and "exec-a/groups/30" in third["Combine"].cache_key
    )

    # Strictness is decided downstream: turning it on re-runs the combine step only.
    fourth = run_execution(definition, "exec-d", cache, {"StrictMode": True})
    assert {name for name, outcome in fourth.items() if not outcome.cache_hit} == {"Inventory", "Combine"}

    # A parameter that changes the group steps' arguments re-runs all of them, and so the combine step.
    fifth = run_execution(definition, "exec-e", cache, {"InputVersion": "2"})
    assert not any(outcome.cache_hit for outcome in fifth.values())

    # Every run of the inventory ran anew: it is what notices changed data.
    runs = (first, second, third, fourth, fifth)
    assert not any(run["Inventory"].cache_hit for run in runs)


def test_outcomes_are_reported_in_definition_order_whatever_order_steps_finish(aws: MotoAws) -> None:
    definition = build(aws)

    def finish_backwards(
        batch: Sequence[Mapping[str, Any]], evaluation: Evaluation, succeeded: StepDone
    ) -> set[str]:
        for step in reversed(batch):
            succeeded(step)
        return set()

    parameters = default_parameters(definition)
    outcomes = execute(
        definition,
        "exec-a",
        parameters,
        {},
        run_batch=finish_backwards,
        read_property_file=inventory_reader(GROUPS),
    )
    assert [outcome.name for outcome in outcomes] == [step["Name"] for step in definition["Steps"]]


def test_combine_cache_key_holds_no_execution_variable_of_its_own(aws: MotoAws) -> None:
    definition = build(aws)
    combine = steps_by_name(definition)["Combine"]
    keyed = json.dumps(
        {k: combine["Arguments"].get(k) for k in ("AppSpecification", "Environment", "ProcessingInputs")}
    )
    assert "Execution." not in keyed  # else every execution would miss its cache
    properties = {
        step["Name"]: {
            "ProcessingOutputConfig": {"Outputs": [{"OutputName": "group", "S3Output": {"S3Uri": "s3://x"}}]}
        }
        for step in definition["Steps"]
        if step["Name"] != "Combine"
    }
    parameters = default_parameters(definition)
    one = cache_key(combine, Evaluation(parameters, "exec-1", dict(properties)))
    two = cache_key(combine, Evaluation(parameters, "exec-2", dict(properties)))
    assert one == two


IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/waveform-steps:1"
KEY = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"


def test_security_settings_reach_the_definition(aws: MotoAws) -> None:
    secured = replace(
        CONFIG,
        subnets=("subnet-1", "subnet-2"),
        security_group_ids=("sg-1",),
        tags={"team": "icu", "cost": "ml"},
        image_uri=IMAGE,
        kms_key_id=KEY,
    )
    definition = build(aws, secured)
    for step in definition["Steps"]:
        arguments = step["Arguments"]
        assert arguments["NetworkConfig"]["VpcConfig"] == {
            "Subnets": ["subnet-1", "subnet-2"],
            "SecurityGroupIds": ["sg-1"],
        }
        assert arguments["NetworkConfig"]["EnableInterContainerTrafficEncryption"] is True
        assert arguments["ProcessingOutputConfig"]["KmsKeyId"] == KEY
        assert arguments["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == KEY
        assert arguments["AppSpecification"]["ImageUri"] == IMAGE
        assert "pip install" not in " ".join(arguments["AppSpecification"]["ContainerEntrypoint"])
        assert {"Key": "team", "Value": "icu"} in arguments["Tags"]
    combine = steps_by_name(definition)["Combine"]["Arguments"]["AppSpecification"]["ContainerArguments"]
    assert combine[combine.index("--kms-key-id") + 1] == KEY  # the dataset: the same key
    text = json.dumps(definition)
    assert "testing" not in text and "SecretAccessKey" not in text  # the fixture's credentials stay out


def test_without_a_key_no_key_field_is_sent_empty(aws: MotoAws) -> None:
    for step in build(aws)["Steps"]:
        arguments = step["Arguments"]
        assert "KmsKeyId" not in arguments["ProcessingOutputConfig"]
        assert "VolumeKmsKeyId" not in arguments["ProcessingResources"]["ClusterConfig"]
        assert "--kms-key-id" not in arguments["AppSpecification"]["ContainerArguments"]


def test_graph_is_mermaid_with_every_edge(aws: MotoAws) -> None:
    definition = build(aws, replace(CONFIG, groups=("30", "31")))
    assert mermaid(definition) == (
        "flowchart LR\n"
        '    Inventory["Inventory-of-groups"]\n'
        '    Extract30["Extract-group-30"]\n'
        '    Extract31["Extract-group-31"]\n'
        '    Combine["Combine-groups"]\n'
        "    Extract30 --> Combine\n"
        "    Extract31 --> Combine\n"
        "    Inventory --> Combine\n"
        "    Inventory --> Extract30\n"
        "    Inventory --> Extract31\n"
    )
    assert [s["Name"] for s in topological_order(definition)] == [
        "Inventory",
        "Extract30",
        "Extract31",
        "Combine",
    ]


@pytest.mark.parametrize("groups", [("30",), GROUP_PRESETS["matched"]])
def test_any_group_list_builds(aws: MotoAws, groups: tuple[str, ...]) -> None:
    definition = build(aws, replace(CONFIG, groups=groups))
    assert len(definition["Steps"]) == len(groups) + 2
