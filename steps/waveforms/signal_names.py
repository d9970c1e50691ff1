"""Standard signal names: one spelling per quantity, whatever the monitor called it.

Names match ignoring case, spaces and underscores (``NBP Sys`` = ``NBPSys`` = ``nbp_sys``); a standard name
maps to itself. A name in neither table is kept as it is, and the caller counts it as unknown.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

# standard name: the spellings seen in MIMIC-III headers (waveform and numerics records alike)
STANDARD_NAMES: Mapping[str, tuple[str, ...]] = {
    # ECG leads
    "ECG_I": ("I", "ECG I"),
    "ECG_II": ("II", "ECG II"),
    "ECG_III": ("III", "ECG III"),
    "ECG_V": ("V", "ECG V"),
    "ECG_AVR": ("AVR", "aVR", "ECG AVR"),
    "ECG_AVL": ("AVL", "aVL", "ECG AVL"),
    "ECG_AVF": ("AVF", "aVF", "ECG AVF"),
    "ECG_MCL": ("MCL", "ECG MCL"),
    "ECG_MCL1": ("MCL1", "ECG MCL1"),
    # pressures, photoplethysmogram, respiration (waveforms; a numerics record's CVP/ICP/... is a mean)
    "ABP": ("ABP", "ART", "ArtBP"),
    "PAP": ("PAP",),
    "CVP": ("CVP",),
    "ICP": ("ICP",),
    "UAP": ("UAP",),
    "UVP": ("UVP",),
    "LAP": ("LAP",),
    "RAP": ("RAP",),
    "FAP": ("FAP",),
    "CPP": ("CPP",),
    "PPG": ("PLETH", "PPG"),
    "RESP": ("RESP",),
    # numerics: rates, saturation, pressures systolic / diastolic / mean
    "HR": ("HR",),
    "PULSE": ("PULSE",),
    "SPO2": ("SpO2", "%SpO2"),
    "NBP_SYS": ("NBPSys", "NBP Sys"),
    "NBP_DIAS": ("NBPDias", "NBP Dias"),
    "NBP_MEAN": ("NBPMean", "NBP Mean"),
    "ABP_SYS": ("ABPSys", "ABP Sys", "ARTSys", "ART Sys"),
    "ABP_DIAS": ("ABPDias", "ABP Dias", "ARTDias", "ART Dias"),
    "ABP_MEAN": ("ABPMean", "ABP Mean", "ARTMean", "ART Mean"),
    "PAP_SYS": ("PAPSys", "PAP Sys"),
    "PAP_DIAS": ("PAPDias", "PAP Dias"),
    "PAP_MEAN": ("PAPMean", "PAP Mean"),
    "UAP_SYS": ("UAPSys", "UAP Sys"),
    "UAP_DIAS": ("UAPDias", "UAP Dias"),
    "UAP_MEAN": ("UAPMean", "UAP Mean"),
    "ST_I": ("ST I", "STI"),
    "ST_II": ("ST II", "STII"),
    "ST_III": ("ST III", "STIII"),
    "ST_V": ("ST V", "STV"),
    "ST_AVR": ("ST AVR", "ST aVR"),
    "ST_AVL": ("ST AVL", "ST aVL"),
    "ST_AVF": ("ST AVF", "ST aVF"),
    "TEMP": ("Temp", "TEMP"),
    "TBLOOD": ("Tblood",),
    "PERF": ("Perf",),
}

# In a numerics record the same spelling can mean another quantity: RESP there is breaths per minute.
NUMERICS_NAMES: Mapping[str, tuple[str, ...]] = {
    "RESP_RATE": ("RESP",),
}


def name_key(name: str) -> str:
    """What a name is matched on: upper case, without spaces or underscores."""
    return "".join(name.split()).replace("_", "").upper()


def _lookup(table: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    lookup: dict[str, str] = {}
    for standard, spellings in table.items():
        for spelling in (standard, *spellings):
            key = name_key(spelling)
            if lookup.setdefault(key, standard) != standard:
                raise ValueError(f"signal name {spelling!r} would mean both {lookup[key]} and {standard}")
    return lookup


_ANY_KIND = _lookup(STANDARD_NAMES)
_NUMERICS = _lookup(NUMERICS_NAMES)


def standard_signal_name(name: str, kind: str) -> str | None:
    """The standard name of a signal of a ``waveform`` or ``numerics`` record, or None if not in the tables."""
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
