"""The pipeline as this checkout builds it: print it (``definition``, ``graph``), compare it with the deployed
one (``diff``), check its requests (``check``), deploy it (``upsert``)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING

from ..config import PipelineConfig
from ..errors import PipelineError
from ..parameters import ParameterValue
from .settings import config_of, overrides

if TYPE_CHECKING:
    import boto3
    from sagemaker.mlops.workflow.pipeline import Pipeline

    from ..preflight import Preflight
    from ..step_code import StepCode


def built(config: PipelineConfig) -> tuple[boto3.Session, Pipeline, dict[str, StepCode]]:
    """The pipeline as this checkout defines it, with its step code packages (built once, here)."""
    from ..aws_session import boto_session
    from ..step_code import code_root, step_codes

    session = boto_session(config)  # before the SDK's import: it needs the region
    from ..definition import get_pipeline

    codes = step_codes(code_root(config))
    return session, get_pipeline(config, session, codes), codes


def printable(args: argparse.Namespace) -> Pipeline:
    """The pipeline to print, built without AWS: placeholders stand in for a region, role or bucket not
    configured (one note on standard error says so). No credentials are needed, and the instance metadata
    service, the last place botocore looks for them when the SDK's import creates its clients, is not asked
    (on a machine behind a proxy that would be an error)."""
    from .placeholders import placeholder_note, with_placeholders

    config, missing = with_placeholders(config_of(args))
    if missing:
        print(placeholder_note(missing), file=sys.stderr)
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    return built(config)[1]


def definition(args: argparse.Namespace) -> int:
    from ..definition_json import pretty

    text = pretty(printable(args).definition())
    if args.file:
        try:
            args.file.write_text(text)
        except OSError as exc:
            raise PipelineError(f"cannot write the definition to {args.file}: {exc.strerror or exc}") from exc
        print(f"definition written to {args.file}")
    else:
        sys.stdout.write(text)
    return 0


def graph(args: argparse.Namespace) -> int:
    from ..definition_json import mermaid

    sys.stdout.write(mermaid(json.loads(printable(args).definition())))
    return 0


def diff(args: argparse.Namespace) -> int:
    _, pipeline, _ = built(config_of(args))
    from ..definition_json import definition_changes
    from ..deployment import deployed_definition

    changes = definition_changes(deployed_definition(pipeline), json.loads(pipeline.definition()))
    print("\n".join(changes) if changes else "no changes: the deployed definition is the same")
    return 1 if changes and args.exit_code else 0


def check(args: argparse.Namespace) -> int:
    config = config_of(args)
    given = overrides(config, args.param)  # checked before the build, which takes seconds
    _, pipeline, _ = built(config)
    found = _checked(config, pipeline, given, args.display_name)
    for note in found.notes:
        print(note)
    if found.problems:
        return 1
    steps = len(pipeline.steps)
    print(f"ok: the requests of the pipeline, its {steps} steps and its schedule fit the service's rules")
    return 0


def _checked(
    config: PipelineConfig,
    pipeline: Pipeline,
    overrides: dict[str, ParameterValue] | None = None,
    display_name: str | None = None,
) -> Preflight:
    """The preflight check of this deployment; each problem printed as one ``error:`` line."""
    from ..deployment import pipeline_description
    from ..preflight import check_deployment

    description = pipeline_description(config, pipeline)
    found = check_deployment(config, pipeline.definition(), description, overrides, display_name)
    for problem in found.problems:
        print(f"error: {problem}", file=sys.stderr)
    return found


def upsert(args: argparse.Namespace) -> int:
    config = config_of(args)
    session, pipeline, codes = built(config)
    if _checked(config, pipeline).problems:
        print("error: nothing was deployed (see waveform-pipeline check)", file=sys.stderr)
        return 1
    from ..deployment import upload_step_code, upsert_pipeline

    uploaded = upload_step_code(session, config, codes.values())
    response = upsert_pipeline(pipeline, config)
    for uri in uploaded:
        print(f"uploaded {uri}")
    print(f"upserted {response['PipelineArn']}")
    return 0
