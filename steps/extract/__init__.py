"""The extract step: every WFDB record of one patient group summarised exactly, over every usable CPU.

``command`` is its command line; ``extraction`` runs a group: ``discovery`` finds the records from their
headers (``header``, with WFDB's grammar in ``wfdb_spec``), ``sharding`` balances them over the workers of
``worker_pool``, ``record_summary`` streams each record's signal files (``signal_files``) into exact
``statistics``, and ``outputs`` writes the files ``steps.contract`` defines.
"""
