"""The "parts" task: a long note's passages and a long recording's segments, each with its own
vector in the semantic space, so that one paragraph or a sound in minute 12 can be found.

- A note longer than LONG_NOTE characters is cut at blank lines into passages of about a
  paragraph (short paragraphs joined up to PASSAGE_CHARACTERS); each is embedded with the note's
  title, as the whole note is (core.media.documents.note_text).
- A recording longer than LONG_RECORDING seconds is cut into SEGMENT_SECONDS pieces over its first
  LONGEST_SECONDS; each is embedded by its sound alone (speech recognition runs once, on the whole).
Shorter files get no parts (the job is skipped: their own vector already says it all).
"""

from __future__ import annotations

import re

import numpy as np

from core.index.pipeline import Task, register_task
from core.kinds import KINDS, SEMANTIC, kinds_with_channel
from core.media.documents import note_text, read_document
from core.media.extract import ExtractionError
from core.model import Embedder, Modality
from core.model.audio import decode_file, mono_at
from core.model.preprocess import UnreadableInput, Waveform
from core.store import LibraryStore, MediaItem
from core.store.parts import PARTS_TASK

LONG_NOTE = 800  # characters: the text tower reads about 1,000 (256 tokens) of a note
PASSAGE_CHARACTERS = 300  # a heading or a one-line paragraph joins its neighbour
LONG_RECORDING = 30.0  # seconds
SEGMENT_SECONDS = 10.0
LONGEST_SECONDS = 15 * 60.0
SHORT = "short enough that its own vector covers it"
_PARAGRAPHS = re.compile(r"\n\s*\n")


def passages(text: str) -> list[str]:
    """Paragraphs of `text`, short neighbours joined up to about PASSAGE_CHARACTERS."""
    out: list[str] = []
    for paragraph in (p.strip() for p in _PARAGRAPHS.split(text)):
        if not paragraph:
            continue
        if out and len(out[-1]) + len(paragraph) < PASSAGE_CHARACTERS:
            out[-1] += "\n\n" + paragraph
        else:
            out.append(paragraph)
    return out


class PartsHandler:
    def __init__(self, store: LibraryStore, embedder: Embedder, report):
        self.store, self.embedder, self.report = store, embedder, report

    def prepare(self, item: MediaItem):
        """(start, end, text or sound) of each part, or an exception saying why there are none."""
        try:
            if KINDS[item.kind].modality is Modality.TEXT:
                document = read_document(item.kind, item.path)
                text = document.extracted.text or ""
                if len(text) <= LONG_NOTE:
                    return []
                return [(None, None, piece) for piece in passages(text)]
            waveform = decode_file(item.path, max_seconds=LONGEST_SECONDS)
        except (ExtractionError, UnreadableInput, OSError) as exc:
            return exc
        rate = self.embedder.towers[Modality.AUDIO].sample_rate
        mono = mono_at(waveform, rate, LONGEST_SECONDS)
        if len(mono) <= LONG_RECORDING * rate:
            return []
        step = int(SEGMENT_SECONDS * rate)
        return [(start / rate, min(start + step, len(mono)) / rate, Waveform(mono[start:start + step], rate))
                for start in range(0, len(mono) - step // 3, step)]  # a last piece under 3 s joins nothing

    def finish(self, batch: list[tuple[MediaItem, object]]) -> None:
        outcomes = []
        for item, prepared in batch:  # the model runs before the write transaction
            if isinstance(prepared, Exception):
                outcomes.append((item, None, f"parts: cannot read: {prepared}"))
            elif not prepared:
                outcomes.append((item, ([], None), SHORT))
            else:
                outcomes.append((item, (prepared, self._embed(item, prepared)), None))
        with self.store.transaction():
            for item, made, reason in outcomes:
                if made is None:
                    self.store.fail_parts(item.id, reason)
                    self.report.failed.append((item.path, reason))
                else:
                    parts, vectors = made
                    self.store.record_parts(item.id, [(s, e, p if isinstance(p, str) else None) for s, e, p in parts],
                                            vectors, reason)

    def _embed(self, item: MediaItem, parts: list) -> np.ndarray:
        pieces = [piece for _, _, piece in parts]
        if KINDS[item.kind].modality is Modality.TEXT:
            return self.embedder.embed_text([note_text(item.path, piece) for piece in pieces]).vectors
        return self.embedder.embed_sounds(pieces).vectors


def bind_parts(store: LibraryStore, embedder: Embedder) -> int:
    """Parts are made with the current semantic model: bound to it, new ones queued when it changed."""
    kinds = [k for k in kinds_with_channel(SEMANTIC) if KINDS[k].modality in (Modality.TEXT, Modality.AUDIO)]
    return store.bind_parts(embedder.model_id, embedder.dim, kinds)


register_task(Task(PARTS_TASK, lambda indexer, report: PartsHandler(indexer.store, indexer.embedder, report),
                   applies_to=lambda kind: KINDS[kind].modality in (Modality.TEXT, Modality.AUDIO)))
