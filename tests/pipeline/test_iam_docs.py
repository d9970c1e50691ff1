"""The IAM documents in docs/iam: well-formed, least-privilege by rule, accepted by IAM (moto) and the SDK."""

from __future__ import annotations

import json
import re
from string import Template
from typing import Any

import pytest

from tests.aws import MotoAws
from tests.paths import ROOT

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

#: Every placeholder the documents may use (README explains each), with a value that is valid in moto.
PLACEHOLDERS = {
    "Account": "123456789012",
    "Region": "us-east-1",
    "Bucket": "waveform-test-bucket",
    "InputPrefix": "waveform-pipeline/input",
    "OutputPrefix": "waveform-pipeline/output",
    "CodePrefix": "waveform-pipeline/code",
    "DefinitionKey": "waveform-pipeline/waveform-pipeline",
    "KmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000",
    "ExecutionRoleName": "waveform-pipeline-execution",
    "SchedulerRoleName": "waveform-pipeline-scheduler",
    "PipelineName": "waveform-pipeline",
    "GlueDatabase": "waveform",
    "GlueTable": "features",
    "VpcId": "vpc-0123456789abcdef0",
    "ImageAccount": "683313688378",
}


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


def test_scheduler_may_only_start_this_pipeline() -> None:
    (statement,) = load("scheduler-role-policy.json")["Statement"]
    assert as_list(statement["Action"]) == ["sagemaker:StartPipelineExecution"]
    assert as_list(statement["Resource"]) == [
        "arn:aws:sagemaker:${Region}:${Account}:pipeline/${PipelineName}"
    ]


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
