"""The generator's command line: ``mimic`` (make run's sample) or ``bench`` (the benchmark's workloads)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.config import split_names

from . import __doc__ as package_doc
from .bench_workloads import DEFAULT_DATA_DIR, WORKLOADS, ensure_workload
from .mimic4_sample import GROUPS as MIMIC4_GROUPS
from .mimic4_sample import generate_mimic4
from .mimic_sample import GROUPS, generate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.sample_data",
        description=(package_doc or "").splitlines()[0],
        allow_abbrev=False,
    )
    sub = parser.add_subparsers(dest="dataset", required=True)
    mimic = sub.add_parser(
        "mimic", help="the sample dataset make run uses, in the MIMIC-III layout", allow_abbrev=False
    )
    mimic.add_argument(
        "--output-dir",
        dest="output",
        type=Path,
        default=Path("sample-data"),
        help="root (default: %(default)s)",
    )
    mimic.add_argument("--size-mb", type=float, default=30.0, help="signal MB in all (default: %(default)s)")
    mimic.add_argument("--seed", type=int, default=0)
    mimic.add_argument(
        "--groups",
        nargs="+",
        default=GROUPS,
        help="group folders, as --groups 30 31 or --groups 30,31 (default: 30 ... 39)",
    )
    mimic4 = sub.add_parser(
        "mimic4",
        help="a small dataset in the MIMIC-IV Waveform Database layout (FLAC segments, numerics tables)",
        allow_abbrev=False,
    )
    mimic4.add_argument(
        "--output-dir",
        dest="output",
        type=Path,
        default=Path("sample-data-mimic4"),
        help="root, standing for waves/ (default: %(default)s)",
    )
    mimic4.add_argument("--seed", type=int, default=0)
    mimic4.add_argument(
        "--groups",
        nargs="+",
        default=MIMIC4_GROUPS,
        help="group folders, as --groups p100 p101 or --groups p100,p101 (default: p100 p101)",
    )
    bench = sub.add_parser("bench", help="the extract benchmark's workloads", allow_abbrev=False)
    bench.add_argument("--workload", choices=[*WORKLOADS, "both"], default="both")
    bench.add_argument("--scale", type=float, default=1.0, help="sizes and counts times this (default 1.0)")
    bench.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    args = parser.parse_args(argv)
    if args.dataset == "mimic":
        if args.size_mb <= 0:
            parser.error("--size-mb must be positive")
        groups = [group for value in args.groups for group in split_names(value)]  # as the CLI reads lists
        if generate(args.output, args.size_mb, args.seed, groups):
            print(f"sample data written to {args.output}")
        else:
            print(f"sample data already in {args.output} (same size and seed): reused")
        return 0
    if args.dataset == "mimic4":
        groups = [group for value in args.groups for group in split_names(value)]
        if generate_mimic4(args.output, args.seed, groups):
            print(f"sample data written to {args.output}")
        else:
            print(f"sample data already in {args.output} (same seed and groups): reused")
        return 0
    if args.scale <= 0:
        parser.error("--scale must be positive")
    for workload in WORKLOADS if args.workload == "both" else (args.workload,):
        ensure_workload(args.data_dir, workload, args.scale)
    return 0


if __name__ == "__main__":
    sys.exit(main())
