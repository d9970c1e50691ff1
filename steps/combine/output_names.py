"""The names of what the combine step writes into its output folder: the three reports and the datasets'
folders. Kept apart from the code that writes them (which imports pandas, pyarrow and matplotlib), so the CLI
can name them without that cost."""

from __future__ import annotations

SIGNAL_STATS_FILE = "signal_stats.csv"
QUALITY_FILE = "quality.json"
REPORT_FILE = "report.html"
REPORT_FILES = (SIGNAL_STATS_FILE, QUALITY_FILE, REPORT_FILE)
DATASET_FOLDER = "dataset"  # beside the reports, unless the step is given another place
WINDOWS_FOLDER = "windows"  # the windows dataset, likewise


def dataset_beside(output_uri: str, folder: str = DATASET_FOLDER) -> str:
    """A dataset's S3 URI when it goes beside the reports: ``<the step's output URI>/dataset/`` (or
    ``windows/``)."""
    return f"{output_uri.rstrip('/')}/{folder}/"
