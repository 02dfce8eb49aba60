"""Degenerate and damaged media on real files (issue 35, defects 6 and 7).

Audio too short to hear, or whose header contradicts its data, is refused with a reason; a file cut
short is indexed from what decodes, with a warning saying how much is missing. Notes in UTF-16/32
are read, and size limits are stated with the real numbers.
"""
from __future__ import annotations

import os
import re
import struct
import zlib

import numpy as np
import pytest
import soundfile as sf

from core.media.extract import Extracted, ExtractionError, extract, extract_audio, extract_image, extract_text
from core.model.audio import load_waveform

RATE = 44100
SECONDS = 12.0


def tone(seconds: float = SECONDS, rate: int = RATE, channels: int = 1) -> np.ndarray:
    """A tone with some noise, so lossy encoders have something to spend their bits on."""
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(0)
    wave = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.size)
    return np.repeat(wave[:, None], channels, axis=1).astype(np.float32)


# format, extension, subtype: all of these are written by the libsndfile that soundfile ships.
FORMATS = [
    ("WAV", "wav", "PCM_16"),
    ("WAV", "wav", "FLOAT"),
    ("OGG", "ogg", "VORBIS"),
    ("OGG", "opus", "OPUS"),
    ("FLAC", "flac", "PCM_16"),
    ("AIFF", "aiff", "PCM_16"),
    ("MP3", "mp3", "MPEG_LAYER_III"),
]


def write(path, fmt: str, subtype: str, seconds: float = SECONDS, channels: int = 1) -> None:
    if fmt not in sf.available_formats() or subtype not in sf.available_subtypes(fmt):
        pytest.skip(f"this libsndfile cannot write {fmt}/{subtype}")
    rate = 48000 if subtype == "OPUS" else RATE  # Opus only runs at 48 kHz (and 8/12/16/24)
    sf.write(str(path), tone(seconds, rate, channels), rate, format=fmt, subtype=subtype)


def cut(source, target, fraction: float) -> None:
    data = source.read_bytes()
    target.write_bytes(data[: int(len(data) * fraction)])


# -- defect 6: degenerate audio ---------------------------------------------------------------------


def test_five_samples_are_too_short_to_hear(tmp_path):
    path = tmp_path / "clap.wav"
    sf.write(str(path), tone(5 / 8000, 8000), 8000)
    assert sf.info(str(path)).frames == 5
    with pytest.raises(ExtractionError, match=re.escape("too short to hear: 0.6 ms (at least 100 ms needed)")):
        extract_audio(str(path))


def test_a_tenth_of_a_second_is_long_enough(tmp_path):
    path = tmp_path / "click.wav"
    sf.write(str(path), tone(0.1, 16000), 16000)
    result = extract_audio(str(path))
    assert result.duration == pytest.approx(0.1) and result.warning is None


def test_a_one_hertz_header_is_refused(tmp_path):
    written = tmp_path / "written.wav"  # libsndfile writes what it is told: 44,100 samples "at 1 Hz"
    sf.write(str(written), tone(1.0), 1)
    patched = tmp_path / "patched.wav"  # a real 44.1 kHz file whose header was damaged afterwards
    sf.write(str(patched), tone(1.0), RATE)
    data = bytearray(patched.read_bytes())
    assert data[12:16] == b"fmt " and struct.unpack_from("<I", data, 24)[0] == RATE
    struct.pack_into("<I", data, 24, 1)
    patched.write_bytes(bytes(data))
    for path in (written, patched):
        assert sf.info(str(path)).duration == pytest.approx(44100)  # what used to be indexed
        with pytest.raises(ExtractionError, match=re.escape(
                "header says 1 Hz sample rate, not a real audio rate (expected 4,000–768,000 Hz)")):
            extract_audio(str(path))


def test_an_absurdly_high_rate_is_refused(tmp_path):
    path = tmp_path / "fast.wav"
    sf.write(str(path), tone(1.0), RATE)
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, 24, 10_000_000)
    path.write_bytes(bytes(data))
    with pytest.raises(ExtractionError, match=re.escape("header says 10,000,000 Hz sample rate")):
        extract_audio(str(path))


@pytest.mark.parametrize("fmt, ext, subtype", FORMATS, ids=[f"{e}-{s}" for _, e, s in FORMATS])
def test_whole_files_have_their_length_and_no_warning(tmp_path, fmt, ext, subtype):
    path = tmp_path / f"whole.{ext}"
    write(path, fmt, subtype)
    result = extract_audio(str(path))
    assert result.warning is None
    assert result.duration == pytest.approx(SECONDS if subtype != "OPUS" else sf.info(str(path)).duration)


