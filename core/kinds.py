"""The one registry of media kinds: what a file is, how it is named to people, which model
modality embeds it and which vector channels it gets. Every other module looks kinds up here;
adding a kind (say `video`) touches this file plus its extractor and tower.

Kinds are about files (a photo, a recording, a note); modalities are about the model (image,
audio, text). Today each kind is embedded by the modality of the same name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.model.modality import Modality

# Vector channels: each has its own table, bound to its own (model id, dim) in the store.
SEMANTIC = "semantic"  # the trimodal model's shared space: any-to-any search
MELODY = "melody"  # the tune a recording carries (core.melody): search by humming
CHANNELS = (SEMANTIC, MELODY)


@dataclass(frozen=True)
class Kind:
    name: str
    label: str  # one item, for people: "Picture"
    plural: str  # "Pictures"
    extensions: frozenset[str]
    aliases: tuple[str, ...]  # words people type for it (--kind, queries)
    modality: Modality  # the tower that embeds it into the semantic channel
    channels: tuple[str, ...] = (SEMANTIC,)


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind("image", "Picture", "Pictures",
             frozenset({".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff",
                        ".heic", ".heif", ".avif", ".svg"}),
             ("images", "photo", "photos", "picture", "pictures", "drawing", "drawings"), Modality.IMAGE),
        Kind("audio", "Recording", "Recordings",
             frozenset({".wav", ".flac", ".ogg", ".oga", ".opus", ".aiff", ".aif", ".mp3",
                        ".m4a", ".m4b", ".aac"}),
             ("sound", "sounds", "recording", "recordings", "memo", "memos"), Modality.AUDIO,
             (SEMANTIC, MELODY)),
        Kind("text", "Note", "Notes",
             frozenset({".txt", ".md", ".markdown", ".rst", ".org",
                        ".html", ".htm", ".pdf", ".docx", ".odt"}),
             ("note", "notes", "document", "documents"), Modality.TEXT),
    )
}
KIND_NAMES: tuple[str, ...] = tuple(KINDS)

_BY_EXTENSION = {extension: kind.name for kind in KINDS.values() for extension in kind.extensions}
_BY_WORD = {word: kind.name for kind in KINDS.values() for word in (kind.name, *kind.aliases)}


def kinds_with_channel(channel: str) -> tuple[str, ...]:
    """The kinds that get a vector in `channel`."""
    return tuple(name for name, kind in KINDS.items() if channel in kind.channels)


def kind_of(path: str | Path) -> str | None:
    """The kind of a file by its extension (its content is checked when it is read), or None for
    files the library does not handle."""
    return _BY_EXTENSION.get(Path(path).suffix.lower())


def normalise_kind(word: str) -> str:
    """'photos' → 'image'; raises ValueError naming the kinds for a word that is none."""
    try:
        return _BY_WORD[word.strip().lower()]
    except KeyError:
        names = ", ".join(KIND_NAMES)
        raise ValueError(f"unknown kind {word!r}: use {names} (or words like photo, sound, note)") from None
