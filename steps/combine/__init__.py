"""The combine step: every group's extract outputs into one dataset, signal statistics, a quality report.

``command`` is its command line; ``combining`` runs it: ``group_outputs`` reads and checks every group's
outputs, ``dataset`` writes the dataset (standard names from ``signal_names``) to the ``destination`` (a local
one only where ``dataset_folder`` allows), and ``signal_stats``, ``quality`` and ``report`` write the rest:
the run they describe from ``run_metadata``, each group's recording time from ``coverage``, each signal's
record means from ``mean_distribution``, drawn by ``plots`` and ``group_plots`` into ``html_tables``.
"""
