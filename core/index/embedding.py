"""The "embed" task: read a file once, decode it in a reader thread, embed it (a recording's
transcript included) on the writer's thread, and record vector, metadata and keywords together.

Pictures are decoded to RGB (EXIF orientation applied, core.model's own decoder) and short
recordings to samples in the reader thread, so the model's thread only resizes and infers;
a recording is decoded once for both the sound tower and the speech listener. Long recordings
stay bytes (decoded by each step, as before) so read-ahead memory stays bounded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.kinds import KIND_NAMES, KINDS, SEMANTIC
from core.media.documents import Document, read_document
from core.media.extract import ExtractionError
from core.model import Embedder, ModalityUnavailable, Modality
from core.model.preprocess import FileContent, UnreadableInput, load_rgb
from core.store import LibraryStore, MediaItem

PREDECODED_AUDIO_SECONDS = 120.0  # longer recordings are decoded by each step from their bytes


@dataclass
class EmbedReport:
    embedded: int = 0
    metadata_only: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    stopped: bool = False
    cancelled: bool = False
    seconds: float = 0.0


def _decoded(document: Document) -> object:
    """The model's input decoded ahead (or as it was, when decoding fails: the tower then
    reports the failure in its own words)."""
    source = document.model_input
    if not isinstance(source, FileContent):
        return source
    try:
        if document.modality is Modality.IMAGE:
            return load_rgb(source)
        duration = document.extracted.duration
        if document.modality is Modality.AUDIO and duration and duration <= PREDECODED_AUDIO_SECONDS:
            from core.model.audio import decode_file

            return decode_file(source, max_seconds=PREDECODED_AUDIO_SECONDS)
    except (UnreadableInput, OSError, ValueError):
        pass
    return source


class EmbedHandler:
    def __init__(self, store: LibraryStore, embedder: Embedder, report: EmbedReport):
        self.store, self.embedder, self.report = store, embedder, report

    def prepare(self, item: MediaItem) -> Document | ExtractionError:
        try:
            document = read_document(item.kind, item.path)
        except ExtractionError as exc:
            return exc
        document.model_input = _decoded(document)
        return document

    def finish(self, batch: list[tuple[MediaItem, object]]) -> None:
        """The model runs first; then the batch's outcomes are committed together, so the write
        lock is never held while the model works (another process may write meanwhile)."""
        outcomes: list[tuple[MediaItem, object]] = []  # (item, reason | (document, vector, transcript))
        for kind in KIND_NAMES:
            group = [(item, prepared) for item, prepared in batch if item.kind == kind]
            if group:
                outcomes += self._embed_group(kind, group)
        outcomes += [(item, f"no longer a kind this app indexes ({item.kind})")
                     for item, _ in batch if item.kind not in KIND_NAMES]
        with self.store.transaction():
            for item, outcome in outcomes:
                if isinstance(outcome, str):
                    self._fail(item, outcome)
                else:
                    self._record(item, *outcome)

    def _embed_group(self, kind: str, group: list[tuple[MediaItem, object]]) -> list[tuple[MediaItem, object]]:
        outcomes: list[tuple[MediaItem, object]] = []
        ready: list[tuple[MediaItem, Document]] = []
        for item, prepared in group:
            if isinstance(prepared, Document):
                ready.append((item, prepared))
            else:
                outcomes.append((item, str(prepared) if isinstance(prepared, ExtractionError)
                                 else f"cannot read: {type(prepared).__name__}: {prepared}"))
        if not ready:
            return outcomes
        try:
            embeddings = self.embedder.embed(KINDS[kind].modality, [d.model_input for _, d in ready])
        except ModalityUnavailable:
            embeddings = None  # keep the file's metadata; it gets a vector when the model can
        for row, (item, document) in enumerate(ready):
            if embeddings is not None and embeddings.errors[row]:
                outcomes.append((item, embeddings.errors[row]))
                continue
            vector = embeddings.vectors[row] if embeddings is not None else None
            said = embeddings.transcripts[row] if embeddings is not None and embeddings.transcripts else None
            outcomes.append((item, (document, vector, said)))
        return outcomes

    def _record(self, item: MediaItem, document: Document, vector, said: str | None) -> None:
        info = document.extracted
        self.store.mark_done(
            item.id, {SEMANTIC: vector} if vector is not None else {},
            taken_at=info.taken_at or item.mtime, width=info.width, height=info.height,
            duration=info.duration,
            # for keywords: a recording's tags and transcript, a note's text, a picture's OCR text
            extracted_text="\n".join(filter(None, (info.text, said))) or None,
            camera=info.camera, latitude=info.latitude, longitude=info.longitude,
            warning=info.warning, content_hash=document.content_hash,
            replaces=(SEMANTIC,))  # other tasks' channels (a recording's melody) keep theirs
        if vector is None:
            self.report.metadata_only += 1
        else:
            self.report.embedded += 1

    def _fail(self, item: MediaItem, reason: str) -> None:
        self.store.mark_failed(item.id, reason)
        self.report.failed.append((item.path, reason))
