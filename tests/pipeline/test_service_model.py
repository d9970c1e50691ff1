"""The service-model validator on crafted requests: each kind of rule, a valid request; the models'
patterns, read as Java reads them."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest

from pipeline.java_patterns import model_pattern
from pipeline.service_model import request_problems

ROLE_ARN = "arn:aws:iam::123456789012:role/waveform-pipeline-execution"
# The services the product and its tests talk to, or may: every pattern of theirs must compile.
SURVEYED_SERVICES = (
    "sagemaker",
    "s3",
    "glue",
    "kms",
    "iam",
    "sts",
    "sqs",
    "scheduler",
    "ecr",
    "athena",
    "lakeformation",
)


def create_pipeline(**overrides: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "PipelineName": "waveform-features",
        "PipelineDisplayName": "MIMIC-III-waveform-features",
        "PipelineDescription": "Per-signal features of MIMIC-III waveform record sets.",
        "PipelineDefinition": '{"Version": "2020-12-01", "Steps": []}',
        "RoleArn": ROLE_ARN,
        "ClientRequestToken": "0123456789abcdef0123456789abcdef",
        "Tags": [{"Key": "team", "Value": "icu"}],
    }
    request.update(overrides)
    return request


def processing_job(**overrides: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "ProcessingJobName": "extract-group-p00",
        "RoleArn": ROLE_ARN,
        "AppSpecification": {"ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/sklearn:1.4-2"},
        "ProcessingResources": {
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}
        },
    }
    request.update(overrides)
    return request


def test_a_valid_request_has_no_problems() -> None:
    assert request_problems("sagemaker", "CreatePipeline", create_pipeline()) == []
    assert request_problems("sagemaker", "CreateProcessingJob", processing_job()) == []
    assert request_problems("sts", "GetCallerIdentity", {}) == []


def test_required_members_and_unknown_members() -> None:
    request = create_pipeline(PipelineNmae="typo")
    del request["RoleArn"]
    del request["Tags"][0]["Value"]
    assert request_problems("sagemaker", "CreatePipeline", request) == [
        "CreatePipeline: RoleArn: required, missing",
        "CreatePipeline: Tags[0].Value: required, missing",
        "CreatePipeline: PipelineNmae: not a member of CreatePipelineRequest",
    ]


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"PipelineName": 3}, "PipelineName: int 3, expected a string"),
        ({"Tags": "team=icu"}, "Tags: str 'team=icu', expected a list"),
        ({"Tags": ["team"]}, "Tags[0]: str 'team', expected a structure"),
        ({"ParallelismConfiguration": {"MaxParallelExecutionSteps": True}}, "expected an integer"),
    ],
)
def test_wrong_types(overrides: dict[str, Any], problem: str) -> None:
    (found,) = request_problems("sagemaker", "CreatePipeline", create_pipeline(**overrides))
    assert found.startswith("CreatePipeline: ") and found.endswith(problem)


def test_string_lengths_count_characters() -> None:
    arguments = ["--group", "p00", "x" * 256, "é" * 300]
    problems = request_problems(
        "sagemaker",
        "CreateProcessingJob",
        processing_job(
            AppSpecification={"ImageUri": "image", "ContainerArguments": arguments},
            ProcessingJobName="",
        ),
    )
    assert (
        "CreateProcessingJob: AppSpecification.ContainerArguments[3]: 300 characters, at most 256" in problems
    )
    assert "CreateProcessingJob: ProcessingJobName: 0 characters, at least 1" in problems
    assert not any("ContainerArguments[2]" in problem for problem in problems)


def test_patterns_match_the_whole_value() -> None:
    problems = request_problems(
        "sagemaker", "CreatePipeline", create_pipeline(PipelineDisplayName="MIMIC-III waveform features")
    )
    assert problems == [
        "CreatePipeline: PipelineDisplayName: 'MIMIC-III waveform features' does not match "
        "[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255} (at character 10: ' ')"
    ]
    # "MIMIC-III" alone would match at the start: only a match of the whole value counts
    description = (
        "Per-signal features of MIMIC-III waveform record sets, one step per patient group.\nCached."
    )
    (problem,) = request_problems(
        "sagemaker", "CreatePipeline", create_pipeline(PipelineDescription=description)
    )
    # the value is cut in the message: where it stops matching is said
    assert problem.endswith("… does not match .* (at character 83: '\\n')")
    (problem,) = request_problems(
        "iam", "CreateRole", {"RoleName": "r", "AssumeRolePolicyDocument": "{}", "Path": "/a"}
    )
    assert problem.endswith(" (it ends too soon)")


def test_enums() -> None:
    job = processing_job()
    job["ProcessingResources"]["ClusterConfig"]["InstanceType"] = "ml.m5.huge"
    (problem,) = request_problems("sagemaker", "CreateProcessingJob", job)
    assert problem.startswith(
        "CreateProcessingJob: ProcessingResources.ClusterConfig.InstanceType: 'ml.m5.huge' is not one of "
    )
    assert problem.endswith(" values)")  # the enum has hundreds: a few are listed


def test_list_and_map_entries() -> None:
    inputs = [
        {"InputName": f"group-{index}", "S3Input": {"S3Uri": "s3://b/k", "S3DataType": "S3Prefix"}}
        for index in range(11)
    ]
    problems = request_problems(
        "sagemaker",
        "CreateProcessingJob",
        processing_job(
            ProcessingInputs=inputs,
            Environment={f"VAR_{index}": "1" for index in range(101)},
            AppSpecification={"ImageUri": "image", "ContainerEntrypoint": []},
        ),
    )
    assert "CreateProcessingJob: ProcessingInputs: 11 entries, at most 10" in problems
    assert "CreateProcessingJob: Environment: 101 entries, at most 100" in problems
    assert "CreateProcessingJob: AppSpecification.ContainerEntrypoint: 0 entries, at least 1" in problems


def test_map_keys_and_values_are_checked() -> None:
    problems = request_problems(
        "sagemaker", "CreateProcessingJob", processing_job(Environment={"NOT A NAME": "x" * 257})
    )
    assert problems[0].startswith(
        "CreateProcessingJob: Environment['NOT A NAME'] (the key): 'NOT A NAME' does not"
    )
    assert problems[1] == "CreateProcessingJob: Environment['NOT A NAME']: 257 characters, at most 256"


def test_number_ranges() -> None:
    job = processing_job()
    job["ProcessingResources"]["ClusterConfig"].update(InstanceCount=0, VolumeSizeInGB=16385)
    assert request_problems("sagemaker", "CreateProcessingJob", job) == [
        "CreateProcessingJob: ProcessingResources.ClusterConfig.InstanceCount: 0, at least 1",
        "CreateProcessingJob: ProcessingResources.ClusterConfig.VolumeSizeInGB: 16385, at most 16384",
    ]
    split = {"DataSplitConfig": {"ValidationFraction": 1.5}}
    problems = request_problems("sagemaker", "CreateAutoMLJob", {"AutoMLJobConfig": split})
    assert "CreateAutoMLJob: AutoMLJobConfig.DataSplitConfig.ValidationFraction: 1.5, at most 1" in problems


def test_blob_lengths_and_sensitive_values() -> None:
    key = "1234abcd-12ab-34cd-56ef-1234567890ab"
    assert request_problems("kms", "Encrypt", {"KeyId": key, "Plaintext": b"x" * 4097}) == [
        "Encrypt: Plaintext: 4097 bytes, at most 4096"
    ]
    # the model marks the plaintext sensitive: a message never shows it
    assert request_problems("kms", "Encrypt", {"KeyId": key, "Plaintext": 1234}) == [
        "Encrypt: Plaintext: int (sensitive), expected bytes or a file-like object"
    ]


def test_timestamps_booleans_and_unions() -> None:
    problems = request_problems(
        "sagemaker", "ListPipelineExecutions", {"PipelineName": "p", "CreatedAfter": "yesterday"}
    )
    assert problems == ["ListPipelineExecutions: CreatedAfter: 'yesterday' is not a timestamp"]
    job = processing_job(NetworkConfig={"EnableNetworkIsolation": "yes"})
    assert request_problems("sagemaker", "CreateProcessingJob", job) == [
        "CreateProcessingJob: NetworkConfig.EnableNetworkIsolation: str 'yes', expected a boolean"
    ]
    optimizer = {
        "DatabaseName": "d",
        "TableName": "t",
        "CatalogId": "123456789012",
        "Type": "compaction",
        "TableOptimizerConfiguration": {"roleArn": ROLE_ARN, "vpcConfiguration": {}},
    }
    assert request_problems("glue", "CreateTableOptimizer", optimizer) == [
        "CreateTableOptimizer: TableOptimizerConfiguration.vpcConfiguration: "
        "a union takes exactly one member, got 0"
    ]


def test_long_values_are_cut_in_messages() -> None:
    (problem,) = request_problems(
        "sagemaker", "CreatePipeline", create_pipeline(PipelineDisplayName="a b" * 50)
    )
    shown = problem.split(": ", 2)[2].split(" does not match ")[0]
    assert len(shown) == 80 and shown.endswith("…")


# -- the models' patterns (Java regexes) -----------------------------------------------------------------


def patterns_of(service: str) -> set[str]:
    model = botocore.session.get_session().get_service_model(service)
    shapes = (model.shape_for(name) for name in model.shape_names)
    return {shape.metadata["pattern"] for shape in shapes if "pattern" in shape.metadata}


@pytest.mark.parametrize("service", SURVEYED_SERVICES)
def test_every_pattern_of_the_services_we_use_compiles(service: str) -> None:
    for pattern in patterns_of(service):  # sqs has none
        model_pattern(pattern)


@pytest.mark.parametrize(
    ("pattern", "value", "matches"),
    [
        (".*", "one line", True),
        (".*", "a\nb", False),  # Java's "." matches no line terminator ...
        (".*", "a\rb", False),  # ... and \r is one (Python's "." matches it)
        (".*", "a\u2028b", False),
        ("[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}", "MIMIC-III", True),
        ("[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}", "MIMIC-III waveform", False),
        (r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*", "team=icu", True),
        (r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*", "équipe=soins intensifs", True),
        (r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*", "team;icu", False),
        (r"([\p{L}\p{Z}\p{N}_.:\/=+\-@]*)${1,256}", "team=icu", True),  # Java ignores a quantified "$"
        (r"[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\t]*", "waves 🌊", True),  # a surrogate pair
        (r"[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\t]*", "a\nb", False),
        (r"arn:[\p{Alnum}\-]+:lambda", "arn:aws-cn:lambda", True),
        (r"arn:[\p{Alnum}\-]+:lambda", "arn:awsé:lambda", False),  # Java's POSIX classes are ASCII
        (r"\w+", "é", False),  # so are \w, \d, \s
        (r"\S+", "é", True),
        (r"[a-z\s-_]+", "a-b_c", True),  # "-" after a class escape is itself
        (r"[\p{Print}&&[^|:/]]+", "a b", True),  # a class intersection
        (r"[\p{Print}&&[^|:/]]+", "a|b", False),
        (r"(?s).*", "a\nb", True),
        ("(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)", "/service-role/", True),
        ("(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)", "service-role", False),
    ],
)
def test_java_patterns_read_as_java_reads_them(pattern: str, value: str, matches: bool) -> None:
    assert (model_pattern(pattern).fullmatch(value) is not None) is matches
