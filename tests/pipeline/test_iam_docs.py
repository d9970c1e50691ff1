"""The IAM documents in docs/iam: well-formed, least-privilege by rule, accepted by IAM (moto) and the SDK."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import replace
from string import Template
from typing import Any

import pytest

from pipeline.config import PipelineConfig
from pipeline.notifications import rule_name, topic_name
from pipeline.schedules import dead_letter_queue_name, schedule_name
from tests.aws import MotoAws
from tests.paths import ROOT
from tests.pipeline.cli_fixtures import Cli, deployable_cli

IAM_DOCS = ROOT / "docs" / "iam"
DOCUMENTS = sorted(p.name for p in IAM_DOCS.glob("*.json"))
TRUST_DOCUMENTS = {
    "execution-role-trust.json": "sagemaker.amazonaws.com",
    "scheduler-role-trust.json": "scheduler.amazonaws.com",
}
PERMISSION_DOCUMENTS = sorted(set(DOCUMENTS) - set(TRUST_DOCUMENTS))

#: Actions that have no resource-level permissions, so their statements must say "Resource": "*".
WILDCARD_RESOURCE_ACTIONS = frozenset(
    {
        "ecr:GetAuthorizationToken",
        "cloudwatch:PutMetricData",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeVpcs",
        "ec2:DescribeDhcpOptions",
        "ec2:DescribeSubnets",
        "ec2:DescribeSecurityGroups",
    }
)


def readme_example() -> tuple[dict[str, str], list[str]]:
    """The values README.md's "Creating the roles" exports, and the placeholders its ``VARS`` gives
    envsubst."""
    text = (IAM_DOCS / "README.md").read_text()
    exported = re.search(r"^export (.*?)^VARS='(.*?)'$", text, re.MULTILINE | re.DOTALL)
    assert exported, "README.md: no export ... VARS='...' block"
    values = dict(item.split("=", 1) for item in shlex.split(exported[1].replace("\\\n", " ")))
    return values, re.findall(r"\$\{([A-Za-z]+)\}", exported[2])


#: Every placeholder the documents may use, with README's example value (the default configuration's).
PLACEHOLDERS = readme_example()[0]


def load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((IAM_DOCS / name).read_text())
    return document


def render(name: str, **overrides: str) -> str:
    """The document with its placeholders filled in (KeyError on a placeholder not in PLACEHOLDERS)."""
    return Template((IAM_DOCS / name).read_text()).substitute({**PLACEHOLDERS, **overrides})


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def test_the_expected_documents_exist() -> None:
    assert {
        "execution-role-policy.json",
        "execution-role-trust.json",
        "scheduler-role-policy.json",
        "scheduler-role-trust.json",
    } <= set(DOCUMENTS)
    assert (IAM_DOCS / "README.md").is_file()


@pytest.mark.parametrize("name", DOCUMENTS)
def test_document_is_a_valid_2012_10_17_policy_with_named_statements(name: str) -> None:
    document = load(name)
    assert document["Version"] == "2012-10-17"
    statements = document["Statement"]
    assert isinstance(statements, list) and statements
    sids = [statement.get("Sid", "") for statement in statements]
    for sid in sids:
        assert re.fullmatch(r"[A-Za-z0-9]+", sid), (
            f"{name}: Sid {sid!r} missing or not alphanumeric (IAM rule)"
        )
    assert len(set(sids)) == len(sids), f"{name}: duplicate Sids"
    for statement in statements:
        assert statement["Effect"] == "Allow"
        assert (
            "NotAction" not in statement
            and "NotResource" not in statement
            and "NotPrincipal" not in statement
        )


@pytest.mark.parametrize("name", DOCUMENTS)
def test_placeholders_are_the_documented_ones_and_all_get_filled(name: str) -> None:
    text = (IAM_DOCS / name).read_text()
    used = set(re.findall(r"\$\{([A-Za-z]+)\}", text))
    assert used <= set(PLACEHOLDERS), f"{name}: undocumented placeholders {used - set(PLACEHOLDERS)}"
    assert text.count("$") == text.count("${"), f"{name}: a '$' that is not a placeholder"
    rendered = render(name)
    assert "${" not in rendered
    json.loads(rendered)


@pytest.mark.parametrize("name", PERMISSION_DOCUMENTS)
def test_no_wildcard_actions_and_star_resources_only_where_the_action_needs_it(name: str) -> None:
    for statement in load(name)["Statement"]:
        actions = as_list(statement["Action"])
        for action in actions:
            assert action != "*" and not action.endswith(":*"), (
                f"{statement['Sid']}: wildcard action {action}"
            )
            assert re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9]+", action), f"{statement['Sid']}: {action!r}"
        resources = as_list(statement["Resource"])
        if "*" in resources:
            assert resources == ["*"]
            needless = set(actions) - WILDCARD_RESOURCE_ACTIONS
            assert not needless, (
                f"{statement['Sid']}: Resource '*' for actions that take a resource: {needless}"
            )
        else:
            assert all(r.startswith(("arn:aws:", "${KmsKeyArn}")) for r in resources), statement["Sid"]


@pytest.mark.parametrize(("name", "service"), sorted(TRUST_DOCUMENTS.items()))
def test_trust_documents_trust_one_service_for_this_account_only(name: str, service: str) -> None:
    (statement,) = load(name)["Statement"]
    assert statement["Principal"] == {"Service": service}
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == "${Account}"


def test_scheduler_may_only_start_this_pipeline_and_dead_letter_to_its_queue() -> None:
    granted = {
        (action, resource)
        for statement in load("scheduler-role-policy.json")["Statement"]
        for action in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    }
    assert granted == {
        (
            "sagemaker:StartPipelineExecution",
            "arn:aws:sagemaker:${Region}:${Account}:pipeline/${PipelineName}",
        ),
        ("sqs:SendMessage", "arn:aws:sqs:${Region}:${Account}:${DeadLetterQueueName}"),
    }


def test_readme_placeholder_table_export_and_envsubst_list_name_the_same_placeholders() -> None:
    readme = (IAM_DOCS / "README.md").read_text()
    table = set(re.findall(r"^\| `\$\{([A-Za-z]+)\}`", readme, re.MULTILINE))
    table |= set(re.findall(r"^\| `\$\{[A-Za-z]+\}` / `\$\{([A-Za-z]+)\}`", readme, re.MULTILINE))
    values, envsubst = readme_example()
    assert set(values) == set(envsubst) == table
    used = {
        name
        for document in DOCUMENTS
        for name in re.findall(r"\$\{([A-Za-z]+)\}", (IAM_DOCS / document).read_text())
    }
    assert used == table, f"documented but used by no document: {table - used}"


def test_readme_examples_are_the_default_configurations_names() -> None:
    """Someone who fills the documents in with README's examples and deploys with the defaults is granted
    exactly what the code uses: the pipeline, its schedule and dead-letter queue, its S3 prefixes."""
    config = replace(PipelineConfig(), bucket=PLACEHOLDERS["Bucket"])
    name = config.pipeline_name
    assert PLACEHOLDERS["PipelineName"] == name
    assert PLACEHOLDERS["ScheduleName"] == schedule_name(name)
    assert PLACEHOLDERS["DeadLetterQueueName"] == dead_letter_queue_name(name)
    assert PLACEHOLDERS["FailureRuleName"] == rule_name(name)
    assert PLACEHOLDERS["FailureTopicName"] == topic_name(name)
    bucket = f"s3://{config.bucket}/"
    assert bucket + PLACEHOLDERS["InputPrefix"] == config.input_root
    assert bucket + PLACEHOLDERS["OutputPrefix"] == config.output_root
    assert bucket + PLACEHOLDERS["CodePrefix"] == config.code_prefix


def test_execution_role_passes_only_itself_and_only_to_sagemaker() -> None:
    passes = [
        s for s in load("execution-role-policy.json")["Statement"] if "iam:PassRole" in as_list(s["Action"])
    ]
    assert len(passes) == 1
    (statement,) = passes
    assert statement["Resource"] == "arn:aws:iam::${Account}:role/${ExecutionRoleName}"
    assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}


def test_readme_explains_every_statement() -> None:
    readme = (IAM_DOCS / "README.md").read_text()
    for name in DOCUMENTS:
        for statement in load(name)["Statement"]:
            assert f"`{statement['Sid']}`" in readme, f"README.md does not explain {name}: {statement['Sid']}"
    for placeholder in PLACEHOLDERS:
        assert f"${{{placeholder}}}" in readme, f"README.md does not explain ${{{placeholder}}}"


def _create_roles(aws: MotoAws) -> dict[str, str]:
    """Create both roles from the documents, as README.md does; return their ARNs and the values used."""
    iam = aws.client("iam")
    values = {
        "Account": aws.account_id,
        "Region": aws.region,
        "KmsKeyArn": aws.kms_key_arn(aws.create_kms_key()),
    }
    created = dict(values)
    for prefix, role in (
        ("execution-role", PLACEHOLDERS["ExecutionRoleName"]),
        ("scheduler-role", PLACEHOLDERS["SchedulerRoleName"]),
    ):
        response = iam.create_role(
            RoleName=role,
            AssumeRolePolicyDocument=render(f"{prefix}-trust.json", **values),
            Description=f"waveform pipeline {prefix}",
        )
        iam.put_role_policy(
            RoleName=role, PolicyName=prefix, PolicyDocument=render(f"{prefix}-policy.json", **values)
        )
        created[prefix] = response["Role"]["Arn"]
    return created


def test_both_roles_can_be_created_from_the_documents(aws: MotoAws) -> None:
    created = _create_roles(aws)
    iam = aws.client("iam")
    values = {key: created[key] for key in ("Account", "Region", "KmsKeyArn")}
    for prefix in ("execution-role", "scheduler-role"):
        name = created[prefix].rsplit("/", 1)[1]
        stored = iam.get_role_policy(RoleName=name, PolicyName=prefix)["PolicyDocument"]
        assert stored == json.loads(render(f"{prefix}-policy.json", **values))
        trust = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
        assert trust == json.loads(render(f"{prefix}-trust.json", **values))
    # The deployer's policy is a managed policy for whoever runs upsert / start / the schedule commands.
    iam.create_policy(PolicyName="waveform-deployer", PolicyDocument=render("deployer-policy.json", **values))


def test_sdk_accepts_the_execution_role_and_rejects_the_scheduler_role_as_a_pipeline_role(
    aws: MotoAws,
) -> None:
    """What ``Pipeline.upsert`` and ``Pipeline.put_triggers`` run on their ``role_arn`` (SDK 3.27).

    ``put_triggers`` validates its role as a *pipeline* role (trust must include sagemaker.amazonaws.com),
    so the least-privilege scheduler role only gets through with SAGEMAKER_VALIDATE_ROLE=false; see README.
    """
    from sagemaker.core.helper.iam_role_resolver import RoleValidationError, resolve_and_validate_role

    created = _create_roles(aws)
    session = aws.pipeline_session("waveform-test-bucket")
    execution_arn, scheduler_arn = created["execution-role"], created["scheduler-role"]
    resolved = resolve_and_validate_role(execution_arn, role_type="pipeline", sagemaker_session=session)
    assert resolved == execution_arn
    with pytest.raises(RoleValidationError, match=re.escape("sagemaker.amazonaws.com")):
        resolve_and_validate_role(scheduler_arn, role_type="pipeline", sagemaker_session=session)


@pytest.fixture
def deployable(aws: MotoAws, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    return deployable_cli(aws, monkeypatch, capsys)


def test_filled_in_documents_name_what_the_default_configuration_deploys_and_schedules(
    deployable: Cli, aws: MotoAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deploy and schedule with the default configuration, the scheduler role made from the documents; every
    resource the documents (filled in as README says) grant on is the one the code created or uses."""
    from sagemaker.core import s3

    from pipeline.definition import get_pipeline, image_uri

    created = _create_roles(aws)
    values = {key: created[key] for key in ("Account", "Region", "KmsKeyArn")}
    monkeypatch.delenv("WAVEFORM_PIPELINE_NAME", raising=False)
    assert deployable("upsert")[0] == 0
    code, _, err = deployable(
        "schedule", "put", "--rate", "1 day", "--scheduler-role-arn", created["scheduler-role"]
    )
    assert code == 0, err
    code, _, err = deployable("notify", "put")
    assert code == 0, err

    def resources(document: str, sid: str) -> list[str]:
        (statement,) = [s for s in json.loads(render(document, **values))["Statement"] if s["Sid"] == sid]
        return as_list(statement["Resource"])

    pipeline_arn = aws.client("sagemaker").describe_pipeline(PipelineName=PLACEHOLDERS["PipelineName"])[
        "PipelineArn"
    ]
    schedule = aws.client("scheduler").get_schedule(Name=PLACEHOLDERS["ScheduleName"])
    queue_arn = schedule["Target"]["DeadLetterConfig"]["Arn"]
    assert schedule["Target"]["Arn"] == pipeline_arn
    assert schedule["Target"]["RoleArn"] == created["scheduler-role"]
    assert resources("scheduler-role-policy.json", "StartExecutionsOfThisPipelineOnly") == [pipeline_arn]
    assert resources("scheduler-role-policy.json", "SendFailedStartsToTheScheduleDeadLetterQueue") == [
        queue_arn
    ]
    assert pipeline_arn in resources("deployer-policy.json", "ManageThisPipelineAndItsExecutions")
    assert resources("deployer-policy.json", "ManageThePipelineSchedule") == [schedule["Arn"]]
    assert resources("deployer-policy.json", "CreateAndReadTheScheduleDeadLetterQueue") == [queue_arn]
    events = aws.client("events")
    rule_arn = events.describe_rule(Name=PLACEHOLDERS["FailureRuleName"])["Arn"]
    (target,) = events.list_targets_by_rule(Rule=PLACEHOLDERS["FailureRuleName"])["Targets"]
    assert resources("deployer-policy.json", "ManageThePipelineFailureRule") == [rule_arn]
    assert resources("deployer-policy.json", "CreateAndConfigureTheFailureTopic") == [target["Arn"]]

    # The SDK's key for a large definition, and the default image, with the session the pipeline is built on.
    config = replace(
        PipelineConfig(), role_arn=created["execution-role"], region=aws.region, bucket=PLACEHOLDERS["Bucket"]
    )
    aws.create_bucket(config.bucket)
    pipeline = get_pipeline(config, aws.session())
    bucket, key = s3.determine_bucket_and_prefix(
        key_prefix=pipeline.name, sagemaker_session=pipeline.sagemaker_session
    )
    assert (bucket, key) == (PLACEHOLDERS["Bucket"], PLACEHOLDERS["DefinitionKey"])
    host, _, path = image_uri(config).partition("/")
    image_repository = f"arn:aws:ecr:{aws.region}:{host.split('.')[0]}:repository/{path.split(':')[0]}"
    assert resources("execution-role-policy.json", "PullTheSageMakerScikitLearnImage") == [image_repository]
