"""What kind of media a file is, decided by its extension (content is checked when it is read)."""

from __future__ import annotations

from pathlib import Path

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff"})
AUDIO_EXTENSIONS = frozenset({".wav", ".flac", ".ogg", ".oga", ".opus", ".aiff", ".aif", ".mp3"})
TEXT_EXTENSIONS = frozenset({".txt", ".md", ".markdown", ".rst", ".org"})

KIND_ALIASES = {
    "image": "image", "images": "image", "photo": "image", "photos": "image", "picture": "image",
    "audio": "audio", "sound": "audio", "sounds": "audio", "recording": "audio", "recordings": "audio",
    "text": "text", "note": "text", "notes": "text",
}


def kind_of(path: str | Path) -> str | None:
    """'image', 'audio', 'text', or None for files the library does not handle."""
    suffix = Path(path).suffix.lower()
    if suffix in IMAGE_EXTENSIONS:
        return "image"
    if suffix in AUDIO_EXTENSIONS:
        return "audio"
    if suffix in TEXT_EXTENSIONS:
        return "text"
    return None


def normalise_kind(name: str) -> str:
    try:
        return KIND_ALIASES[name.strip().lower()]
    except KeyError:
        raise ValueError(f"unknown kind {name!r}: use image, audio or text") from None
