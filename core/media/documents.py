"""The one rule for what a file becomes before the model sees it, used by the indexer and by
search alike (a note searched by is embedded exactly as the same note indexed)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.kinds import KINDS
from core.media.extract import Extracted, extract
from core.model.modality import Modality


@dataclass
class Document:
    """A file read for the library: what is kept about it, and what the model embeds."""

    path: str
    kind: str
    extracted: Extracted
    modality: Modality
    model_input: object  # a note's text; a picture's or recording's path


def note_text(path: str, text: str) -> str:
    """A note is found by its title as much as by its body; the file name is the title."""
    title = Path(path).stem.replace("_", " ").replace("-", " ")
    return f"{title}\n{text}"


def read_document(kind: str, path: str) -> Document:
    """Read and check `path` as a file of `kind`; raises ExtractionError with the reason."""
    extracted = extract(kind, path)
    modality = KINDS[kind].modality
    model_input = note_text(path, extracted.text) if modality is Modality.TEXT else path
    return Document(path, kind, extracted, modality, model_input)