@pytest.mark.parametrize("fraction", [0.40, 0.45, 0.50])
@pytest.mark.parametrize("fmt, ext, subtype", FORMATS, ids=[f"{e}-{s}" for _, e, s in FORMATS])
def test_a_file_cut_short_is_indexed_from_what_decodes_with_a_warning(tmp_path, fmt, ext, subtype, fraction):
    whole = tmp_path / f"whole.{ext}"
    write(whole, fmt, subtype, channels=2)
    truncated = tmp_path / f"cut.{ext}"
    cut(whole, truncated, fraction)

    result = extract_audio(str(truncated))
    assert result.warning is not None, "a file cut short was indexed with no word"
    if ext in ("ogg", "opus"):  # Ogg declares no length: the stream breaks off without its end mark
        match = re.fullmatch(r"truncated: the stream breaks off after (\d+\.\d+) s "
                             r"\(no end-of-stream mark; the rest of the file is missing\)", result.warning)
        assert match, result.warning
        decoded = float(match[1])
    else:
        match = re.fullmatch(r"truncated: the header declares (\d+\.\d+) s, only (\d+\.\d+) s decode",
                             result.warning)
        assert match, result.warning
        assert float(match[1]) == pytest.approx(SECONDS, abs=0.05)
        decoded = float(match[2])
    # What decodes is roughly the part of the file that is there (Ogg/MP3 lose a page or a frame).
    assert (fraction - 0.15) * SECONDS <= decoded <= (fraction + 0.02) * SECONDS
    assert result.duration == pytest.approx(decoded, abs=0.06)

    # The embedder gets the audio that decodes, no exception.
    waveform = load_waveform(truncated, RATE)
    assert waveform.ndim == 1 and np.isfinite(waveform).all()
    assert waveform.shape[0] / RATE == pytest.approx(result.duration, abs=0.1)
    assert np.abs(waveform).max() > 0.1


@pytest.mark.parametrize("ext, fmt", [("wav", "WAV"), ("flac", "FLAC")])
def test_a_lossless_file_cut_short_decodes_to_the_start_of_the_whole(tmp_path, ext, fmt):
    whole = tmp_path / f"whole.{ext}"
    write(whole, fmt, "PCM_16")
    truncated = tmp_path / f"cut.{ext}"
    cut(whole, truncated, 0.45)
    full, part = load_waveform(whole, RATE), load_waveform(truncated, RATE)
    assert 0.3 * full.size < part.size < 0.5 * full.size
    np.testing.assert_array_equal(part, full[: part.size])


def test_a_file_cut_so_short_that_little_decodes_is_refused(tmp_path):
    whole = tmp_path / "blip.wav"
    sf.write(str(whole), tone(0.2, 8000), 8000)
    truncated = tmp_path / "cut.wav"
    cut(whole, truncated, 0.3)  # 44 header bytes + ~0.05 s of 16-bit samples
    with pytest.raises(ExtractionError, match=r"too short to hear: \d+\.\d ms \(at least 100 ms needed\)"):
        extract_audio(str(truncated))


def test_wav_headers_that_do_not_know_the_length_are_not_truncation(tmp_path):
    path = tmp_path / "stream.wav"  # a recorder that never went back to fill in the data size
    sf.write(str(path), tone(2.0), RATE)
    data = bytearray(path.read_bytes())
    assert data[36:40] == b"data"
    struct.pack_into("<I", data, 40, 0xFFFFFFFF)
    path.write_bytes(bytes(data))
    result = extract_audio(str(path))
    assert result.warning is None and result.duration == pytest.approx(2.0)


def test_ogg_with_trailing_junk_after_its_last_page_is_whole(tmp_path):
    path = tmp_path / "tagged.ogg"
    write(path, "OGG", "VORBIS", seconds=3.0)
    with path.open("ab") as handle:
        handle.write(b"TAG" + b"\x00" * 125)  # an ID3v1-style tag some taggers append
    result = extract_audio(str(path))
    assert result.warning is None and result.duration == pytest.approx(3.0)


def test_an_mp3_without_a_length_header_is_not_called_truncated(tmp_path):
    whole = tmp_path / "whole.mp3"
    write(whole, "MP3", "MPEG_LAYER_III", seconds=8.0)
    # No Xing/Info header (as from older encoders) and 300 KB of cover art in an ID3v2 tag:
    # libsndfile estimates the length from the file size, tag included, and overshoots.
    data = whole.read_bytes().replace(b"Xing", b"XXXX", 1)
    body = os.urandom(300_000)
    frame = b"APIC" + struct.pack(">I", len(body)) + b"\x00\x00" + body
    n = len(frame)
    tag = b"ID3\x03\x00\x00" + bytes([(n >> 21) & 127, (n >> 14) & 127, (n >> 7) & 127, n & 127]) + frame
    path = tmp_path / "tagged.mp3"
    path.write_bytes(tag + data)
    assert sf.info(str(path)).duration > 12  # the estimate
    result = extract_audio(str(path))
    assert result.warning is None
    assert result.duration == pytest.approx(8.0, abs=0.1)  # what decodes


def test_the_demo_sounds_are_whole():
    from tests.conftest import DEMO

    for path in sorted((DEMO / "sounds").iterdir()) + sorted((DEMO / "memos").glob("*.wav")):
        result = extract_audio(str(path))
        assert result.warning is None, (path.name, result.warning)
        assert result.duration >= 0.1


