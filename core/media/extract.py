"""Read what the library keeps about a file besides its vector: dimensions, dates, duration, text.

Every reader raises `ExtractionError` with a sentence a user can act on; nothing here writes (files
are only ever opened for reading). A file that is indexed but damaged (audio cut short) comes back
with `Extracted.warning` saying so.
"""

from __future__ import annotations

import contextlib
import struct
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PIL import Image

from core.media.audio_headers import (
    aiff_declared_frames, mp3_declares_length, ogg_ends_with_end_of_stream, riff_declared_frames,
)
from core.model.preprocess import FileContent, decode_error

Source = str | FileContent  # a file, or its bytes already read

MAX_NOTE_BYTES = 10 * 1024 * 1024
MAX_MEDIA_BYTES = 2 * 1024 * 1024 * 1024
# Audio shorter than this is refused. 100 ms is about the shortest sound a listener can name (a
# click, a clap, a single drum hit last tens of ms but are recorded with their decay); anything
# shorter fills under 5 of the 100 STFT frames of the audio trunk's 2.35 s block, so its vector is
# mostly the padding's and lands near every query (five-sample WAVs topped "people clapping").
MIN_AUDIO_SECONDS = 0.1
# Real audio rates run from 4 kHz (the lowest of old voice codecs and 5.5 kHz game/Mac sounds) to
# 768 kHz (the top rate of current interfaces and of ultrasonic bat recorders). A header outside
# that range contradicts its data: a 44.1 kHz recording whose header says 1 Hz is not 12 hours long.
MIN_SAMPLE_RATE = 4_000
MAX_SAMPLE_RATE = 768_000
# A file is called truncated when at least this much of what its header declares does not decode:
# less is inaudible and covers writers whose sizes are off by a few bytes or one MP3 frame.
TRUNCATION_MIN_MISSING_SECONDS = 0.1
EXIF_DATETIME_ORIGINAL = 0x9003
EXIF_DATETIME = 0x0132
EXIF_IFD = 0x8769


class ExtractionError(ValueError):
    pass


@dataclass
class Extracted:
    taken_at: float | None = None
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    text: str | None = None
    warning: str | None = None  # indexed, but something is wrong with the file (e.g. truncated)


def _sizes(size: int, limit: int) -> tuple[str, str]:
    """`size` and `limit` in the limit's binary unit, with as many decimals as it takes to tell
    them apart (bytes when even three do not)."""
    unit, scale = ("GiB", 2**30) if limit >= 2**30 else ("MiB", 2**20) if limit >= 2**20 else ("KiB", 2**10)
    limit_text = f"{limit / scale:g} {unit}"
    for decimals in (1, 2, 3):
        shown = f"{size / scale:.{decimals}f}"
        if float(shown) != limit / scale:
            return f"{shown} {unit}", limit_text
    return f"{size:,} bytes", f"{limit:,} bytes"


def _check_size(path: Source, limit: int) -> int:
    size = len(path.data) if isinstance(path, FileContent) else Path(path).stat().st_size
    if size == 0:
        raise ExtractionError("empty file (0 bytes)")
    if size > limit:
        shown, limit_shown = _sizes(size, limit)
        raise ExtractionError(f"file too large: {shown} (limit {limit_shown})")
    return size


def _exif_date(img: Image.Image) -> float | None:
    exif = img.getexif()
    raw = exif.get_ifd(EXIF_IFD).get(EXIF_DATETIME_ORIGINAL) or exif.get(EXIF_DATETIME)
    if not raw:
        return None
    try:
        return datetime.strptime(str(raw).strip("\x00 "), "%Y:%m:%d %H:%M:%S").timestamp()
    except ValueError:
        return None


def extract_image(path: Source) -> Extracted:
    _check_size(path, MAX_MEDIA_BYTES)
    try:
        with Image.open(path.open() if isinstance(path, FileContent) else path) as img:
            width, height = img.size
            taken_at = _exif_date(img)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ExtractionError(f"cannot decode image: {decode_error(exc, path)}") from exc
    return Extracted(taken_at=taken_at, width=width, height=height)


