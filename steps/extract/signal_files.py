"""Reading WFDB signal files in blocks of frames, each signal's samples apart, as digital samples or as
histogram bins. A signal of k samples per frame gives k samples a frame, in order; skew is the summary's
business (``signal_summary``), the reader gives the file's frames as they are.

The hot formats of MIMIC-III (80 and 16) and the other byte-aligned formats are decoded here with numpy,
straight from the file into a reused buffer: ``wfdb.rdrecord`` would allocate every sample as int and then
float64, and cannot stream. The bit-packed (212, 310, 311) and FLAC (508, 516, 524) formats are read by
``wfdb.rdrecord(physical=False)`` one block of frames at a time. ``tests/steps/test_formats.py`` checks every
format against ``wfdb.rdrecord``.
"""

from __future__ import annotations

import math
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import (
    CorruptSignalError,
    EmptyFileError,
    MissingFileError,
    SignalCountMismatchError,
    TruncatedSignalError,
    UnreadableFileError,
    UnsupportedFormatError,
)
from .header import RecordHeader, SignalSpec
from .wfdb_spec import BIT_RES, BYTES_PER_SAMPLE, INVALID_SAMPLE_VALUE, SAMPLE_VALUE_RANGE

# Bytes per read: bounds a worker's memory whatever the record length. Small enough that a block's bincount
# temporaries (8 bytes a sample) stay in cache: with 4 MB blocks two workers contended for the shared L3 and
# reached 74 % parallel efficiency on this 2-core machine; with 1 MB blocks, 97 %.
BLOCK_BYTES = 1 << 20

# Byte-aligned formats decoded here: numpy dtype of one stored sample.
ALIGNED_DTYPES = {"80": "u1", "16": "<i2", "61": ">i2", "160": "<u2", "24": "u1", "32": "<i4", "8": "i1"}
# Formats read through wfdb one block at a time.
WFDB_READ_FORMATS = {"212", "310", "311", "508", "516", "524"}
FLAC_FORMATS = {"508", "516", "524"}
SUPPORTED_FORMATS = set(ALIGNED_DTYPES) | WFDB_READ_FORMATS


def format_bits(fmt: str) -> int:
    return int(BIT_RES[fmt])


def format_low(fmt: str) -> int:
    """The lowest digital value of the format; WFDB's invalid-sample code where the format has one."""
    return int(SAMPLE_VALUE_RANGE[fmt][0])


def invalid_value(fmt: str) -> int | None:
    value = INVALID_SAMPLE_VALUE[fmt]
    return None if value is None else int(value)


def zero_value(fmt: str) -> int:
    """The digital value wfdb decodes from zero bytes (what it reads past a file's end for a skewed signal):
    the offset-binary formats' lowest value, else 0."""
    return {"80": -(2**7), "160": -(2**15)}.get(fmt, 0)


def value_bits(fmt: str) -> int:
    """Bits the decoded digital values can span: format 8 stores 8-bit differences of 32-bit values."""
    return 32 if fmt == "8" else format_bits(fmt)


def is_narrow(fmt: str) -> bool:
    """Summarised from one histogram in one pass (and so splittable into frame ranges)."""
    return fmt in SUPPORTED_FORMATS and value_bits(fmt) <= 16


@dataclass(frozen=True)
class SignalFile:
    """The signals of one record that are stored in one signal file, in file order."""

    path: Path
    fmt: str
    signals: tuple[SignalSpec, ...]
    byte_offset: int

    @property
    def n_sig(self) -> int:
        return len(self.signals)

    @property
    def samples_per_frame(self) -> int:
        """Samples a frame of the file holds, all its signals together."""
        return sum(spec.samps_per_frame for spec in self.signals)

    @property
    def frame_bytes(self) -> float:
        return BYTES_PER_SAMPLE[self.fmt] * self.samples_per_frame


