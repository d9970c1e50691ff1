"""Standard signal names: one spelling per quantity, whatever the monitor called it.

Names match ignoring case, spaces and underscores (``NBP Sys`` = ``NBPSys`` = ``nbp_sys``); a standard name
maps to itself. A name in neither table is kept as it is, and the caller counts it as unknown.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

# standard name: its other spellings in MIMIC-III headers (the standard name itself always matches, so
# "ECG II" needs no entry: it matches ECG_II)
STANDARD_NAMES: Mapping[str, tuple[str, ...]] = {
    # ECG leads
    "ECG_I": ("I",),
    "ECG_II": ("II",),
    "ECG_III": ("III",),
    "ECG_V": ("V",),
    "ECG_AVR": ("AVR",),
    "ECG_AVL": ("AVL",),
    "ECG_AVF": ("AVF",),
    "ECG_MCL": ("MCL",),
    "ECG_MCL1": ("MCL1",),
    # pressures, photoplethysmogram, respiration (in a numerics record, CVP, ICP, ... are mean pressures)
    "ABP": ("ART", "ArtBP"),
    "PAP": (),
    "CVP": (),
    "ICP": (),
    "UAP": (),
    "UVP": (),
    "LAP": (),
    "RAP": (),
    "FAP": (),
    "CPP": (),
    "PPG": ("PLETH",),
    "RESP": (),
    # numerics: rates, saturation, pressures systolic / diastolic / mean, ST segments, temperatures
    "HR": (),
    "PULSE": (),
    "SPO2": ("%SpO2",),
    "NBP_SYS": (),
    "NBP_DIAS": (),
    "NBP_MEAN": (),
    "ABP_SYS": ("ART Sys",),
    "ABP_DIAS": ("ART Dias",),
    "ABP_MEAN": ("ART Mean",),
    "PAP_SYS": (),
    "PAP_DIAS": (),
    "PAP_MEAN": (),
    "UAP_SYS": (),
    "UAP_DIAS": (),
    "UAP_MEAN": (),
    "ST_I": (),
    "ST_II": (),
    "ST_III": (),
    "ST_V": (),
    "ST_AVR": (),
    "ST_AVL": (),
    "ST_AVF": (),
    "TEMP": (),
    "TBLOOD": (),
    "PERF": (),
}

# In a numerics record the same spelling can mean another quantity: RESP there is breaths per minute.
NUMERICS_NAMES: Mapping[str, tuple[str, ...]] = {
    "RESP_RATE": ("RESP",),
}


def name_key(name: str) -> str:
    """What a name is matched on: upper case, without spaces or underscores."""
    return "".join(name.split()).replace("_", "").upper()


def _lookup(table: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    """Key -> standard name; a spelling listed twice, or meaning two names, is a mistake in the table."""
    lookup: dict[str, str] = {}
    for standard, spellings in table.items():
        for spelling in (standard, *spellings):
            key = name_key(spelling)
            if key in lookup:
                raise ValueError(f"signal name {spelling!r} is already a spelling of {lookup[key]}")
            lookup[key] = standard
    return lookup


_ANY_KIND = _lookup(STANDARD_NAMES)
_NUMERICS = _lookup(NUMERICS_NAMES)


def standard_signal_name(name: str, kind: str) -> str | None:
    """The standard name of a signal of a ``waveform`` or ``numerics`` record; None if not in the tables."""
    key = name_key(name)
    if kind == "numerics" and key in _NUMERICS:
        return _NUMERICS[key]
    return _ANY_KIND.get(key)


def standardise_signals(names: Sequence[str], kinds: Iterable[str]) -> tuple[list[str], Counter[str]]:
    """Standard names for rows of (name, kind), unknown names kept as they are; and rows per unknown name."""
    known: dict[tuple[str, str], str | None] = {}
    standard: list[str] = []
    unknown: Counter[str] = Counter()
    for name, kind in zip(names, kinds, strict=True):
        pair = (name, kind)
        if pair not in known:
            known[pair] = standard_signal_name(name, kind)
        found = known[pair]
        if found is None:
            unknown[name] += 1
        standard.append(name if found is None else found)
    return standard, unknown
