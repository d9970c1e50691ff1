"""A moto server on 127.0.0.1 that the real boto3 / SageMaker SDK / awswrangler / aws CLI talk to.

Usage (from conftest.py)::

    from tests.aws import aws  # noqa: F401  (re-exported pytest fixture)

    def test_something(aws):
        role_arn = aws.create_role("pipeline-exec")
        bucket = aws.create_bucket("my-bucket")
        session = aws.pipeline_session(bucket)      # PipelineSession(default_bucket=bucket)
        ...

How requests reach moto: ``AWS_ENDPOINT_URL`` is honoured by botocore (>= 1.31; venv has 1.44, the aws CLI's
own botocore 1.43) for every client created without an explicit ``endpoint_url``; dummy credentials are set,
and anything that could send a client elsewhere (profile, config files, per-service endpoint overrides,
``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS``, web-identity / container credentials) is removed. The region is given
as the README asks users to give it: ``AWS_REGION`` only. ``AWS_DEFAULT_REGION`` (the one botocore reads) is
removed for the test and restored after it, so code that forgets to pass the region on fails here too.
Subprocesses (``aws ...``) inherit the same environment.

The server is strict (``tests/strict_moto.py``): the real services check every request against their service
model (maximum lengths, patterns, ranges, enums); botocore's client checks only minimums, types and required
members, and moto almost nothing. So every request that reaches moto is read back into its call
(``tests/wire_requests.py``) and checked with ``pipeline.service_model.request_problems``; one that breaks a
rule gets the service's HTTP 400 (the client raises ``ClientError``) and fails the test at teardown, listed.
A test whose point is a rejection says so::

    with aws.expect_rejections() as rejected:
        with pytest.raises(ClientError):
            sagemaker.create_pipeline(PipelineDisplayName="has spaces", ...)
    assert "PipelineDisplayName" in rejected[0]

A request the gate cannot read back (a protocol or route it does not know) is let through to moto and also
fails the test, as "not recognised: METHOD path", so gaps in the reader show; ``/moto-api/...`` is exempt.

What the env var does not cover, and how the fixture deals with it:

* ``Session.default_bucket()`` (and ``Session.account_id()``) in ``sagemaker.core.helper.session_helper``
  build their STS client with an explicit ``endpoint_url=https://sts.<region>.amazonaws.com``, which wins
  over ``AWS_ENDPOINT_URL``. Give the session a bucket: ``PipelineSession(default_bucket=...)``
  (``aws.pipeline_session(bucket)`` does), then the SDK never needs the account id.
* SDK telemetry (``@_telemetry_emitter`` on ``Pipeline.create``/``Pipeline.start``) does a plain
  ``requests.get("https://sm-pysdk-t-<region>.s3.<region>.amazonaws.com/telemetry?...")`` on a daemon thread.
  Its documented opt-out is ``SageMaker.PythonSDK.Modules.TelemetryOptOut: true`` in an SDK defaults file,
  but any non-empty SDK config makes *every* config lookup re-validate the whole config schema with
  jsonschema (~0.15 s each; ~1 s per ProcessingStep per ``definition()``), so it is not on by default.
  Instead ``HTTPS_PROXY`` points at a local port that refuses connections (``NO_PROXY`` covers 127.0.0.1):
  any HTTPS request that escapes to a real host -- telemetry, or a bug like the STS call above -- fails at
  once on 127.0.0.1 without a DNS lookup, and moto (plain http on 127.0.0.1) is unaffected.
  ``aws.sdk_defaults({...})`` writes a real SDK defaults file when a test wants one (e.g. the opt-out).
* The SDK defaults files are pointed at an empty file, so a developer's own ``~/.config/sagemaker`` or
  ``/etc/xdg/sagemaker`` config cannot leak into tests.
* moto's backends are process-global: the fixture resets them (``POST /moto-api/reset``) before and after
  each test, so tests may reuse names.
* A definition over 100 KB (a pipeline of some 30 groups or more) is uploaded to S3 by the SDK and created
  from ``PipelineDefinitionS3Location``; moto (5.2) keeps it as the parsed dict, and DescribePipeline then
  answers the dict's repr, not the JSON text the service answers. The fixture has moto keep the text, as it
  does for a definition given inline (``_pipeline_definition_text``).
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.strict_moto import GateLog, StrictMotoServer

REGION = "us-east-1"
#: moto's default account; everything created through the fixture lives here.
ACCOUNT_ID = "123456789012"

#: Variables that could redirect or re-credential a client away from the moto server.
_UNSET = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_STS_REGIONAL_ENDPOINTS",
    "SAGEMAKER_VALIDATE_ROLE",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
)


def trust_policy(service: str, source_account: str | None = None) -> dict[str, Any]:
    """A role trust policy letting ``service`` assume the role (optionally only for one account)."""
    statement: dict[str, Any] = {
        "Sid": "AllowServiceToAssumeRole",
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if source_account:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": source_account}}
    return {"Version": "2012-10-17", "Statement": [statement]}


@dataclass
class MotoAws:
    """Handle on the running moto server, yielded by the :func:`aws` fixture."""

    endpoint: str
    region: str = REGION
    account_id: str = ACCOUNT_ID
    _monkeypatch: pytest.MonkeyPatch | None = field(default=None, repr=False)
    _tmpdir: Path | None = field(default=None, repr=False)
    _gate: GateLog = field(default_factory=GateLog, repr=False)

    # -- the strict server -------------------------------------------------------------------
    @contextmanager
    def expect_rejections(self) -> Iterator[list[str]]:
        """Requests the service model rejects inside the block are expected: yield them, fail no test."""
        with self._gate.expecting() as rejected:
            yield rejected

    def calls(self) -> list[tuple[str, str]]:
        """(service, operation) of every request the server has read so far, e.g. ("s3", "PutObject")."""
        return list(self._gate.calls)

    # -- clients -----------------------------------------------------------------------------
    def session(self) -> boto3.Session:
        """A boto3 session bound to the region; its clients go to moto through ``AWS_ENDPOINT_URL``."""
        return boto3.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name=self.region,
        )

    def client(self, service: str) -> Any:
        return self.session().client(service)

    def pipeline_session(self, bucket: str, **kwargs: Any) -> Any:
        """A ``PipelineSession`` with an explicit default bucket (so the SDK never calls real STS).

        The bucket is created in moto if it does not exist yet.
        """
        from sagemaker.core.workflow.pipeline_context import PipelineSession

        self.create_bucket(bucket)
        return PipelineSession(boto_session=self.session(), default_bucket=bucket, **kwargs)

    def sdk_defaults(self, config: dict[str, Any]) -> Path:
        """Use ``config`` as the SageMaker SDK defaults file for the rest of the test; return its path.

        E.g. ``aws.sdk_defaults({"SchemaVersion": "1.0", "SageMaker": {"PythonSDK": {"Modules":
        {"TelemetryOptOut": True}}}})``. Only sessions created afterwards read it. Note the cost: with a
        non-empty config the SDK validates it against its schema on every lookup (~0.15 s each).
        """
        assert self._monkeypatch is not None and self._tmpdir is not None
        path = self._tmpdir / f"sagemaker-config-{uuid.uuid4().hex[:8]}.yaml"
        path.write_text(json.dumps(config))  # JSON is YAML
        self._monkeypatch.setenv("SAGEMAKER_USER_CONFIG_OVERRIDE", str(path))
        return path

    # -- resources ---------------------------------------------------------------------------
    def create_role(
        self,
        name: str,
        service: str = "sagemaker.amazonaws.com",
        *,
        policy: dict[str, Any] | None = None,
        policy_name: str = "inline",
        source_account: bool = True,
    ) -> str:
        """Create an IAM role trusted by ``service``; return its ARN.

        What the SDK checks (``sagemaker.core.helper.iam_role_resolver.resolve_and_validate_role`` with
        ``role_type="pipeline"``, called by ``Pipeline.create/update/upsert/put_triggers``): an ARN is taken
        as given (a bare name is looked up with ``iam:GetRole``); then (1) ``iam:SimulatePrincipalPolicy`` is
        run only for the actions whose Resource is ``*`` in the SDK's own pipeline policy -- there are none,
        so nothing is simulated and no permissions policy is needed -- and (2) ``iam:GetRole`` must show a
        trust policy allowing ``sts:AssumeRole`` to ``sagemaker.amazonaws.com`` (conditions are ignored).
        So the trust policy is what makes a role pass; ``policy`` (an inline permissions policy, e.g. the one
        in docs/iam) is optional and attached with ``iam:PutRolePolicy``.

        Note ``put_triggers(role_arn=...)`` validates its role the same way, so a role trusted only by
        ``scheduler.amazonaws.com`` is rejected there (RoleValidationError) unless ``SAGEMAKER_VALIDATE_ROLE``
        is ``false``.
        """
        iam = self.client("iam")
        document = trust_policy(service, self.account_id if source_account else None)
        response = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(document))
        if policy is not None:
            iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(policy))
        return str(response["Role"]["Arn"])

    def create_bucket(self, name: str) -> str:
        """Create an S3 bucket (idempotent); return its name."""
        s3 = self.client("s3")
        existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
        if name not in existing:
            if self.region == "us-east-1":  # us-east-1 takes no LocationConstraint
                s3.create_bucket(Bucket=name)
            else:
                s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": self.region})
        return name

    def create_kms_key(self, description: str = "test key") -> str:
        """Create a symmetric KMS key; return its key id (``aws.kms_key_arn(key_id)`` gives the ARN)."""
        return str(self.client("kms").create_key(Description=description)["KeyMetadata"]["KeyId"])

    def kms_key_arn(self, key_id: str) -> str:
        return f"arn:aws:kms:{self.region}:{self.account_id}:key/{key_id}"

    def reset(self) -> None:
        """Drop every resource moto holds (``POST /moto-api/reset``); backends are process-global."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", data=b"", method="POST")
        # no proxy for this one: it is plain http to 127.0.0.1 anyway
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=30) as response:
            response.read()


