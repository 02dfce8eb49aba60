"""Any-to-any search: one query vector, nearest items per kind, merged on calibrated scores."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.kinds import KIND_NAMES, SEMANTIC, kind_of
from core.media.documents import read_document
from core.media.extract import ExtractionError
from core.model import Embedder, ModalityUnavailable
from core.search.calibration import KindScale, scale_for
from core.store import LibraryStore, MediaItem, printable

CALIBRATION_SAMPLE = 512


class QueryError(ValueError):
    """The query itself cannot be turned into a vector (unreadable file, unsupported kind…)."""


@dataclass(frozen=True)
class SearchHit:
    item: MediaItem
    similarity: float  # raw cosine
    score: float  # calibrated: standard deviations above the kind's typical similarity

    @property
    def relevance(self) -> float:
        """0..1 for display: a logistic squash of the calibrated score."""
        return 1.0 / (1.0 + math.exp(-(self.score - 2.0)))


class SearchEngine:
    def __init__(self, store: LibraryStore, embedder: Embedder):
        self.store = store
        self.embedder = embedder
        self._samples: dict[str, tuple[tuple[int, int], np.ndarray]] = {}

    def text_vector(self, text: str) -> np.ndarray:
        result = self.embedder.embed_text([text])
        if result.errors[0]:
            raise QueryError(f"cannot search for this text: {result.errors[0]}")
        return result.vectors[0]

    def file_vector(self, path: str | Path) -> np.ndarray:
        path = Path(path)
        kind = kind_of(path)
        if kind is None:
            raise QueryError(f"{path.name}: not a photo, recording or note this app can read")
        shown = printable(str(path))
        if not path.exists():
            raise QueryError(f"{shown}: no such file")
        if path.is_dir():
            raise QueryError(f"{shown}: is a folder, not a file")
        if not path.is_file():
            raise QueryError(f"{shown}: not a regular file (a pipe, socket or device cannot be searched by)")
        try:
            document = read_document(kind, str(path))
        except ExtractionError as exc:
            raise QueryError(f"{printable(path.name)}: {exc}") from None
        try:
            result = self.embedder.embed(document.modality, [document.model_input])
        except ModalityUnavailable as exc:
            raise QueryError(f"{path.name}: {exc}") from None
        if result.errors[0]:
            raise QueryError(f"{path.name}: {result.errors[0]}")
        return result.vectors[0]

    def _scale(self, kind: str, query: np.ndarray) -> KindScale:
        revision = self.store.revision()
        cached = self._samples.get(kind)
        if cached is None or cached[0] != revision:
            _, sample = self.store.vectors(SEMANTIC, kind=kind, limit=CALIBRATION_SAMPLE)
            cached = (revision, sample)
            self._samples[kind] = cached
        return scale_for(query, cached[1])

    def search(
        self,
        query: np.ndarray,
        *,
        kinds: tuple[str, ...] = KIND_NAMES,
        limit: int = 10,
        exclude_path: str | None = None,
        min_score: float | None = None,
    ) -> list[SearchHit]:
        candidates: list[tuple[int, float, float]] = []
        for kind in kinds:
            neighbours = self.store.nearest(SEMANTIC, query, limit + (1 if exclude_path else 0), kind=kind)
            if not neighbours:
                continue
            scale = self._scale(kind, query)
            candidates += [(n.item_id, n.similarity, float(scale.standardise(n.similarity))) for n in neighbours]
        items = self.store.items_by_ids(item_id for item_id, _, _ in candidates)
        hits = [
            SearchHit(items[item_id], similarity, score)
            for item_id, similarity, score in candidates
            if item_id in items and items[item_id].path != exclude_path
        ]
        if min_score is not None:
            hits = [hit for hit in hits if hit.score >= min_score]
        hits.sort(key=lambda hit: hit.score, reverse=True)
        return hits[:limit]
