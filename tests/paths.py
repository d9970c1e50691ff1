"""Where the tests find the project and the real MIMIC-III records (data/mimic3wdb-real/PROVENANCE.md)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REAL_DATA = ROOT / "tests" / "data" / "mimic3wdb-real"
