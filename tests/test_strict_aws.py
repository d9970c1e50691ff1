"""The tests' moto server is as strict as the services: through real boto3 clients, a request that breaks its
service model is rejected as the service rejects it, and recorded; valid requests of every protocol pass."""

from __future__ import annotations

import datetime
import io
import json
import os
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.aws import MotoAws, trust_policy

REPO_ROOT = Path(__file__).resolve().parent.parent
PIPELINE_DEFINITION = json.dumps({"Version": "2020-12-01", "Parameters": [], "Steps": []})
POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::waveform-east/*"}],
}
# A signature moto does not verify: enough for a hand-made request to name its service.
S3_AUTHORIZATION = (
    "AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/s3/aws4_request, "
    "SignedHeaders=host, Signature=0000"
)


def create_pipeline_request(aws: MotoAws, **overrides: str) -> dict[str, str]:
    request = {
        "PipelineName": "waveform-features",
        "PipelineDisplayName": "MIMIC-III-waveform-features",
        "PipelineDescription": "Per-signal features of MIMIC-III waveform record sets.",
        "PipelineDefinition": PIPELINE_DEFINITION,
        "RoleArn": f"arn:aws:iam::{aws.account_id}:role/waveform-exec",
        "ClientRequestToken": "0123456789abcdef0123456789abcdef",
    }
    request.update(overrides)
    return request


def error_code(raised: pytest.ExceptionInfo[ClientError]) -> str:
    return str(raised.value.response["Error"]["Code"])


# -- rejections ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        (
            {"PipelineDisplayName": "MIMIC-III waveform features"},
            "CreatePipeline: PipelineDisplayName: 'MIMIC-III waveform features' does not match "
            "[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255} (at character 10: ' ')",
        ),
        (
            {"PipelineDescription": "d" * 3073},
            "CreatePipeline: PipelineDescription: 3073 characters, at most 3072",
        ),
    ],
)
def test_a_request_breaking_the_sagemaker_model_is_rejected(
    aws: MotoAws, overrides: dict[str, str], problem: str
) -> None:
    sagemaker = aws.client("sagemaker")
    with aws.expect_rejections() as rejected, pytest.raises(ClientError) as raised:
        sagemaker.create_pipeline(**create_pipeline_request(aws, **overrides))
    assert error_code(raised) == "ValidationException"
    assert problem in str(raised.value)
    assert rejected == [problem]
    assert sagemaker.list_pipelines()["PipelineSummaries"] == []  # moto never saw it


def test_a_role_with_a_bad_path_is_rejected(aws: MotoAws) -> None:
    iam = aws.client("iam")
    with aws.expect_rejections() as rejected, pytest.raises(ClientError) as raised:
        iam.create_role(RoleName="waveform-exec", Path="service-role", AssumeRolePolicyDocument="{}")
    assert error_code(raised) == "ValidationError"
    assert rejected == [
        r"CreateRole: Path: 'service-role' does not match (\u002F)|(\u002F[\u0021-\u007E]+\u002F)"
        " (at character 1: 's')"
    ]
    with pytest.raises(ClientError):
        iam.get_role(RoleName="waveform-exec")


def test_a_rejected_upload_leaves_no_object_and_the_connection_usable(aws: MotoAws) -> None:
    s3 = aws.client("s3")
    bucket = aws.create_bucket("waveform-strict")
    body = b"x" * 2_000_000  # sent after "100-continue": the gate must read it off the connection
    with aws.expect_rejections() as rejected:
        with pytest.raises(ClientError) as raised:
            s3.put_object(Bucket=bucket, Key="k", Body=io.BytesIO(body), StorageClass="SOMETIMES")
        assert error_code(raised) == "InvalidArgument"
        with pytest.raises(ClientError) as head:
            s3.head_object(Bucket=bucket, Key="k", ChecksumMode="ALWAYS")  # a HEAD: an error without a body
        assert head.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert rejected[0].startswith("PutObject: StorageClass: 'SOMETIMES' is not one of STANDARD, ")
    assert rejected[1] == "HeadObject: ChecksumMode: 'ALWAYS' is not one of ENABLED"
    s3.put_object(Bucket=bucket, Key="k", Body=b"after")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"after"


def test_blobs_rest_json_and_cbor_are_checked(aws: MotoAws) -> None:
    kms = aws.client("kms")
    key = aws.create_kms_key()
    scheduler = aws.client("scheduler")
    cloudwatch = aws.client("cloudwatch")
    with aws.expect_rejections() as rejected:
        with pytest.raises(ClientError):
            kms.encrypt(KeyId=key, Plaintext=b"x" * 4097)
        with pytest.raises(ClientError) as cbor:
            cloudwatch.put_metric_data(
                Namespace="w" * 256, MetricData=[{"MetricName": "records", "Value": 1.0}]
            )
        assert error_code(cbor) == "ValidationException"
        with pytest.raises(ClientError) as raised:
            scheduler.create_schedule(
                Name="waveform nightly",
                ScheduleExpression="rate(1 day)",
                FlexibleTimeWindow={"Mode": "OFF"},
                Target={"Arn": "arn:aws:sqs:us-east-1:123456789012:q", "RoleArn": aws.create_role("r")},
            )
    assert error_code(raised) == "ValidationException"
    assert rejected == [
        "Encrypt: Plaintext: 4097 bytes, at most 4096",
        "PutMetricData: Namespace: 256 characters, at most 255",
        "CreateSchedule: Name: 'waveform nightly' does not match [0-9a-zA-Z-_.]+ (at character 9: ' ')",
    ]


# -- valid requests of every protocol ---------------------------------------------------------------------


def test_valid_requests_of_every_protocol_pass_and_are_read_back(aws: MotoAws) -> None:
    # query
    iam = aws.client("iam")
    role = iam.create_role(
        RoleName="waveform-exec",
        Path="/service-role/",
        AssumeRolePolicyDocument=json.dumps(trust_policy("sagemaker.amazonaws.com", aws.account_id)),
        Tags=[{"Key": "team", "Value": "icu"}],
    )["Role"]["Arn"]
    iam.put_role_policy(RoleName="waveform-exec", PolicyName="inline", PolicyDocument=json.dumps(POLICY))
    assert aws.client("sts").get_caller_identity()["Account"] == aws.account_id
    # json
    sagemaker = aws.client("sagemaker")
    sagemaker.create_pipeline(**create_pipeline_request(aws, RoleArn=role))
    assert sagemaker.describe_pipeline(PipelineName="waveform-features")["PipelineDisplayName"]
    glue = aws.client("glue")
    glue.create_database(DatabaseInput={"Name": "waveforms"})
    assert glue.get_database(Name="waveforms")["Database"]["Name"] == "waveforms"
    kms = aws.client("kms")
    key = aws.create_kms_key()
    sealed = kms.encrypt(KeyId=key, Plaintext=b"secret")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=sealed)["Plaintext"] == b"secret"
    sqs = aws.client("sqs")  # json, with the query protocol's error codes
    queue = sqs.create_queue(
        QueueName="waveform-dead-letters", Attributes={"MessageRetentionPeriod": "86400"}
    )
    assert sqs.get_queue_attributes(QueueUrl=queue["QueueUrl"], AttributeNames=["All"])["Attributes"]
    # smithy-rpc-v2-cbor
    cloudwatch = aws.client("cloudwatch")
    when = datetime.datetime.now(datetime.UTC)
    cloudwatch.put_metric_data(
        Namespace="waveform", MetricData=[{"MetricName": "records", "Value": 3.0, "Timestamp": when}]
    )
    assert cloudwatch.list_metrics(Namespace="waveform")["Metrics"][0]["MetricName"] == "records"
    # rest-json
    scheduler = aws.client("scheduler")
    scheduler.create_schedule(
        Name="waveform-nightly",
        ScheduleExpression="rate(1 day)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": f"arn:aws:sagemaker:us-east-1:{aws.account_id}:pipeline/waveform-features",
            "RoleArn": role,
        },
    )
    assert scheduler.get_schedule(Name="waveform-nightly")["Name"] == "waveform-nightly"
    # rest-xml: with and without a body, streamed and parsed payloads
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="waveform-east")
    europe = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="eu-west-1"
    )
    europe.client("s3").create_bucket(
        Bucket="waveform-west", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    body = bytes(range(256)) * 8000  # 2 MB: the gate must hand it to moto untouched
    s3.put_object(Bucket="waveform-east", Key="in/p00/3000003 é+.hea", Body=body, Metadata={"team": "icu"})
    s3.put_object(Bucket="waveform-east", Key="in/p00/other", Body=b"")
    assert s3.get_object(Bucket="waveform-east", Key="in/p00/3000003 é+.hea")["Body"].read() == body
    assert s3.head_object(Bucket="waveform-east", Key="in/p00/other")["ContentLength"] == 0
    listed = s3.list_objects_v2(Bucket="waveform-east", Prefix="in/")["Contents"]
    assert sorted(item["Key"] for item in listed) == ["in/p00/3000003 é+.hea", "in/p00/other"]
    deleted = s3.delete_objects(Bucket="waveform-east", Delete={"Objects": [{"Key": "in/p00/other"}]})
    assert [item["Key"] for item in deleted["Deleted"]] == ["in/p00/other"]
    assert s3.list_objects_v2(Bucket="waveform-east")["KeyCount"] == 1

    assert aws.calls() == [
        ("iam", "CreateRole"),
        ("iam", "PutRolePolicy"),
        ("sts", "GetCallerIdentity"),
        ("sagemaker", "CreatePipeline"),
        ("sagemaker", "DescribePipeline"),
        ("glue", "CreateDatabase"),
        ("glue", "GetDatabase"),
        ("kms", "CreateKey"),
        ("kms", "Encrypt"),
        ("kms", "Decrypt"),
        ("sqs", "CreateQueue"),
        ("sqs", "GetQueueAttributes"),
        ("cloudwatch", "PutMetricData"),
        ("cloudwatch", "ListMetrics"),
        ("scheduler", "CreateSchedule"),
        ("scheduler", "GetSchedule"),
        ("s3", "CreateBucket"),
        ("s3", "CreateBucket"),
        ("s3", "PutObject"),
        ("s3", "PutObject"),
        ("s3", "GetObject"),
        ("s3", "HeadObject"),
        ("s3", "ListObjectsV2"),
        ("s3", "DeleteObjects"),
        ("s3", "ListObjectsV2"),
    ]


def chunked(payload: bytes) -> bytes:
    """``payload`` framed as ``aws-chunked`` with a trailing checksum, as botocore sends it over HTTPS."""
    return b"%x\r\n%s\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n" % (len(payload), payload)


def send_chunked(aws: MotoAws, path: str, payload: bytes) -> None:
    request = urllib.request.Request(
        f"{aws.endpoint}{path}",
        data=chunked(payload),
        method="PUT",
        headers={
            "Authorization": S3_AUTHORIZATION,
            "Content-Type": "application/octet-stream",
            "Content-Encoding": "aws-chunked",
            "X-Amz-Content-Sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
            "X-Amz-Decoded-Content-Length": str(len(payload)),
            "X-Amz-Trailer": "x-amz-checksum-crc32",
        },
    )
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request) as response:
        assert response.status < 300


def test_aws_chunked_bodies_reach_moto_intact(aws: MotoAws) -> None:
    """An upload's body is left unread; a parsed body (the tagging XML) is read through the chunk framing."""
    bucket = aws.create_bucket("waveform-chunked")
    send_chunked(aws, f"/{bucket}/chunked", b"hello")
    tagging = b"<Tagging><TagSet><Tag><Key>%s</Key><Value>icu</Value></Tag></TagSet></Tagging>"
    with aws.expect_rejections() as rejected, pytest.raises(urllib.error.HTTPError):
        send_chunked(aws, f"/{bucket}?tagging", tagging % b"")
    assert rejected == ["PutBucketTagging: Tagging.TagSet[0].Key: 0 characters, at least 1"]
    send_chunked(aws, f"/{bucket}?tagging", tagging % b"team")
    s3 = aws.client("s3")
    assert s3.get_object(Bucket=bucket, Key="chunked")["Body"].read() == b"hello"
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == [{"Key": "team", "Value": "icu"}]
    assert aws.calls()[-5:] == [
        ("s3", "PutObject"),
        ("s3", "PutBucketTagging"),
        ("s3", "PutBucketTagging"),
        ("s3", "GetObject"),
        ("s3", "GetBucketTagging"),
    ]


def test_the_region_is_given_as_users_give_it(aws: MotoAws) -> None:
    assert os.environ["AWS_REGION"] == aws.region
    assert "AWS_DEFAULT_REGION" not in os.environ


# -- without expect_rejections, a violation fails the test ---------------------------------------------------

INNER_TESTS = """
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

from tests.aws import aws  # noqa: F401

AUTHORIZATION = {authorization!r}
CREATE = dict(
    PipelineName="p",
    PipelineDisplayName="has spaces",
    PipelineDefinition="{{}}",
    RoleArn="arn:aws:iam::123456789012:role/r",
    ClientRequestToken="0123456789abcdef0123456789abcdef",
)


def test_violation(aws):
    with pytest.raises(ClientError):
        aws.client("sagemaker").create_pipeline(**CREATE)


def test_expected_violation(aws):
    with aws.expect_rejections() as rejected, pytest.raises(ClientError):
        aws.client("sagemaker").create_pipeline(**CREATE)
    assert len(rejected) == 1


def test_unrecognised(aws):
    headers = {{"Authorization": AUTHORIZATION}}
    request = urllib.request.Request(aws.endpoint + "/", headers=headers, method="PATCH")
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.build_opener(urllib.request.ProxyHandler({{}})).open(request)


def test_region_inside(aws):
    import os
    assert "AWS_DEFAULT_REGION" not in os.environ


def test_region_after():
    import os
    assert os.environ["AWS_DEFAULT_REGION"] == "eu-west-3"
"""


def test_a_violation_outside_expect_rejections_fails_the_test(tmp_path: Path) -> None:
    (tmp_path / "test_inner.py").write_text(
        textwrap.dedent(INNER_TESTS.format(authorization=S3_AUTHORIZATION.replace("/s3/", "/scheduler/")))
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "AWS_DEFAULT_REGION": "eu-west-3"}
    ran = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rE", "test_inner.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    out = ran.stdout
    assert ran.returncode == 1, out
    assert "5 passed, 2 errors" in out
    assert "ERROR at teardown of test_violation" in out
    assert "ERROR at teardown of test_unrecognised" in out
    assert (
        "  CreatePipeline: PipelineDisplayName: 'has spaces' does not match [a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}"
        " (at character 4: ' ')" in out
    )
    assert "  not recognised: PATCH / (no operation of the services signed as 'scheduler' matches)" in out
