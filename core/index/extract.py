"""Read what the library keeps about a file besides its vector: dimensions, dates, duration, text.

Every reader raises `ExtractionError` with a sentence a user can act on; nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PIL import Image

MAX_NOTE_BYTES = 10 * 1024 * 1024
MAX_MEDIA_BYTES = 2 * 1024 * 1024 * 1024
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


def _check_size(path: str, limit: int) -> int:
    size = Path(path).stat().st_size
    if size == 0:
        raise ExtractionError("empty file (0 bytes)")
    if size > limit:
        raise ExtractionError(f"file too large ({size / 2**20:.0f} MB; limit {limit / 2**20:.0f} MB)")
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


def extract_image(path: str) -> Extracted:
    _check_size(path, MAX_MEDIA_BYTES)
    try:
        with Image.open(path) as img:
            width, height = img.size
            taken_at = _exif_date(img)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ExtractionError(f"cannot decode image: {exc}") from exc
    return Extracted(taken_at=taken_at, width=width, height=height)


def extract_audio(path: str) -> Extracted:
    _check_size(path, MAX_MEDIA_BYTES)
    import soundfile

    try:
        info = soundfile.info(path)
    except (RuntimeError, soundfile.LibsndfileError, OSError) as exc:
        raise ExtractionError(f"cannot decode audio: {exc}") from exc
    if info.frames <= 0 or info.samplerate <= 0:
        raise ExtractionError("audio file holds no samples")
    return Extracted(duration=info.frames / info.samplerate)


def _looks_binary(data: bytes) -> bool:
    sample = data[:8192]
    if b"\x00" in sample:
        return True
    control = sum(1 for byte in sample if byte < 32 and byte not in (9, 10, 12, 13))
    return control > len(sample) * 0.05


def extract_text(path: str) -> Extracted:
    _check_size(path, MAX_NOTE_BYTES)
    data = Path(path).read_bytes()
    if _looks_binary(data):
        raise ExtractionError("not a text file (binary content)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")  # legacy Windows notes
    if not text.strip():
        raise ExtractionError("note is empty")
    return Extracted(text=text)


EXTRACTORS = {"image": extract_image, "audio": extract_audio, "text": extract_text}


def extract(kind: str, path: str) -> Extracted:
    try:
        return EXTRACTORS[kind](path)
    except FileNotFoundError:
        raise ExtractionError("file disappeared before it could be read") from None
    except PermissionError:
        raise ExtractionError("cannot read: permission denied") from None
    except IsADirectoryError:
        raise ExtractionError("is a folder, not a file") from None