def _duration_text(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.1f} s"


def _decodable_frames(path: Source) -> int:
    """Frames that decode from the start before the end or the first decode error (decodes the file)."""
    from core.model.audio import decoded_blocks

    return sum(block.shape[0] for block in decoded_blocks(path))


def _tail_decodes(soundfile, path: Source, declared: int, rate: int) -> bool:
    """Seek to just before the declared end and read: cheap, and fails (an error, or nothing) when
    the file stops early (FLAC's STREAMINFO and MP3's Xing header declare more than is there)."""
    probe = max(1, min(declared, rate // 10))
    try:
        with soundfile.SoundFile(path.open() if isinstance(path, FileContent) else path) as f:
            f.seek(declared - probe)
            return f.read(frames=probe, dtype="float32").shape[0] >= probe // 2
    except (RuntimeError, soundfile.LibsndfileError, OSError, ValueError):
        return False


def _parsed(reader, *args):
    """A header reader's answer, or None (nothing known) when the header is too damaged to parse:
    libsndfile opened the file, so it is indexed; only the truncation check is skipped."""
    try:
        return reader(*args)
    except (struct.error, ValueError):
        return None


def _truncation(soundfile, path: Source, size: int, info) -> tuple[int, str | None]:
    """(frames that decode, a warning when the file is cut short, else None).

    How libsndfile 1.2 reports files cut to part of their bytes (measured on files cut to 40-50 %):
    WAV/AIFF: the data chunk is clamped to the bytes present, `frames` is what decodes and reading
    succeeds, so only the header (RIFF data size, AIFF COMM frames) shows the declared length.
    Ogg Vorbis/Opus: `frames` comes from the last page's granule and all of it decodes; nothing
    declares a length, but the last page lacks the end-of-stream flag. FLAC: `frames` is
    STREAMINFO's declared total; one read of the whole fails ("flac decoder lost sync"), block by
    block reads decode up to the cut. MP3 with a Xing/Info header: `frames` is declared, reads stop
    early; without one `frames` is an estimate from the file size and nothing is declared."""
    frames, rate = int(info.frames), int(info.samplerate)
    container = info.format.upper()
    declared = None
    if container in ("WAV", "WAVEX", "RF64"):
        declared = _parsed(riff_declared_frames, path, size, frames)
    elif container == "AIFF":
        declared = _parsed(aiff_declared_frames, path)
    elif container == "OGG":
        if _parsed(ogg_ends_with_end_of_stream, path, size) is False:
            return frames, (f"truncated: the stream breaks off after {frames / rate:.1f} s "
                            "(no end-of-stream mark; the rest of the file is missing)")
        return frames, None
    elif container == "MP3" and not _parsed(mp3_declares_length, path):
        if not _tail_decodes(soundfile, path, frames, rate):  # the size estimate overshoots (tags)
            frames = _decodable_frames(path)
        return frames, None
    elif not _tail_decodes(soundfile, path, frames, rate):
        declared, frames = frames, _decodable_frames(path)
    if declared is None or declared - frames < TRUNCATION_MIN_MISSING_SECONDS * rate:
        return frames, None
    said, got = declared / rate, frames / rate
    decimals = 1
    while f"{said:.{decimals}f}" == f"{got:.{decimals}f}" and decimals < 3:
        decimals += 1
    return frames, f"truncated: the header declares {said:.{decimals}f} s, only {got:.{decimals}f} s decode"


def extract_audio(path: Source) -> Extracted:
    size = _check_size(path, MAX_MEDIA_BYTES)
    import soundfile

    try:
        info = soundfile.info(path.open() if isinstance(path, FileContent) else path)
    except (RuntimeError, soundfile.LibsndfileError, OSError) as exc:
        raise ExtractionError(f"cannot decode audio: {decode_error(exc, path)}") from exc
    if info.frames <= 0 or info.samplerate <= 0:
        raise ExtractionError("audio file holds no samples")
    if not MIN_SAMPLE_RATE <= info.samplerate <= MAX_SAMPLE_RATE:
        raise ExtractionError(f"header says {info.samplerate:,} Hz sample rate, not a real audio rate "
                              f"(expected {MIN_SAMPLE_RATE:,}–{MAX_SAMPLE_RATE:,} Hz)")
    frames, warning = _truncation(soundfile, path, size, info)
    if frames <= 0:
        raise ExtractionError("audio file holds no samples that decode")
    duration = frames / info.samplerate
    if duration < MIN_AUDIO_SECONDS:
        raise ExtractionError(f"too short to hear: {_duration_text(duration)} "
                              f"(at least {MIN_AUDIO_SECONDS * 1000:.0f} ms needed)")
    return Extracted(duration=duration, warning=warning)


BOMS = [  # longest first: the UTF-32LE BOM starts with the UTF-16LE one
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
]


def _looks_binary(data: bytes) -> bool:
    sample = data[:8192]
    if b"\x00" in sample:
        return True
    control = sum(1 for byte in sample if byte < 32 and byte not in (9, 10, 12, 13))
    return control > len(sample) * 0.05


def _looks_like_text(text: str) -> bool:
    """Decoded text, not binary that happened to decode: no NULs, few control or unassigned-looking
    characters (replacement characters count against it too)."""
    sample = text[:8192]
    if not sample or "\x00" in sample:
        return False
    odd = sum(1 for char in sample if (ord(char) < 32 and char not in "\t\n\f\r") or char == "\ufffd"
              or 0xD800 <= ord(char) <= 0xDFFF or 0xE000 <= ord(char) <= 0xF8FF)
    return odd <= len(sample) * 0.05


def _utf16_without_bom(data: bytes) -> str | None:
    """'utf-16-le' or 'utf-16-be' when the NUL bytes say so: text mostly below U+0100 (Latin
    script, digits, spaces, newlines) in UTF-16 has a zero high byte in most characters, all on the
    same side, and (having no U+0000) hardly any on the other side."""
    sample = data[: 8192 - 8192 % 2]
    pairs = len(sample) // 2
    if pairs < 2:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if odd >= pairs * 0.25 and even <= pairs * 0.02:
        return "utf-16-le"
    if even >= pairs * 0.25 and odd <= pairs * 0.02:
        return "utf-16-be"
    return None


def _decode_note(data: bytes) -> str:
    for bom, encoding in BOMS:
        if data.startswith(bom):
            text = data[len(bom) :].decode(encoding, errors="replace")
            if _looks_like_text(text) or not text.strip():
                return text
            raise ExtractionError("not a text file (binary content)")
    encoding = _utf16_without_bom(data) if b"\x00" in data[:8192] else None
    if encoding:
        try:
            text = data[: len(data) - len(data) % 2].decode(encoding)
        except UnicodeDecodeError:
            text = None
        if text is not None and _looks_like_text(text):
            return text
    if _looks_binary(data):
        raise ExtractionError("not a text file (binary content)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")  # legacy Windows notes


def extract_text(path: Source) -> Extracted:
    _check_size(path, MAX_NOTE_BYTES)
    text = _decode_note(path.data if isinstance(path, FileContent) else Path(path).read_bytes())
    if not text.strip():
        raise ExtractionError("note is empty")
    return Extracted(text=text)


EXTRACTORS = {"image": extract_image, "audio": extract_audio, "text": extract_text}


@contextlib.contextmanager
def reading_errors():
    """File-system errors while reading a file, as ExtractionErrors a user can act on."""
    try:
        yield
    except FileNotFoundError:
        raise ExtractionError("file disappeared before it could be read") from None
    except PermissionError:
        raise ExtractionError("cannot read: permission denied") from None
    except IsADirectoryError:
        raise ExtractionError("is a folder, not a file") from None


def extract(kind: str, path: Source) -> Extracted:
    """What the library keeps about a file of `kind` (given by its path, or as its bytes already
    read: `FileContent`); raises ExtractionError with a sentence a user can act on."""
    with reading_errors():
        return EXTRACTORS[kind](path)
