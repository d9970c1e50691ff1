"""``make run``: generate the sample dataset if absent, then run the extract step on every group folder.

The same step code and arguments as the SageMaker Processing jobs; outputs under ``<output>/groups/<group>/``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.generate_sample_data import generate
from steps.extract import extract_group as extract_step


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample-dir", type=Path, default=Path("sample-data"))
    parser.add_argument("--output-dir", type=Path, default=Path("output"))
    parser.add_argument("--size-mb", type=float, default=30.0)
    args = parser.parse_args(argv)
    print(f"sample data: {generate(args.sample_dir, args.size_mb)}")
    failed = 0
    for group_dir in sorted(p for p in args.sample_dir.iterdir() if p.is_dir()):
        output = args.output_dir / "groups" / group_dir.name
        step_args = ["--input-dir", str(group_dir), "--output-dir", str(output), "--group", group_dir.name]
        failed += extract_step.main(step_args) != 0
    print(f"features, errors and summaries per group under {args.output_dir / 'groups'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
