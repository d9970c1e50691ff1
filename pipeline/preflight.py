"""``waveform-pipeline check``: every request a deployment sends, checked against the service's rules before
any is sent.

The service checks what botocore's client does not (maximum lengths, patterns, ranges) and more still when an
execution creates its jobs, by which time ten group steps may have run and been paid for. So each step of the
definition is resolved as the service resolves it (parameter defaults or the given overrides; another step's
properties as its run would expose them) and checked as the CreateProcessingJob request it becomes; so are the
CreatePipeline, StartPipelineExecution and CreateSchedule requests. Rules that the model does not carry come
from the service's documentation and the published pipeline definition schema, each named where it is checked.
Quotas of the account cannot be read here: what a run needs of them is listed as notes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from steps.combine.command import GROUP_OUTPUT_VARIABLE
from steps.combine.destination import windows_table_name
from steps.inventory.command import COMBINE_KEY, MANIFEST_FIELD, VOLUME_FIELD, group_key
from steps.inventory.manifests import manifest_uri
from steps.inventory.volumes import MAX_VOLUME_GB, VOLUME_QUOTA_NAME

from .config import PipelineConfig
from .dag import (
    COMBINE_STEP,
    INVENTORY_INSTANCE_TYPE,
    INVENTORY_PROPERTY_FILE,
    INVENTORY_STEP,
    MANIFESTS_FOLDER,
)
from .definition_eval import Evaluation, default_parameters, processing_properties, topological_order
from .errors import DefinitionError, shown
from .parameters import VALUE_CHECKS, ParameterValue, parameter_text, value_problem
from .service_model import request_problems, service_model

# Stand-ins for what only the service knows when it sends the request: an execution id has the service's
# form (12 lower-case letters and digits), a job name the greatest length the service may give it.
EXECUTION_ID = "a1b2c3d4e5f6"
ACCOUNT_ID = "123456789012"
JOB_NAME = "pipelines-" + EXECUTION_ID + "-" + "x" * (63 - len("pipelines-") - len(EXECUTION_ID) - 1)
CLIENT_TOKEN = "0" * 36  # the SDK sends a UUID
FINGERPRINT = "f" * 64  # a group's fingerprint (sha256, hex) in its manifest's name
# The published pipeline definition schema (aws-sagemaker-mlops/sagemaker-model-building-pipeline-definition-
# JSON-schema): step names and display names, and parameter names, are 1-64 of these; descriptions <= 4096.
DEFINITION_NAME = re.compile(r"[A-Za-z0-9\-_]{1,64}")
STEP_DESCRIPTION_LIMIT = 4096


@dataclass
class Preflight:
    """What ``check`` found: problems (the service would refuse) and notes (quotas the account must have)."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def check_deployment(
    config: PipelineConfig,
    definition: str,
    description: str,
    overrides: Mapping[str, ParameterValue] | None = None,
    execution_display_name: str | None = None,
) -> Preflight:
    """The requests that deploying ``definition`` (JSON), scheduling it, and starting it with ``overrides``
    send."""
    deployment = [
        *pipeline_request_problems(config, definition, description),
        *schedule_request_problems(config),
        *definition_rule_problems(json.loads(definition)),
        *glue_request_problems(config),
    ]
    found = check_start(config, definition, overrides, execution_display_name)
    found.problems[:0] = deployment
    return found


def check_start(
    config: PipelineConfig,
    definition: str,
    overrides: Mapping[str, ParameterValue] | None = None,
    execution_display_name: str | None = None,
) -> Preflight:
    """The requests that starting ``definition`` (the JSON deployed, or about to be) with ``overrides`` sends:
    StartPipelineExecution, then each step's CreateProcessingJob."""
    found = Preflight()
    parsed = json.loads(definition)
    found.problems += start_request_problems(config, overrides or {}, execution_display_name)
    values = default_parameters(parsed, dict(overrides or {}))
    found.problems += root_problems(values)
    found.problems += volume_problems(values)
    found.problems += value_problems(values)
    try:
        requests = job_requests(parsed, values, config.groups)
    except DefinitionError as exc:
        found.problems.append(f"definition: {exc}")
        return found
    for step, request in requests.items():
        problems = job_request_problems(request)
        if step == COMBINE_STEP.name:
            problems = group_output_problems(request, values) or problems
        found.problems += [f"step {step}: {problem}" for problem in problems]
    found.notes += quota_notes(config, values)
    return found


