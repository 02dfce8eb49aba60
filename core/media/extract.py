"""Read what the library keeps about a file besides its vector: dimensions, dates, duration, text.

Every reader raises `ExtractionError` with a sentence a user can act on; nothing here writes (files
are only ever opened for reading). A file that is indexed but damaged (audio cut short) comes back
with `Extracted.warning` saying so.
"""

from __future__ import annotations

import contextlib
import re
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from core.media.audio_headers import (
    aiff_declared_frames, mp3_declares_length, mp4_lacks_index, ogg_ends_with_end_of_stream, riff_declared_frames,
)
from core.media.exif import photo_facts
from core.media.notes_formats import BINARY_READERS, MARKUP_READERS, NoteFormatError
from core.media.ocr import text_in_picture
from core.media.text_decoding import decode_note
from core.media.tags import audio_tags
from core.model.preprocess import SVG_EXTENSIONS, FileContent, UnreadableInput, decode_error, open_image

Source = str | FileContent  # a file, or its bytes already read

MAX_NOTE_BYTES = 10 * 1024 * 1024
MAX_DOCUMENT_BYTES = 200 * 1024 * 1024  # PDF, Word, OpenDocument: mostly the pictures inside
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
# An SVG is XML parsed whole and then rendered: a drawing larger than this is not a drawing.
MAX_SVG_BYTES = 20 * 1024 * 1024


# Containers libsndfile does not read: only FFmpeg's word on them is worth showing.
FFMPEG_FORMATS = frozenset({".m4a", ".m4b", ".aac", ".mp4", ".3gp", ".wma", ".webm", ".mka"})


def _extension(path: Source) -> str:
    return Path(path.path if isinstance(path, FileContent) else path).suffix.lower()


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
    camera: str | None = None  # a photo's EXIF make and model
    latitude: float | None = None  # where a photo was taken (EXIF GPS), decimal degrees
    longitude: float | None = None


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


def extract_image(path: Source) -> Extracted:
    size = _check_size(path, MAX_MEDIA_BYTES)
    if _extension(path) in SVG_EXTENSIONS and size > MAX_SVG_BYTES:
        shown, limit_shown = _sizes(size, MAX_SVG_BYTES)
        raise ExtractionError(f"drawing too large: {shown} of SVG (limit {limit_shown})")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # refused just below
            with open_image(path) as img:
                if img.width * img.height > Image.MAX_IMAGE_PIXELS:  # Pillow only warns up to twice that
                    raise Image.DecompressionBombError(
                        f"{img.width}×{img.height} pixels ({img.width * img.height / 1e6:.0f} megapixels)")
                facts = photo_facts(img)
    except Image.DecompressionBombError as exc:
        raise ExtractionError(f"image too large to decode safely: {_pixels(exc)} "
                              f"(limit {Image.MAX_IMAGE_PIXELS / 1e6:.0f} megapixels)") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ExtractionError(f"cannot decode image: {decode_error(exc, path)}") from exc
    return Extracted(taken_at=facts.taken_at, width=facts.width, height=facts.height, camera=facts.camera,
                     latitude=facts.latitude, longitude=facts.longitude, text=text_in_picture(path))


def _pixels(bomb: Exception) -> str:
    """Pillow's "Image size (400000000 pixels) exceeds limit…" as "400 megapixels"."""
    numbers = re.findall(r"\((\d+) pixels\)", str(bomb))
    return f"{int(numbers[0]) / 1e6:.0f} megapixels" if numbers else str(bomb)


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


def _check_rate(rate: int) -> None:
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise ExtractionError(f"header says {rate:,} Hz sample rate, not a real audio rate "
                              f"(expected {MIN_SAMPLE_RATE:,}–{MAX_SAMPLE_RATE:,} Hz)")


def _check_duration(duration: float) -> None:
    if duration < MIN_AUDIO_SECONDS:
        raise ExtractionError(f"too short to hear: {_duration_text(duration)} "
                              f"(at least {MIN_AUDIO_SECONDS * 1000:.0f} ms needed)")


def _audio_by_libsndfile(soundfile, path: Source, size: int, info) -> tuple[float, str | None]:
    if info.frames <= 0 or info.samplerate <= 0:
        raise ExtractionError("audio file holds no samples")
    _check_rate(info.samplerate)
    frames, warning = _truncation(soundfile, path, size, info)
    if frames <= 0:
        raise ExtractionError("audio file holds no samples that decode")
    return frames / info.samplerate, warning


def _audio_by_av(path: Source, libsndfile_error: BaseException,
                 declared: float | None) -> tuple[float, str | None]:
    """(seconds present, a truncation warning or None) for what only FFmpeg reads (AAC, ALAC).
    Present is what the container's packets hold up to the end of the bytes (demuxed, not
    decoded: cheap); declared is the length the container or mutagen states."""
    from core.model.av_decode import av_info, av_present_seconds

    try:
        info = av_info(path)
        present = av_present_seconds(path)
    except UnreadableInput as exc:
        # For what only FFmpeg reads, its reason is the one that says something; for a .wav that
        # libsndfile refused, libsndfile's does.
        if _parsed(mp4_lacks_index, path, _check_size(path, MAX_MEDIA_BYTES)):
            raise ExtractionError("the recording is incomplete: its index (the MP4 'moov' box) is missing, "
                                  "as when a recording or a copy did not finish") from None
        if _extension(path) in FFMPEG_FORMATS:
            raise ExtractionError(str(exc)) from None
        raise ExtractionError(f"cannot decode audio: {decode_error(libsndfile_error, path)}") from None
    _check_rate(info.rate)
    if present <= 0:
        raise ExtractionError("audio file holds no samples that decode")
    declared = declared or info.declared_seconds
    if declared and declared - present >= TRUNCATION_MIN_MISSING_SECONDS:
        return present, f"truncated: the header declares {declared:.1f} s, only {present:.1f} s decode"
    return present, None


def extract_audio(path: Source) -> Extracted:
    size = _check_size(path, MAX_MEDIA_BYTES)
    import soundfile

    tags = audio_tags(path)
    try:
        info = soundfile.info(path.open() if isinstance(path, FileContent) else path)
    except (RuntimeError, soundfile.LibsndfileError, OSError) as exc:
        duration, warning = _audio_by_av(path, exc, tags.declared_seconds)
    else:
        duration, warning = _audio_by_libsndfile(soundfile, path, size, info)
    _check_duration(duration)
    return Extracted(duration=duration, warning=warning, text=tags.text)


def extract_text(path: Source) -> Extracted:
    extension = _extension(path)
    binary_reader = BINARY_READERS.get(extension)
    _check_size(path, MAX_DOCUMENT_BYTES if binary_reader else MAX_NOTE_BYTES)
    data = path.data if isinstance(path, FileContent) else Path(path).read_bytes()
    try:
        if binary_reader:
            text = binary_reader(data)
        else:
            text = decode_note(data)
            if extension in MARKUP_READERS:
                text = MARKUP_READERS[extension](text)
    except NoteFormatError as exc:
        raise ExtractionError(str(exc)) from None
    if not text.strip():
        raise ExtractionError("a scanned PDF without a text layer holds no words to read" if extension == ".pdf"
                              else "note is empty")
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