def _pipeline_definition_text(location: dict[str, Any], account_id: str, partition: str) -> str:
    """moto's ``load_pipeline_definition_from_s3``, keeping the object's text (which moto parses into a dict,
    so that DescribePipeline answers its repr)."""
    from moto.s3.models import s3_backends

    found = s3_backends[account_id][partition].get_object(location["Bucket"], location["ObjectKey"])
    text = found.value.decode("utf-8")  # type: ignore[union-attr]
    json.loads(text)  # moto refuses a definition that is not JSON, as the service does
    return text


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoAws]:
    """Start a strict moto server on 127.0.0.1 (free port), point all AWS clients at it, stop it after.

    Fails the test at teardown if the server rejected a request outside ``aws.expect_rejections()`` or could
    not read one back into its call.
    """
    gate = GateLog()
    server = StrictMotoServer(gate)
    server.start()
    endpoint = server.endpoint

    # A bound but never listening socket: connecting to it is refused at once, and no one else can
    # take the port while the test runs.
    blackhole = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    blackhole.bind(("127.0.0.1", 0))
    blackhole_port = blackhole.getsockname()[1]

    tmp = tempfile.TemporaryDirectory(prefix="moto-aws-")
    tmpdir = Path(tmp.name)
    empty = tmpdir / "empty"
    empty.write_text("")

    for name in _UNSET:
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):  # per-service overrides (AWS_ENDPOINT_URL_S3, ...) win over the global one
        if name.startswith("AWS_ENDPOINT_URL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    # Only AWS_REGION, as the README asks of users. setenv first: delenv of an absent variable records
    # nothing to restore, and a later test (or the caller's shell) must get its own value back.
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # Egress guard (see module docstring): HTTPS anywhere but 127.0.0.1 fails fast, locally.
    for name in ("HTTPS_PROXY", "https_proxy"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{blackhole_port}")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    # SageMaker SDK defaults: none, and none from the developer's machine either.
    monkeypatch.setenv("SAGEMAKER_USER_CONFIG_OVERRIDE", str(empty))
    monkeypatch.setenv("SAGEMAKER_ADMIN_CONFIG_OVERRIDE", str(empty))
    # boto3.DEFAULT_SESSION (used by the SDK / awswrangler when given no session) may predate this env.
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    import moto.sagemaker.models

    monkeypatch.setattr(moto.sagemaker.models, "load_pipeline_definition_from_s3", _pipeline_definition_text)

    handle = MotoAws(endpoint=endpoint, _monkeypatch=monkeypatch, _tmpdir=tmpdir, _gate=gate)
    try:
        handle.reset()
        yield handle
    finally:
        try:
            handle.reset()
        finally:
            server.stop()
            blackhole.close()
            tmp.cleanup()
    failure = gate.failure_report()
    if failure is not None:
        pytest.fail(failure, pytrace=False)
