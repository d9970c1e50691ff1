"""The project's one WFDB sample-data generator: ``records`` writes records in every format and MIMIC-III's
record-set headers; ``mimic_sample`` builds ``make run``'s dataset from them, ``bench_workloads`` the extract
benchmark's workloads, and the tests write their records with ``records`` too.

    python -m scripts.sample_data mimic --output-dir sample-data [--size-mb 30] [--seed 0] [--groups 30,31]
    python -m scripts.sample_data bench [--workload long|tiny|both] [--scale 1.0] [--data-dir bench-data]
"""
