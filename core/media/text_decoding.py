"""Plain-text notes decoded whatever their encoding: a byte-order mark says UTF-8/16/32; UTF-16
without one shows in its NUL bytes; otherwise UTF-8, and what is not UTF-8 is read as Windows-1252
(the usual encoding of older notes written on Windows, a superset of Latin-1's printable range).
Binary files named like notes are refused.
"""

from __future__ import annotations

from core.media.notes_formats import NoteFormatError

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


def decode_note(data: bytes) -> str:
    for bom, encoding in BOMS:
        if data.startswith(bom):
            text = data[len(bom) :].decode(encoding, errors="replace")
            if _looks_like_text(text) or not text.strip():
                return text
            raise NoteFormatError("not a text file (binary content)")
    encoding = _utf16_without_bom(data) if b"\x00" in data[:8192] else None
    if encoding:
        try:
            text = data[: len(data) - len(data) % 2].decode(encoding)
        except UnicodeDecodeError:
            text = None
        if text is not None and _looks_like_text(text):
            return text
    if _looks_binary(data):
        raise NoteFormatError("not a text file (binary content)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")  # legacy Windows notes