def group_output_problems(request: Mapping[str, Any], values: Mapping[str, Any]) -> list[str]:
    """The combine job gets each group's output location (``<OutputRoot>/<execution id>/groups/<group>``) in
    an environment value of at most 256 characters: an OutputRoot too long for them is one line, naming the
    longest it may be, rather than a line per group. The execution id is the service's own (12 characters,
    the form the preflight's stand-in has); a reused group step's location is an earlier execution's, under
    the same OutputRoot (a group step's cache key holds its manifest, which lies under OutputRoot)."""
    limit = service_model("sagemaker").shape_for("ProcessingEnvironmentValue").metadata["max"]
    environment = request.get("Environment") or {}
    locations = {
        name: str(value) for name, value in environment.items() if name.startswith(GROUP_OUTPUT_VARIABLE)
    }
    longest = max(locations.values(), key=len, default="")
    if len(longest) <= limit:
        return []
    root = str(values["OutputRoot"])
    allowed = limit - (len(longest) - len(root))
    over = sum(len(value) > limit for value in locations.values())
    return [
        f"parameter OutputRoot {shown(root)} ({len(root)} characters) is too long: {over} group output "
        f"location(s) in the combine job's environment would exceed the {limit} characters a value may "
        f"have ({shown(longest)}: {len(longest)}); with these groups OutputRoot may have at most {allowed} "
        "characters"
    ]


def pipeline_request_problems(config: PipelineConfig, definition: str, description: str) -> list[str]:
    request: dict[str, Any] = {
        "PipelineName": config.pipeline_name,
        "PipelineDisplayName": config.display_name,
        "PipelineDefinition": definition,
        "PipelineDescription": description,
        "ClientRequestToken": CLIENT_TOKEN,
        "RoleArn": config.role_arn,
        "Tags": config.tag_list,
        "ParallelismConfiguration": {"MaxParallelExecutionSteps": config.max_parallel_steps},
    }
    return request_problems("sagemaker", "CreatePipeline", request)


def start_request_problems(
    config: PipelineConfig, overrides: Mapping[str, ParameterValue], display_name: str | None
) -> list[str]:
    request: dict[str, Any] = {
        "PipelineName": config.pipeline_name,
        "ClientRequestToken": CLIENT_TOKEN,
        "PipelineParameters": [
            {"Name": name, "Value": parameter_text(value)} for name, value in sorted(overrides.items())
        ],
    }
    if display_name is not None:
        request["PipelineExecutionDisplayName"] = display_name
    return request_problems("sagemaker", "StartPipelineExecution", request)


def schedule_request_problems(config: PipelineConfig) -> list[str]:
    """The schedule ``schedule put`` creates: its name, its target with the dead-letter queue and retry
    policy, and that queue (a stand-in expression: the real one is checked when given)."""
    from .schedules import QUEUE_ATTRIBUTES, RETRY_POLICY, dead_letter_queue_name, schedule_name

    role = config.scheduler_role_arn or config.role_arn
    queue = dead_letter_queue_name(config.pipeline_name)
    request: dict[str, Any] = {
        "Name": schedule_name(config.pipeline_name),
        "ScheduleExpression": "rate(1 day)",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "Target": {
            "Arn": f"arn:aws:sagemaker:{config.region}:{ACCOUNT_ID}:pipeline/{config.pipeline_name}",
            "RoleArn": role,
            "DeadLetterConfig": {"Arn": f"arn:aws:sqs:{config.region}:{ACCOUNT_ID}:{queue}"},
            "RetryPolicy": RETRY_POLICY,
        },
    }
    return [
        *request_problems("scheduler", "CreateSchedule", request),
        *request_problems("sqs", "CreateQueue", {"QueueName": queue, "Attributes": QUEUE_ATTRIBUTES}),
    ]


def glue_request_problems(config: PipelineConfig) -> list[str]:
    """The Glue tables the combine step creates: the records' and the windows' (its name and ``_windows``)."""
    if not config.glue_table:
        return []
    return [
        f"Glue table of the {what}: {problem}"
        for what, table in (
            ("dataset", config.glue_table),
            ("windows", windows_table_name(config.glue_table)),
        )
        for problem in request_problems(
            "glue", "CreateTable", {"DatabaseName": config.glue_database, "TableInput": {"Name": table}}
        )
    ]


def definition_rule_problems(definition: Mapping[str, Any]) -> list[str]:
    """The definition schema's rules for names and descriptions (not in the service model)."""
    problems = []
    for parameter in definition.get("Parameters", []):
        if not DEFINITION_NAME.fullmatch(parameter["Name"]):
            problems.append(f"parameter name {parameter['Name']!r}: 1-64 letters, digits, '-' or '_'")
    for step in definition["Steps"]:
        for key in ("Name", "DisplayName"):
            if key in step and not DEFINITION_NAME.fullmatch(step[key]):
                problems.append(f"step {step['Name']}: {key} {step[key]!r}: 1-64 letters, digits, '-' or '_'")
        if len(step.get("Description", "")) > STEP_DESCRIPTION_LIMIT:
            problems.append(f"step {step['Name']}: Description longer than {STEP_DESCRIPTION_LIMIT}")
    return problems


