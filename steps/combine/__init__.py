"""The combine step: every group's extract outputs into one dataset, signal statistics, a report."""
