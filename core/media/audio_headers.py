"""What an audio file's header declares about its length, read straight from its bytes.

libsndfile quietly clamps a cut WAV or AIFF to the bytes present and counts an Ogg stream to its
last page, so only the headers still show that a file is truncated (core.media.extract uses these).
Every reader takes a path or the file's bytes in memory, and only reads.
"""

from __future__ import annotations

import struct

from core.model.preprocess import FileContent, binary

Source = str | FileContent  # a file, or its bytes already read
OGG_MAX_PAGE = 27 + 255 + 255 * 255  # page header, 255 lacing values, 255 segments of 255 bytes


def riff_declared_frames(path: Source, size: int, present_frames: int) -> int | None:
    """Frames the header of a RIFF/RIFX/RF64 WAVE file declares, or None when it does not say (not
    WAVE, no data chunk, a streaming writer's placeholder size). libsndfile silently clamps the data
    chunk to the bytes present, so its frame count (`present_frames`) is what decodes and only the
    header still shows the declared length: the data chunk's size (scaled by the bytes present), or
    for compressed data (ADPCM, GSM…) the `fact` chunk's sample count."""
    with binary(path) as handle:
        head = handle.read(12)
        if len(head) < 12 or head[8:12] != b"WAVE" or head[:4] not in (b"RIFF", b"RIFX", b"RF64"):
            return None
        order = ">" if head[:4] == b"RIFX" else "<"
        ds64_data = fact_frames = tag = None
        position = 12
        while position + 8 <= size:
            handle.seek(position)
            chunk, length = struct.unpack(order + "4sI", handle.read(8))
            if chunk == b"ds64":  # RF64: the 64-bit data size lives here, the data chunk says 0xFFFFFFFF
                ds64_data = struct.unpack("<Q", handle.read(16)[8:16])[0]
            elif chunk == b"fmt ":
                tag = struct.unpack(order + "H", handle.read(2))[0]
            elif chunk == b"fact":
                fact_frames = struct.unpack(order + "I", handle.read(4))[0]
            elif chunk == b"data":
                if head[:4] == b"RF64" and length == 0xFFFFFFFF:
                    length = ds64_data
                present = size - (position + 8)
                if not length or length == 0xFFFFFFFF or present <= 0:
                    return None  # a streaming writer never filled the size in: nothing is declared
                if length <= present:
                    return present_frames
                if tag not in (1, 3, 0xFFFE) and fact_frames:  # not PCM or float: bytes ≠ frames
                    return fact_frames
                return round(present_frames * length / present)
            position += 8 + length + (length & 1)
    return None


def aiff_declared_frames(path: Source) -> int | None:
    """numSampleFrames of an AIFF/AIFC COMM chunk (libsndfile clamps its count to the bytes present)."""
    with binary(path) as handle:
        head = handle.read(12)
        if len(head) < 12 or head[:4] != b"FORM" or head[8:12] not in (b"AIFF", b"AIFC"):
            return None
        while True:
            header = handle.read(8)
            if len(header) < 8:
                return None
            chunk, length = struct.unpack(">4sI", header)
            if chunk == b"COMM":
                body = handle.read(6)
                return struct.unpack(">hI", body)[1] if len(body) == 6 else None
            handle.seek(length + (length & 1), 1)


def mp3_declares_length(path: Source) -> bool:
    """Whether an MP3 declares its length (a Xing/Info or VBRI header in its first frame). Without
    one, libsndfile's frame count is an estimate from the file size (ID3 tags and cover art
    included), not a declaration, and a shortfall says nothing about truncation."""
    with binary(path) as handle:
        head = handle.read(10)
        skip = 0
        if len(head) == 10 and head[:3] == b"ID3":  # ID3v2: synchsafe size, +10 with a footer
            skip = 10 + (head[6] << 21 | head[7] << 14 | head[8] << 7 | head[9]) + (10 if head[5] & 0x10 else 0)
        handle.seek(skip)
        first = handle.read(4096)
    sync = next((i for i in range(len(first) - 1) if first[i] == 0xFF and first[i + 1] & 0xE0 == 0xE0), None)
    return sync is not None and any(tag in first[sync : sync + 200] for tag in (b"Xing", b"Info", b"VBRI"))


def _ogg_crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc = (crc << 8) & 0xFFFFFFFF ^ _OGG_CRC_TABLE[(crc >> 24) ^ byte]
    return crc


def _ogg_crc_table() -> list[int]:
    table = []
    for index in range(256):
        value = index << 24
        for _ in range(8):
            value = ((value << 1) ^ 0x04C11DB7) if value & 0x80000000 else value << 1
        table.append(value & 0xFFFFFFFF)
    return table


_OGG_CRC_TABLE = _ogg_crc_table()


def ogg_ends_with_end_of_stream(path: Source, size: int) -> bool | None:
    """Whether the last whole Ogg page of the file carries the end-of-stream flag, or None when no
    whole page is found in the tail. Ogg declares no length: libsndfile counts frames up to the
    last page's granule position, so a cut file looks whole to it except for this flag (it logs
    "Last page lacks an end-of-stream bit"). Only the file's last 64 KiB are read; pages are
    recognised by capture pattern, version, flags, length and CRC, so bytes after the last page
    (a tag some programs append) do not count as damage."""
    with binary(path) as handle:
        start = max(0, size - OGG_MAX_PAGE)
        handle.seek(start)
        tail = handle.read()
    at = len(tail)
    while (at := tail.rfind(b"OggS", 0, at)) >= 0:
        header = tail[at : at + 27]
        if len(header) == 27 and header[4] == 0 and header[5] <= 7:
            segments = header[26]
            lacing = tail[at + 27 : at + 27 + segments]
            end = at + 27 + segments + sum(lacing)
            if len(lacing) == segments and end <= len(tail):
                page = bytearray(tail[at:end])
                expected = struct.unpack_from("<I", page, 22)[0]
                page[22:26] = b"\0\0\0\0"
                if _ogg_crc(bytes(page)) == expected:
                    return bool(header[5] & 0x04)
    return None


def mp4_lacks_index(path: Source, size: int) -> bool:
    """Whether an MP4/M4A file has its 'ftyp' box but no 'moov' box (the index of its samples)
    among its top-level boxes. Recorders write 'moov' last, so a recording or copy that did not
    finish has none, and nothing in it can be played; FFmpeg only says "invalid data"."""
    seen = set()
    with binary(path) as handle:
        position = 0
        while position + 8 <= size and len(seen) < 64:
            handle.seek(position)
            header = handle.read(16)
            if len(header) < 8:
                break
            length, box = struct.unpack(">I4s", header[:8])
            if length == 1 and len(header) == 16:
                length = struct.unpack(">Q", header[8:16])[0]
            elif length == 0:
                length = size - position  # the box runs to the end of the file
            seen.add(box)
            if length < 8:
                break
            position += length
    return b"ftyp" in seen and b"moov" not in seen
