"""The project's one WFDB sample-data generator: ``records`` writes records in every format and MIMIC-III's
record-set headers; ``mimic_sample`` builds ``make run``'s dataset from them, ``mimic4_sample`` one in the
MIMIC-IV layout (FLAC segments of several rates, numerics tables), ``bench_workloads`` the extract benchmark's
workloads, and the tests write their records with ``records`` too.

    python -m scripts.sample_data mimic --output-dir sample-data [--size-mb 30] [--seed 0] [--groups 30,31]
    python -m scripts.sample_data mimic4 --output-dir sample-data-mimic4 [--seed 0] [--groups p100,p101]
    python -m scripts.sample_data bench [--workload long|tiny|both] [--scale 1.0] [--data-dir bench-data]
"""
