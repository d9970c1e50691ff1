"""The volumes the inventory step gives the group steps and the combine step, sized from the groups' bytes and
the window length, and the limits they must keep: the account's quota and the API's maximum.

A group step's volume holds its group's input (File mode copies all of it before the step starts) and the
step's outputs; the combine step's holds every group's outputs, fetched before it checks them. Both grow as
the window shortens, because the windows do.
"""

from __future__ import annotations

import math
from collections.abc import Collection

GIB = 2**30
# Features and errors are a few kB per record, well under 1 % of the signal bytes: 10 % and 2 GiB more hold
# them and the file system's own overhead.
VOLUME_HEADROOM = 0.10
VOLUME_EXTRA_GIB = 2
# The windows (windows.parquet) grow as the window shortens: a row per signal and window, ~29 bytes compressed
# (measured on generated windows whose means and deviations do not compress; docs/outputs.md), for the samples
# of a signal's window, which take fs x W x (bytes a sample) of the input. MIMIC-III's waveforms, most of its
# bytes, are 125 samples a second of one byte (format 80): the windows take 29 / (125 W) of the input's bytes
# (0.4 % for 60-s windows, 23 % for 1-s ones; an estimate: slower or more compressed signals take more). A
# group step holds them twice at its end: its workers' part files, then the one file they are copied into.
WINDOW_ROW_BYTES = 29
WINDOWED_INPUT_BYTES_PER_SECOND = 125
WINDOW_COPIES = 2
# The combine step fetches every group's outputs, then writes the datasets (to S3 a group at a time, staged
# on the volume): all the windows, and the largest group's again, plus 30 GB for the features, reports and
# staging (its whole volume before it had windows). Never less than 200 GB, what it had before this was sized.
COMBINE_EXTRA_GB = 30
COMBINE_MIN_VOLUME_GB = 200
# The default account quota 'Size of EBS volume for a processing job instance', in GB (the quota's unit, and
# the API's VolumeSizeInGB's): a step whose volume would exceed it cannot start until it is raised.
VOLUME_QUOTA_GB = 1024
VOLUME_QUOTA_NAME = "Size of EBS volume for a processing job instance"
MAX_VOLUME_GB = 16384  # the API's maximum of ProcessingClusterConfig.VolumeSizeInGB


def windows_fraction(window_seconds: float) -> float:
    """The windows' bytes per byte of input, for windows of ``window_seconds`` (0: no windows)."""
    if window_seconds <= 0:
        return 0.0
    return WINDOW_ROW_BYTES / (WINDOWED_INPUT_BYTES_PER_SECOND * window_seconds)


def volume_gb(group_bytes: int, window_seconds: float) -> int:
    """The volume, in GB (GiB, as EBS counts), a group step needs for ``group_bytes`` of input cut into
    windows of ``window_seconds`` (0: no windows)."""
    outputs = VOLUME_HEADROOM + WINDOW_COPIES * windows_fraction(window_seconds)
    return math.ceil(group_bytes * (1 + outputs) / GIB) + VOLUME_EXTRA_GIB


def combine_volume_gb(group_bytes: Collection[int], window_seconds: float) -> int:
    """The combine step's volume for groups of ``group_bytes`` of input, cut into windows of
    ``window_seconds``: every group's windows and the largest group's again, and room for the rest."""
    windows = (sum(group_bytes) + max(group_bytes, default=0)) * windows_fraction(window_seconds)
    return max(COMBINE_MIN_VOLUME_GB, math.ceil(windows * (1 + VOLUME_HEADROOM) / GIB) + COMBINE_EXTRA_GB)
