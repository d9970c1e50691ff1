"""Fixtures for every test: the moto server (``aws``) and the real MIMIC-III records (``real_data``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.aws import aws  # noqa: F401 — the moto server fixture, for every test module

REAL_DATA = Path(__file__).parent / "data" / "mimic3wdb-real"


@pytest.fixture
def real_data() -> Path:
    return REAL_DATA
