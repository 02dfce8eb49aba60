"""A recording's tags (title, artist, album) and declared length, read with mutagen.

mutagen reads ID3 (MP3, also in WAV/AIFF), MP4 atoms (.m4a), Vorbis comments (Ogg, Opus, FLAC) and
more, from the bytes in memory or the file opened for reading; it never writes unless asked to
save, which nothing here does. The words go into the item's text so the keyword index finds a song
by its title or artist.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.model.preprocess import FileContent, binary

# In the order they are written into the item's text.
TEXT_TAGS = ("title", "artist", "album")
MAX_TAG_CHARS = 300  # per value: a tag is a name, not a document (some taggers store lyrics in them)


@dataclass(frozen=True)
class AudioTags:
    text: str | None  # "title\nartist\nalbum", the ones present
    declared_seconds: float | None  # the container's length by mutagen, None when it does not say


# WAV and AIFF carry ID3 tags that mutagen's "easy" interface leaves as raw frames.
ID3_FRAMES = {"title": "TIT2", "artist": "TPE1", "album": "TALB"}


def _values(tags, key: str) -> list[str]:
    try:
        if hasattr(tags, "getall") and not hasattr(tags, "valid_keys"):  # raw ID3, not EasyID3
            values = [text for frame in tags.getall(ID3_FRAMES[key]) for text in frame.text]
        else:
            values = tags.get(key) or []
    except (KeyError, ValueError):
        return []
    if isinstance(values, str):
        values = [values]
    return [str(v).strip()[:MAX_TAG_CHARS] for v in values if str(v).strip()]


def audio_tags(source: str | FileContent) -> AudioTags:
    """The tags and declared length of a recording, or empties when mutagen does not know the
    format or the tags are damaged: a recording is indexed by its sound whatever its tags say."""
    import mutagen

    try:
        with binary(source) as handle:
            found = mutagen.File(handle, easy=True)
    except (mutagen.MutagenError, OSError, ValueError, EOFError, IndexError, KeyError, TypeError,
            ZeroDivisionError, OverflowError):
        return AudioTags(None, None)
    if found is None:
        return AudioTags(None, None)
    length = getattr(getattr(found, "info", None), "length", None)
    declared = float(length) if length and length > 0 else None
    lines: list[str] = []
    if found.tags is not None:
        for key in TEXT_TAGS:
            lines += [value for value in _values(found.tags, key) if value not in lines]
    return AudioTags("\n".join(lines) or None, declared)