def root_problems(values: Mapping[str, Any]) -> list[str]:
    """InputRoot and OutputRoot are joined to group folders with '/': an S3 URI without a trailing '/'."""
    problems = []
    for name in ("InputRoot", "OutputRoot"):
        value = str(values.get(name, ""))
        if not re.fullmatch(r"s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/[^/]+)*", value):
            problems.append(
                f"parameter {name} {value!r}: give an S3 URI, s3://bucket or s3://bucket/prefix, "
                "without a trailing '/' or an empty folder ('//')"
            )
    return problems


def volume_problems(values: Mapping[str, Any]) -> list[str]:
    """A fixed volume above the quota the inventory step is told of stops every execution there."""
    volume, quota = int(values["GroupVolumeSizeGB"]), int(values["VolumeQuotaGB"])
    if volume > quota:
        return [
            f"parameter GroupVolumeSizeGB {volume} is above VolumeQuotaGB {quota}: the inventory step would "
            f"stop every execution; raise the quota '{VOLUME_QUOTA_NAME}' and VolumeQuotaGB with it, or give "
            "GroupVolumeSizeGB 0 to size each group's volume from its data"
        ]
    return []


def value_problems(values: Mapping[str, Any]) -> list[str]:
    """Values the step given them would refuse (a WindowSeconds out of range): it would, only once its
    instances had started."""
    problems = []
    for name in VALUE_CHECKS:
        problem = value_problem(name, parameter_text(values[name])) if name in values else ""
        if problem:
            problems.append(f"{problem}: the steps given it would refuse it, once their instances started")
    return problems


def inventory_stand_in(values: Mapping[str, Any], groups: Sequence[str]) -> dict[str, Any]:
    """The inventory step's property file as an execution could find it: each group's manifest under its
    longest name, and the largest volume the inventory step lets a group (and the combine step) have: the
    quota, and never more than the API allows."""
    quota = min(int(values["VolumeQuotaGB"]), MAX_VOLUME_GB)
    volume = int(values["GroupVolumeSizeGB"]) or quota
    root = f"{values['OutputRoot']}/{MANIFESTS_FOLDER}"
    return {
        **{
            group_key(group): {MANIFEST_FIELD: manifest_uri(root, group, FINGERPRINT), VOLUME_FIELD: volume}
            for group in groups
        },
        COMBINE_KEY: {VOLUME_FIELD: quota},
    }


def job_requests(
    definition: Mapping[str, Any], values: Mapping[str, Any], groups: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Each Processing step's CreateProcessingJob request as an execution sends it."""
    evaluation = Evaluation(values, EXECUTION_ID)
    evaluation.property_files[INVENTORY_STEP.name] = {
        INVENTORY_PROPERTY_FILE: inventory_stand_in(values, groups)
    }
    requests = {}
    for step in topological_order(definition):
        if step.get("Type") != "Processing":
            continue
        request = evaluation.value(step["Arguments"])
        request["ProcessingJobName"] = JOB_NAME
        requests[step["Name"]] = request
        evaluation.step_properties[step["Name"]] = processing_properties(step, evaluation)
    return requests


def job_request_problems(request: Mapping[str, Any]) -> list[str]:
    """The service model's rules, and one it does not carry: no empty container argument or entrypoint item
    (the service refuses them: "ContainerArguments and ContainerEntrypoint may not contain null or empty
    strings", sagemaker-python-sdk issue #3758)."""
    problems = request_problems("sagemaker", "CreateProcessingJob", request)
    application = request.get("AppSpecification", {})
    for key in ("ContainerArguments", "ContainerEntrypoint"):
        for index, item in enumerate(application.get(key, [])):
            if item == "":
                problems.append(f"CreateProcessingJob: AppSpecification.{key}[{index}]: empty")
    return problems


def quota_notes(config: PipelineConfig, values: Mapping[str, Any]) -> list[str]:
    """What the account's quotas must allow (they are per account and region, and not readable here)."""
    groups = len(config.groups)
    at_once = min(config.max_parallel_steps, groups) * int(values["GroupInstanceCount"])
    return [
        f"quota: '{values['GroupInstanceType']} for processing job usage' must allow {at_once} instance(s) "
        f"({min(config.max_parallel_steps, groups)} steps at once x GroupInstanceCount "
        f"{values['GroupInstanceCount']}); a step refused for it is retried for a day",
        f"quota: '{VOLUME_QUOTA_NAME}' must allow each group's volume and the combine step's: the "
        f"inventory step sizes them from the data and WindowSeconds, and stops the execution, naming the "
        f"steps, if one needs more than VolumeQuotaGB {values['VolumeQuotaGB']} (waveform-pipeline plan "
        "shows each volume)",
        f"quota: '{INVENTORY_INSTANCE_TYPE} for processing job usage' must allow 1 instance (the inventory "
        f"step) and '{values['CombineInstanceType']} for processing job usage' 1 (the combine step)",
    ]
