"""Combining every group's extract outputs: check them all, then write the dataset and the reports.

Nothing is written until every group's outputs have been checked, so a bad group leaves no output behind.
The outputs are then written as one set: the local dataset into a staging folder, the three reports under
temporary names, and only once all of them are complete is each put in place (the dataset first, then the
reports), so a run that fails or is killed before then leaves the previous run's outputs as they were; the
temporary files and folders a killed run left are removed by the next one.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from steps.contract.atomic import atomic_files, remove_leftovers

from .coverage import GroupRecording, group_recording
from .dataset import GroupWriter, dataset_table, local_dataset, s3_dataset
from .destination import S3Dataset
from .errors import OutputWriteError
from .group_outputs import GroupFolder, read_all_group_outputs, read_features
from .mean_distribution import MeanDistributions
from .output_names import QUALITY_FILE, REPORT_FILE, REPORT_FILES, SIGNAL_STATS_FILE
from .quality import quality_report
from .report import render_report
from .signal_stats import group_signal_totals, signal_stats

log = logging.getLogger("steps.combine")


@dataclass(frozen=True)
class CombineResult:
    """What a combine run wrote, for the one line the CLI prints."""

    quality: dict[str, Any]
    signals: int
    dataset: str


def combine_groups(
    folders: Sequence[GroupFolder],
    output_dir: Path,
    dataset: Path | S3Dataset,
    run: dict[str, Any],
    locations: Mapping[str, str] | None = None,
) -> CombineResult:
    """Combine the groups' outputs into the dataset (a local folder or S3) and ``output_dir``; the reports
    describe ``run`` (``run_metadata``) and where each group's outputs were read from (``locations``, by
    group; default: their folders)."""
    outputs = read_all_group_outputs(folders)
    log.info("%d groups checked", len(outputs))
    locations = {**{name: str(folder) for name, folder in folders}, **(locations or {})}
    unknown: Counter[str] = Counter()
    totals: list[pd.DataFrame] = []
    means = MeanDistributions()
    recordings: dict[str, GroupRecording] = {}
    # leaving the block puts the dataset in place (the last context entered), then the reports
    with _local_write_failure(), ExitStack() as reports, _open_dataset(dataset) as write_group:
        for group in outputs:
            table, group_unknown = dataset_table(read_features(group))
            write_group(table)
            unknown.update(group_unknown)
            totals.append(group_signal_totals(table))
            means.add(table)
            recordings[group.group] = group_recording(table)
            log.info("group %s: %d rows combined", group.group, table.num_rows)
        stats = signal_stats(totals)
        quality = quality_report(outputs, unknown, recordings, means, run, locations)
        stage_outputs(reports, output_dir, stats, quality)
    location = dataset.uri if isinstance(dataset, S3Dataset) else str(dataset)
    return CombineResult(quality=quality, signals=len(stats), dataset=location)


def _open_dataset(dataset: Path | S3Dataset) -> AbstractContextManager[GroupWriter]:
    return s3_dataset(dataset) if isinstance(dataset, S3Dataset) else local_dataset(dataset)


@contextmanager
def _local_write_failure() -> Iterator[None]:
    """A local file or folder that cannot be written (a full disk, no permission) in one line."""
    try:
        yield
    except OSError as exc:
        raise OutputWriteError(f"cannot write the outputs: {exc}") from exc


def stage_outputs(stack: ExitStack, output_dir: Path, stats: pd.DataFrame, quality: dict[str, Any]) -> None:
    """``signal_stats.csv``, ``quality.json`` and ``report.html`` written under temporary names, put in place
    together when ``stack`` closes without an exception (removed if it closes with one)."""
    remove_leftovers(output_dir, REPORT_FILES)
    texts = {
        REPORT_FILE: render_report(quality, stats),  # drawn first: a failure here leaves none of the three
        SIGNAL_STATS_FILE: stats.to_csv(index=False, lineterminator="\n"),
        QUALITY_FILE: json.dumps(quality, indent=2, ensure_ascii=False) + "\n",
    }
    temporaries = stack.enter_context(atomic_files(output_dir, REPORT_FILES))
    for name, temporary in temporaries.items():
        with open(temporary, "w", encoding="utf-8", newline="") as stream:
            stream.write(texts[name])
            stream.flush()
            os.fsync(stream.fileno())
