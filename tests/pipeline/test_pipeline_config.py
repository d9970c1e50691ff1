"""Settings: one source of truth, flag > environment > config file > default; errors name the setting."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.config import GROUP_PRESETS, ConfigError, PipelineConfig, load_config
from pipeline.executions import exit_code, step_rows, steps_table, wait_until_finished


def test_flag_beats_environment_beats_file_beats_default(tmp_path: Path) -> None:
    file = tmp_path / "waveform-pipeline.toml"
    file.write_text(
        'bucket = "from-file"\nprefix = "file-prefix"\ngroups = "matched"\n[tags]\nowner = "file"\n'
    )
    environ = {"WAVEFORM_BUCKET": "from-env", "AWS_REGION": "eu-west-1"}
    config = load_config({"bucket": None, "tags": ["team=icu"]}, environ, file)
    assert config.bucket == "from-env" and config.prefix == "file-prefix" and config.region == "eu-west-1"
    assert config.groups == GROUP_PRESETS["matched"]
    assert config.tags == {"project": "waveform-pipeline", "owner": "file", "team": "icu"}
    assert load_config({"bucket": "from-flag"}, environ, file).bucket == "from-flag"
    assert load_config({}, {}, None).pipeline_name == PipelineConfig().pipeline_name


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"groups": "30,30"}, "groups: a group is listed twice"),
        ({"role_arn": "my-role"}, "is not an ARN"),
        ({"bucket": "Bad_Bucket"}, "is not an S3 bucket name"),
        ({"prefix": "/x/"}, "without leading or trailing"),
        ({"pipeline_name": "no spaces allowed"}, "letters, digits and hyphens"),
        ({"glue_database": "db"}, "glue database and glue table go together"),
        ({"tags": ["novalue"]}, "is not KEY=VALUE"),
        ({"subnets": "subnet-1"}, "subnets without a custom image: jobs in a VPC cannot install"),
        ({"kms_key_id": "my key"}, "is not a key id, key ARN, alias or alias ARN"),
        ({"max_parallel_steps": "0"}, "max parallel steps 0: give a whole number from 1"),
        ({"max_parallel_steps": "four"}, "max parallel steps: 'four' is not a whole number"),
    ],
)
def test_invalid_settings_say_which(flags: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(flags, {}, None)


def test_a_missing_config_file_given_by_flag_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config({}, {}, tmp_path / "absent.toml")


STEPS = [  # shaped as ListPipelineExecutionSteps returns them
    {
        "StepName": "Combine",
        "StepStatus": "Succeeded",
        "StartTime": datetime(2026, 11, 21, 6, 30, tzinfo=UTC),
        "EndTime": datetime(2026, 11, 21, 6, 31, tzinfo=UTC),
        "CacheHitResult": {
            "SourcePipelineExecutionArn": "arn:aws:sagemaker:us-east-1:1:pipeline/p/execution/abc123"
        },
    },
    {
        "StepName": "Extract30",
        "StepStatus": "Failed",
        "StartTime": datetime(2026, 11, 21, 6, 0, tzinfo=UTC),
        "EndTime": datetime(2026, 11, 21, 6, 20, tzinfo=UTC),
        "FailureReason": "ClientError: strict mode: 3 problem(s)",
    },
    {
        "StepName": "Extract31",
        "StepStatus": "Executing",
        "StartTime": datetime(2026, 11, 21, 6, 1, tzinfo=UTC),
    },
]


def test_steps_table_shows_status_cache_source_times_and_reasons() -> None:
    table = steps_table(step_rows(STEPS)).splitlines()
    assert table[0].split() == ["STEP", "STATUS", "CACHE", "START", "END", "FAILURE"]
    assert table[1].startswith("Extract30") and "ClientError: strict mode: 3 problem(s)" in table[1]
    assert table[2].startswith("Extract31") and table[2].split()[2] == "-"
    assert "hit from abc123" in table[3] and "2026-11-21 06:31:00" in table[3]


def test_waiting_reports_each_change_and_returns_the_outcome() -> None:
    statuses = iter(["Executing", "Executing", "Succeeded"])
    reported: list[str] = []
    slept: list[float] = []
    final = wait_until_finished(
        lambda: {"PipelineExecutionStatus": next(statuses)}, 15, reported.append, sleep=slept.append
    )
    assert final["PipelineExecutionStatus"] == "Succeeded"
    assert [line.split()[-1] for line in reported] == ["Executing", "Succeeded"] and slept == [15, 15]
    assert [exit_code(s) for s in ("Succeeded", "Failed", "Stopped", "Executing")] == [0, 1, 1, 3]