def signal_files_of(header: RecordHeader, folder: Path) -> list[SignalFile]:
    """Group a record's signals by the file that stores them; reject what cannot be read exactly."""
    by_name: dict[str, list[SignalSpec]] = {}
    for spec in header.signals:
        if not spec.stored_in_file:
            continue
        if spec.fmt not in SUPPORTED_FORMATS:
            raise UnsupportedFormatError(
                f"signal {spec.index} ({spec.name}) has unknown WFDB format {spec.fmt!r}"
            )
        if spec.samps_per_frame < 1:
            raise UnsupportedFormatError(
                f"signal {spec.index} ({spec.name}) has {spec.samps_per_frame} samples per frame"
            )
        if (
            spec.skew and spec.fmt == "8"
        ):  # wfdb marks skew's samples invalid, and format 8 has no invalid code
            raise UnsupportedFormatError(
                f"signal {spec.index} ({spec.name}) has skew {spec.skew} in format 8, which wfdb cannot read"
            )
        by_name.setdefault(spec.file_name, []).append(spec)
    files = []
    for name, specs in by_name.items():
        formats = {s.fmt for s in specs}
        offsets = {s.byte_offset for s in specs}
        if len(formats) != 1 or len(offsets) != 1:
            raise UnsupportedFormatError(f"signals of {name} disagree on format or byte offset")
        if specs[0].fmt in FLAC_FORMATS and len({spec.samps_per_frame for spec in specs}) > 1:
            raise UnsupportedFormatError(
                f"signals of {name} (FLAC) differ in samples per frame, which a FLAC signal file cannot hold"
            )
        files.append(SignalFile(folder / name, specs[0].fmt, tuple(specs), specs[0].byte_offset))
    return files


def expected_bytes(signal_file: SignalFile, sig_len: int) -> int | None:
    """Bytes the file must hold for ``sig_len`` frames (None for FLAC, whose size says nothing)."""
    fmt = signal_file.fmt
    if fmt in FLAC_FORMATS:
        return None
    flat = sig_len * signal_file.samples_per_frame
    if fmt == "212":
        data = math.ceil(flat * 1.5)
    elif fmt in {"310", "311"}:
        data = math.ceil(flat * 4 / 3)
    else:
        data = flat * int(BYTES_PER_SAMPLE[fmt])
    return signal_file.byte_offset + data


