"""Standard signal names: the documented table, matched ignoring case, spaces and underscores."""

from __future__ import annotations

import pytest

from steps.combine.signal_names import (
    NUMERICS_NAMES,
    STANDARD_NAMES,
    standard_signal_name,
    standardise_signals,
)
from tests.paths import ROOT

STEPS_DOC = ROOT / "docs" / "steps.md"


@pytest.mark.parametrize(
    ("name", "kind", "standard"),
    [
        ("II", "waveform", "ECG_II"),
        ("ECG II", "waveform", "ECG_II"),
        ("ecg_ii", "waveform", "ECG_II"),
        ("V", "waveform", "ECG_V"),
        ("ECG V", "waveform", "ECG_V"),
        ("I", "waveform", "ECG_I"),
        ("III", "waveform", "ECG_III"),
        ("AVR", "waveform", "ECG_AVR"),
        ("aVL", "waveform", "ECG_AVL"),
        ("AVF", "waveform", "ECG_AVF"),
        ("MCL", "waveform", "ECG_MCL"),
        ("ABP", "waveform", "ABP"),
        ("ART", "waveform", "ABP"),
        ("PLETH", "waveform", "PPG"),
        ("RESP", "waveform", "RESP"),
        ("RESP", "numerics", "RESP_RATE"),  # breaths per minute in a numerics record
        ("CVP", "waveform", "CVP"),
        ("PAP", "waveform", "PAP"),
        ("ICP", "waveform", "ICP"),
        ("UAP", "waveform", "UAP"),
        ("HR", "numerics", "HR"),
        ("PULSE", "numerics", "PULSE"),
        ("SpO2", "numerics", "SPO2"),
        ("%SpO2", "numerics", "SPO2"),
        ("NBPSys", "numerics", "NBP_SYS"),
        ("NBP Sys", "numerics", "NBP_SYS"),
        (" nbp  sys ", "numerics", "NBP_SYS"),
        ("ABP Mean", "numerics", "ABP_MEAN"),
        ("ST II", "numerics", "ST_II"),
    ],
)
def test_documented_spellings_map_to_their_standard_name(name: str, kind: str, standard: str) -> None:
    assert standard_signal_name(name, kind) == standard


@pytest.mark.parametrize("standard", list(STANDARD_NAMES))
def test_a_standard_name_is_its_own_standard_name(standard: str) -> None:
    assert standard_signal_name(standard, "waveform") == standard
    assert standard_signal_name(standard.lower(), "waveform") == standard


def test_numerics_names_are_their_own_standard_names() -> None:
    assert all(standard_signal_name(name, "numerics") == name for name in NUMERICS_NAMES)


def test_unknown_names_are_kept_as_they_are_and_counted() -> None:
    names, unknown = standardise_signals(
        ["II", "Foo Lead", "pleth", "Foo Lead", "", "RESP"],
        ["waveform", "waveform", "waveform", "waveform", "waveform", "numerics"],
    )
    assert names == ["ECG_II", "Foo Lead", "PPG", "Foo Lead", "", "RESP_RATE"]
    assert unknown == {"Foo Lead": 2, "": 1}


def test_the_docs_list_every_standard_name() -> None:
    section = STEPS_DOC.read_text().split("## The combine step", 1)[1].split("\n## ", 1)[0]
    missing = [name for name in [*STANDARD_NAMES, *NUMERICS_NAMES] if f"`{name}`" not in section]
    assert not missing, f"docs/steps.md's combine section lacks {missing}"
