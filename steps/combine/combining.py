"""Combining every group's extract outputs: check them all, then write the datasets and the reports.

Nothing is written until every group's outputs have been checked, so a bad group leaves no output behind.
The outputs are then written as one set: the local datasets (records, windows) into staging folders, the three
reports under temporary names, and only once all of them are complete is each put in place (the windows
dataset, the records dataset, then the reports), so a run that fails or is killed before then leaves the
previous run's outputs as they were; the temporary files and folders a killed run left are removed by the next
one. A group's features are in memory while it is written; its windows stream through, a batch at a time.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from steps.contract.atomic import atomic_files, remove_leftovers

from .coverage import GroupRecording, group_recording
from .dataset import GroupWriter, dataset_table, local_dataset, s3_dataset
from .destination import S3Dataset
from .errors import MissingDestinationError, OutputWriteError
from .group_outputs import GroupFolder, GroupOutputs, read_all_group_outputs, read_features
from .group_windows import common_window_seconds, window_batches
from .mean_distribution import MeanDistributions
from .output_names import QUALITY_FILE, REPORT_FILE, REPORT_FILES, SIGNAL_STATS_FILE, WINDOWS_FOLDER
from .quality import quality_report
from .report import render_report
from .signal_quality import SignalQuality
from .signal_stats import group_signal_totals, signal_stats
from .windows_dataset import WindowsWriter, local_windows, s3_windows, with_standard_names

log = logging.getLogger("steps.combine")


@dataclass(frozen=True)
class CombineResult:
    """What a combine run wrote, for the one line the CLI prints."""

    quality: dict[str, Any]
    signals: int
    dataset: str
    windows: str  # where the windows dataset went (empty: nowhere, as there were no windows)


def combine_groups(
    folders: Sequence[GroupFolder],
    output_dir: Path,
    dataset: Path | S3Dataset,
    run: dict[str, Any],
    locations: Mapping[str, str] | None = None,
    windows: Path | S3Dataset | None = None,
) -> CombineResult:
    """Combine the groups' outputs into the dataset and the windows dataset (each a local folder or S3;
    ``windows`` by default ``<output_dir>/windows``) and ``output_dir``; the reports describe ``run``
    (``run_metadata``) and where each group's outputs were read from (``locations``, by group; default: their
    folders)."""
    windows = output_dir / WINDOWS_FOLDER if windows is None else windows
    outputs = read_all_group_outputs(folders)
    window_seconds = common_window_seconds({group.group: group.window_seconds for group in outputs})
    _check_windows_destination(outputs, windows)
    log.info("%d groups checked", len(outputs))
    locations = {**{name: str(folder) for name, folder in folders}, **(locations or {})}
    unknown: Counter[str] = Counter()
    totals: list[pd.DataFrame] = []
    means = MeanDistributions()
    signal_quality = SignalQuality()
    recordings: dict[str, GroupRecording] = {}
    # leaving the block puts the windows dataset in place (the last context entered), then the dataset, then
    # the reports
    with (
        _local_write_failure(),
        ExitStack() as reports,
        _open_dataset(dataset) as write_group,
        _open_windows(windows, output_dir, window_seconds) as write_windows,
    ):
        for group in outputs:
            table, group_unknown = dataset_table(read_features(group))
            write_group(table)
            unknown.update(group_unknown)
            totals.append(group_signal_totals(table))
            means.add(table)
            signal_quality.add_records(table)
            recordings[group.group] = group_recording(table)
            log.info("group %s: %d rows combined", group.group, table.num_rows)
            if group.windows_paths:
                written = write_windows(group.group, _named_windows(group, signal_quality))
                log.info("group %s: %d windows combined", group.group, written)
        stats = signal_stats(totals)
        quality = quality_report(
            outputs, unknown, recordings, means, run, locations, signal_quality, window_seconds
        )
        stage_outputs(reports, output_dir, stats, quality)
    return CombineResult(
        quality=quality,
        signals=len(stats),
        dataset=_location(dataset),
        windows=_location(windows) if window_seconds else "",
    )


def _named_windows(group: GroupOutputs, signal_quality: SignalQuality) -> Iterable[pa.RecordBatch]:
    """The group's windows a batch at a time, with their standard names, each counted as it passes."""
    for batch in window_batches(group.windows_paths, group.group):
        named = with_standard_names(batch)
        signal_quality.add_windows(named)
        yield named


def _check_windows_destination(outputs: Sequence[GroupOutputs], windows: Path | S3Dataset) -> None:
    """Windows need a place: refused, before anything is written, when the dataset goes to a URI of the
    user's and the windows were given none."""
    having = [group.group for group in outputs if group.windows]
    if having and isinstance(windows, S3Dataset) and not windows.uri:
        raise MissingDestinationError(
            f"group(s) {', '.join(having)} have windows and the dataset goes to S3: give --windows-s3-uri, "
            "where the windows dataset goes"
        )


def _location(destination: Path | S3Dataset) -> str:
    return destination.uri if isinstance(destination, S3Dataset) else str(destination)


def _open_dataset(dataset: Path | S3Dataset) -> AbstractContextManager[GroupWriter]:
    return s3_dataset(dataset) if isinstance(dataset, S3Dataset) else local_dataset(dataset)


def _open_windows(
    windows: Path | S3Dataset, scratch: Path, window_seconds: float | None
) -> AbstractContextManager[WindowsWriter]:
    """The windows dataset's writer; for S3, through scratch files in ``scratch`` (the reports' folder)."""
    if isinstance(windows, S3Dataset):
        remove_leftovers(scratch, [WINDOWS_FOLDER])  # scratch files a killed run left
        return s3_windows(windows, scratch, window_seconds)
    return local_windows(windows, window_seconds)


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