def checked_length(signal_file: SignalFile, sig_len: int | None) -> tuple[int, int]:
    """The record's length in frames and the file's size, after checking the size agrees with the header."""
    try:
        status = os.stat(signal_file.path)
    except FileNotFoundError as exc:
        raise MissingFileError(f"signal file {signal_file.path.name} is missing") from exc
    except OSError as exc:
        raise UnreadableFileError(f"cannot read {signal_file.path.name}: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(status.st_mode):
        raise UnreadableFileError(f"cannot read {signal_file.path.name}: not a regular file")
    return _frames_held(signal_file, sig_len, status.st_size), status.st_size


def _frames_held(signal_file: SignalFile, sig_len: int | None, size: int) -> int:
    if size == 0 and sig_len != 0:
        raise EmptyFileError(f"signal file {signal_file.path.name} is empty (0 bytes)")
    if signal_file.fmt in FLAC_FORMATS:
        if sig_len is None:
            raise UnsupportedFormatError(f"{signal_file.path.name}: FLAC record without a signal length")
        return sig_len
    per_frame = signal_file.frame_bytes
    if sig_len is None:
        if size <= signal_file.byte_offset:
            raise TruncatedSignalError(
                f"{signal_file.path.name} holds {size} bytes, no samples after its byte offset "
                f"{signal_file.byte_offset}, and the header gives no length"
            )
        frames = (size - signal_file.byte_offset) / per_frame
        if frames != int(frames):
            raise SignalCountMismatchError(
                f"{signal_file.path.name} holds {size} bytes, not a whole number of "
                f"{signal_file.samples_per_frame}-sample "
                f"frames in format {signal_file.fmt}: the header's signal count disagrees with the file"
            )
        return int(frames)
    need = expected_bytes(signal_file, sig_len)
    assert need is not None
    slack = 0 if signal_file.fmt in ALIGNED_DTYPES else 4  # bit-packed formats may pad their last block
    if size != need and sig_len > 0 and signal_file.fmt in ALIGNED_DTYPES:
        per_sample = sig_len * int(BYTES_PER_SAMPLE[signal_file.fmt])  # a sample of every frame
        held, remainder = divmod(size - signal_file.byte_offset, per_sample)
        if remainder == 0 and held != signal_file.samples_per_frame:
            held_text = (
                f"{held} signals x {sig_len} samples"
                if signal_file.samples_per_frame == signal_file.n_sig
                else f"{held} samples a frame x {sig_len} frames"
            )
            raise SignalCountMismatchError(
                f"{signal_file.path.name} holds exactly {held_text} in format "
                f"{signal_file.fmt}, but the header stores {_stored(signal_file)} in it"
            )
    if size < need:
        raise TruncatedSignalError(
            f"{signal_file.path.name} holds {size} bytes; {_stored(signal_file)} x {sig_len} samples "
            f"in format {signal_file.fmt} need {need}: the file is truncated"
        )
    if size > need + slack:
        raise SignalCountMismatchError(
            f"{signal_file.path.name} holds {size} bytes but {_stored(signal_file)} x {sig_len} samples "
            f"in format {signal_file.fmt} fill {need}: the header's signal count or length disagrees "
            "with the file"
        )
    return sig_len


def _stored(signal_file: SignalFile) -> str:
    """What a frame of the file holds, as messages say it: "2 signals", "3 signals (6 samples a frame)"."""
    signals = f"{signal_file.n_sig} signal{'s' if signal_file.n_sig != 1 else ''}"
    if signal_file.samples_per_frame == signal_file.n_sig:
        return signals
    return f"{signals} ({signal_file.samples_per_frame} samples a frame)"


def iter_blocks(
    signal_file: SignalFile, header_path: Path, frame_start: int, frame_end: int
) -> Iterator[list[np.ndarray]]:
    """Yield, for consecutive blocks of frames covering ``[frame_start, frame_end)``, each signal's samples
    in those frames (a 1-D array per signal, in file order; k per frame for k samples per frame).

    For narrow formats the values are histogram bins, ``d - format_low``; for wide ones (8, 24, 32, 524)
    they are the digital samples themselves, as int64. An array may be a view of a buffer that the next
    block reuses: consume it (or copy it) before asking for the next.
    """
    if signal_file.fmt in ALIGNED_DTYPES:
        yield from _aligned_blocks(signal_file, frame_start, frame_end)
    else:
        yield from _wfdb_blocks(signal_file, header_path, frame_start, frame_end)


def _by_signal(signal_file: SignalFile, frames: np.ndarray) -> list[np.ndarray]:
    """Each signal's samples of a block of frames, ``frames`` holding a row a frame."""
    if signal_file.n_sig == 1:
        return [frames.reshape(-1)]
    signals = []
    column = 0
    for spec in signal_file.signals:
        width = spec.samps_per_frame
        signals.append(frames[:, column : column + width].reshape(-1))
        column += width
    return signals


def _frames_per_block(frame_bytes: float) -> int:
    return max(1, int(BLOCK_BYTES // max(frame_bytes, 1)))


def _aligned_blocks(signal_file: SignalFile, frame_start: int, frame_end: int) -> Iterator[list[np.ndarray]]:
    fmt = signal_file.fmt
    width = signal_file.samples_per_frame
    dtype = np.dtype(ALIGNED_DTYPES[fmt])
    sample_bytes = 3 if fmt == "24" else dtype.itemsize
    frame_bytes = sample_bytes * width
    block_frames = _frames_per_block(frame_bytes)
    buffer = bytearray(min(block_frames, max(frame_end - frame_start, 1)) * frame_bytes)
    view = memoryview(buffer)
    carry = None
    if fmt == "8":  # first differences: absolute values need every frame before, and the initial values
        if frame_start != 0:
            raise CorruptSignalError("format 8 can only be read from its first frame")
        carry = [s.init_value or 0 for s in signal_file.signals]
    try:
        handle = open(signal_file.path, "rb")  # noqa: SIM115 — closed in the finally below, across yields
    except OSError as exc:
        raise UnreadableFileError(f"cannot read {signal_file.path.name}: {exc.strerror or exc}") from exc
    try:
        handle.seek(signal_file.byte_offset + frame_start * frame_bytes)
        frame = frame_start
        while frame < frame_end:
            frames = min(block_frames, frame_end - frame)
            want = frames * frame_bytes
            got = handle.readinto(view[:want])
            if got != want:
                raise TruncatedSignalError(
                    f"{signal_file.path.name} ended early: {got} of {want} bytes at frame {frame}"
                )
            raw = np.frombuffer(
                buffer, dtype=np.uint8 if fmt == "24" else dtype, count=want // dtype.itemsize
            )
            if carry is None:
                yield _by_signal(signal_file, _decode_aligned(fmt, raw, width))
            else:
                yield _accumulated(_by_signal(signal_file, raw.reshape(-1, width)), carry)
            frame += frames
    finally:
        handle.close()


def _decode_aligned(fmt: str, raw: np.ndarray, width: int) -> np.ndarray:
    """A block of frames, a row a frame: histogram bins (narrow formats) or digital samples (24, 32)."""
    if fmt == "80":
        return raw.reshape(-1, width)  # offset binary: the stored byte is already d + 128
    if fmt == "160":
        return raw.reshape(-1, width)  # offset binary: d + 32768
    if fmt in {"16", "61"}:
        # Two's complement to offset binary: flipping the sign bit adds 32768.
        native = raw.astype("<i2", copy=False) if fmt == "61" else raw
        return (native.view(np.uint16) ^ np.uint16(0x8000)).reshape(-1, width)
    if fmt == "32":
        return raw.astype(np.int64).reshape(-1, width)
    if fmt == "24":
        triplets = raw.reshape(-1, 3).astype(np.int64)
        value = triplets[:, 0] | (triplets[:, 1] << 8) | (triplets[:, 2] << 16)
        value -= (value & 0x800000) << 1  # sign-extend 24 bits
        return value.reshape(-1, width)
    raise UnsupportedFormatError(f"format {fmt} is not byte-aligned")


def _accumulated(differences: list[np.ndarray], carry: list[int]) -> list[np.ndarray]:
    """Format 8: each signal's absolute samples from its first differences, continuing from ``carry`` (the
    last absolute value of each signal so far, updated)."""
    signals = []
    for index, difference in enumerate(differences):
        absolute = np.cumsum(difference.astype(np.int64)) + carry[index]
        # wfdb accumulates in int32; wrap the same way so a pathological file reads as wfdb reads it.
        absolute = absolute.astype(np.int32).astype(np.int64)
        if len(absolute):
            carry[index] = int(absolute[-1])
        signals.append(absolute)
    return signals


def _wfdb_blocks(
    signal_file: SignalFile, header_path: Path, frame_start: int, frame_end: int
) -> Iterator[list[np.ndarray]]:
    import wfdb  # only the bit-packed and FLAC formats need wfdb's reader

    fmt = signal_file.fmt
    narrow = is_narrow(fmt)
    low = format_low(fmt)
    channels = [spec.index for spec in signal_file.signals]
    block_frames = max(1, _frames_per_block(max(signal_file.frame_bytes, 2 * signal_file.samples_per_frame)))
    record_path = str(header_path.with_suffix(""))
    frame = frame_start
    while frame < frame_end:
        stop = min(frame + block_frames, frame_end)
        try:
            record = wfdb.rdrecord(
                record_path,
                sampfrom=frame,
                sampto=stop,
                channels=channels,
                physical=False,
                smooth_frames=False,
                ignore_skew=True,  # the summary applies skew to the file's frames, as wfdb does
                return_res=32,
            )
        except (ValueError, RuntimeError, OSError, KeyError, IndexError) as exc:
            raise CorruptSignalError(
                f"{signal_file.path.name}: wfdb cannot read format {fmt}: {exc}"
            ) from exc
        signals = []
        for spec, samples in zip(signal_file.signals, record.e_d_signal, strict=True):
            digital = np.asarray(samples, dtype=np.int64)
            if len(digital) != (stop - frame) * spec.samps_per_frame:
                raise TruncatedSignalError(
                    f"{signal_file.path.name} ended early: {len(digital) // spec.samps_per_frame} of "
                    f"{stop - frame} frames at frame {frame}"
                )
            signals.append(digital - low if narrow else digital)
        yield signals
        frame = stop