def test_reading_never_writes_the_users_files(tmp_path):
    files = []
    for fmt, ext, subtype in [("WAV", "wav", "PCM_16"), ("OGG", "ogg", "VORBIS"), ("FLAC", "flac", "PCM_16")]:
        whole = tmp_path / f"whole.{ext}"
        write(whole, fmt, subtype, seconds=3.0)
        truncated = tmp_path / f"cut.{ext}"
        cut(whole, truncated, 0.45)
        files += [whole, truncated]
    before = {}
    for path in files:
        path.chmod(0o444)
        before[path] = (path.read_bytes(), path.stat().st_mtime_ns)
    tmp_path.chmod(0o555)  # not even a sidecar file could be created next to them
    try:
        for path in files:
            extract("audio", str(path))
            load_waveform(path, RATE)
    finally:
        tmp_path.chmod(0o755)
    assert {path: (path.read_bytes(), path.stat().st_mtime_ns) for path in files} == before


# -- defect 7: notes ------------------------------------------------------------------------------

NOTE = "Grocery list — café au lait, crème brûlée\nCall Zoë about the 3 p.m. meeting.\n"


@pytest.mark.parametrize("encoding, bom", [
    ("utf-16", b""),  # Python writes the platform's BOM (little-endian here)
    ("utf-16-le", b"\xff\xfe"),
    ("utf-16-be", b"\xfe\xff"),
    ("utf-16-be", b""),  # big-endian with no BOM: refused as "binary content" before
    ("utf-16-le", b""),
    ("utf-32", b""),
    ("utf-32-be", b"\x00\x00\xfe\xff"),
    ("utf-8", b"\xef\xbb\xbf"),
    ("utf-8", b""),
])
def test_unicode_notes_are_read(tmp_path, encoding, bom):
    path = tmp_path / "note.txt"
    path.write_bytes(bom + NOTE.encode(encoding))
    assert extract_text(str(path)).text == NOTE


def test_non_latin_utf16_notes_with_a_bom_are_read(tmp_path):
    text = "Список покупок: молоко, хлеб\n買い物リスト：牛乳、パン\n"
    path = tmp_path / "note.txt"
    path.write_bytes(text.encode("utf-16"))
    assert extract_text(str(path)).text == text


def test_legacy_notes_and_binary_files_are_told_apart(tmp_path):
    legacy = tmp_path / "legacy.txt"
    legacy.write_bytes("Crème brûlée – 5 €\n".encode("cp1252"))
    assert extract_text(str(legacy)).text == "Crème brûlée – 5 €\n"
    for name, data in [("program.txt", bytes(range(256)) * 8),
                       ("zipped.txt", zlib.compress(os.urandom(4000))),
                       ("fake-bom.txt", b"\xff\xfe" + bytes(range(256)) * 8),
                       ("image.txt", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64 + os.urandom(2000))]:
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(ExtractionError, match="binary content"):
            extract_text(str(path))


def test_size_limits_say_the_real_numbers(tmp_path):
    note = tmp_path / "huge.txt"
    note.write_bytes(b"a" * int(10.5 * 2**20))
    with pytest.raises(ExtractionError, match=re.escape("file too large: 10.5 MiB (limit 10 MiB)")):
        extract_text(str(note))
    just_over = tmp_path / "just-over.txt"
    just_over.write_bytes(b"a" * (10 * 2**20 + 1))
    with pytest.raises(ExtractionError, match=re.escape(
            "file too large: 10,485,761 bytes (limit 10,485,760 bytes)")):
        extract_text(str(just_over))
    for kind, name in [("image", "huge.jpg"), ("audio", "huge.wav")]:
        path = tmp_path / name
        with path.open("wb") as handle:  # sparse: no disk is used
            handle.truncate(int(2.5 * 2**30))
        with pytest.raises(ExtractionError, match=re.escape("file too large: 2.5 GiB (limit 2 GiB)")):
            extract(kind, str(path))
    with pytest.raises(ExtractionError, match=re.escape("empty file (0 bytes)")):
        (tmp_path / "empty.jpg").write_bytes(b"")
        extract_image(str(tmp_path / "empty.jpg"))


def test_extracted_has_no_warning_by_default():
    assert Extracted().warning is None


# -- through the real indexer ---------------------------------------------------------------------


def test_the_indexer_refuses_a_five_sample_wav_and_keeps_a_good_one(tmp_path, embedder):
    from core.library import Library

    folder = tmp_path / "library"
    folder.mkdir()
    sf.write(str(folder / "clap.wav"), tone(5 / 8000, 8000), 8000)
    sf.write(str(folder / "rain.wav"), tone(3.0), RATE)
    with Library(tmp_path / "lib.db", embedder=embedder) as library:
        library.index([folder])
        clap = library.store.item_by_path(str(folder / "clap.wav"))
        rain = library.store.item_by_path(str(folder / "rain.wav"))
        assert clap.status == "failed"
        assert clap.error == "too short to hear: 0.6 ms (at least 100 ms needed)"
        assert clap.has_vector != 1
        assert rain.status == "done" and rain.has_vector == 1
        assert rain.duration == pytest.approx(3.0)
