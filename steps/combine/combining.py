"""Combining every group's extract outputs: check them all, then write the dataset and the reports.

Nothing is written until every group's outputs have been checked, so a bad group leaves no output behind.
Each output file is written atomically; the local dataset folder appears only once complete.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from steps.contract.atomic import atomic_text

from .dataset import GroupWriter, dataset_table, local_dataset, s3_dataset
from .destination import S3Dataset
from .group_outputs import GroupFolder, read_all_group_outputs, read_features
from .quality import quality_report
from .report import render_report
from .signal_stats import group_signal_totals, signal_stats

log = logging.getLogger("steps.combine")

SIGNAL_STATS_FILE = "signal_stats.csv"
QUALITY_FILE = "quality.json"
REPORT_FILE = "report.html"


@dataclass(frozen=True)
class CombineResult:
    """What a combine run wrote, for the one line the CLI prints."""

    quality: dict[str, Any]
    signals: int
    dataset: str


def combine_groups(
    folders: Sequence[GroupFolder], output_dir: Path, dataset: Path | S3Dataset
) -> CombineResult:
    """Combine the groups' outputs into the dataset (a local folder or S3) and ``output_dir``."""
    outputs = read_all_group_outputs(folders)
    log.info("%d groups checked", len(outputs))
    unknown: Counter[str] = Counter()
    totals: list[pd.DataFrame] = []
    with _open_dataset(dataset) as write_group:
        for group in outputs:
            table, group_unknown = dataset_table(read_features(group))
            write_group(table)
            unknown.update(group_unknown)
            totals.append(group_signal_totals(table))
            log.info("group %s: %d rows combined", group.group, table.num_rows)
    stats = signal_stats(totals)
    quality = quality_report(outputs, unknown)
    write_outputs(output_dir, stats, quality)
    location = dataset.uri if isinstance(dataset, S3Dataset) else str(dataset)
    return CombineResult(quality=quality, signals=len(stats), dataset=location)


def _open_dataset(dataset: Path | S3Dataset) -> AbstractContextManager[GroupWriter]:
    return s3_dataset(dataset) if isinstance(dataset, S3Dataset) else local_dataset(dataset)


def write_outputs(output_dir: Path, stats: pd.DataFrame, quality: dict[str, Any]) -> None:
    """``signal_stats.csv``, ``quality.json`` and ``report.html``, each atomically."""
    report = render_report(quality, stats)  # drawn first: a failure here leaves none of the three
    with atomic_text(output_dir / SIGNAL_STATS_FILE) as stream:
        stats.to_csv(stream, index=False, lineterminator="\n")
    with atomic_text(output_dir / QUALITY_FILE) as stream:
        json.dump(quality, stream, indent=2, ensure_ascii=False)
        stream.write("\n")
    with atomic_text(output_dir / REPORT_FILE) as stream:
        stream.write(report)
