"""The one rule for what a file becomes before the model sees it, used by the indexer and by
search alike (a note searched by is embedded exactly as the same note indexed).

A file is read from disk once: its bytes give the content hash, the metadata and the model's
input (pictures and recordings are decoded from those bytes in memory). Files larger than
`IN_MEMORY_BYTES` (long recordings, huge scans) are read from disk by each step instead, so
memory stays bounded.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from core.kinds import KINDS
from core.media.extract import Extracted, ExtractionError, extract, reading_errors
from core.model.modality import Modality
from core.model.preprocess import FileContent

IN_MEMORY_BYTES = 64 * 1024 * 1024


@dataclass
class Document:
    """A file read for the library: what is kept about it, and what the model embeds."""

    path: str
    kind: str
    extracted: Extracted
    modality: Modality
    model_input: object  # a note's text; a picture's or recording's bytes (or path, if large)
    content_hash: str | None  # of the bytes read, when they were read whole


def name_is_embedded(kind: str) -> bool:
    """Whether a file's name is part of what the model embeds for its kind (a note's title): a
    renamed file of such a kind needs a new vector, not just a new path."""
    return kind == "text"


def note_text(path: str, text: str) -> str:
    """A note is found by its title as much as by its body; the file name is the title."""
    title = Path(path).stem.replace("_", " ").replace("-", " ")
    return f"{title}\n{text}"


def _read_once(path: str) -> FileContent | str:
    with reading_errors():
        try:
            info = os.stat(path)
            if not stat.S_ISREG(info.st_mode):
                raise ExtractionError("not a regular file (pipe, socket or device)")  # reading could block
            if info.st_size > IN_MEMORY_BYTES:
                return path
            with open(path, "rb") as handle:
                return FileContent(path, handle.read())
        except (FileNotFoundError, PermissionError, IsADirectoryError):
            raise
        except OSError as exc:
            raise ExtractionError(f"cannot read: {exc.strerror or exc}") from None


def read_document(kind: str, path: str) -> Document:
    """Read and check `path` as a file of `kind`; raises ExtractionError with the reason."""
    source = _read_once(path)
    digest = hashlib.sha256(source.data).hexdigest() if isinstance(source, FileContent) else None
    extracted = extract(kind, source)
    modality = KINDS[kind].modality
    model_input = note_text(path, extracted.text) if modality is Modality.TEXT else source
    return Document(path, kind, extracted, modality, model_input, digest)
