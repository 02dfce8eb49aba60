"""Any-to-any search: a query (text, files, a recording, or a weighted combination) becomes one
vector; the nearest items of each kind that pass the filters are found by the channel's index
(core/search/ann.py: the filters inside the candidate search) and merged on calibrated scores
(core/search/calibration.py: the log-odds of relevance, the same in every library)."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from core.kinds import KIND_NAMES, KINDS, SEMANTIC, kind_of
from core.media.documents import read_document
from core.media.extract import ExtractionError
from core.model import Embedder, ModalityUnavailable
from core.model.modality import Modality
from core.search import fusion
from core.search.ann import ChannelIndex, index_path
from core.search.calibration import RELEVANT_SCORE, Calibration, relevance, scale_for
from core.search.keywords import keyword_hits
from core.search.query import Filters, Query, QueryError, Term
from core.store import LibraryStore, MediaItem, printable
from core.store.parts import Part

CALIBRATION_SAMPLE = 512
DEFAULT_FUSION = fusion.CALIBRATED  # measured: docs/experiments/hybrid-search.md
SUBFOLDER_FETCH = 4096  # neighbours checked for a sub-folder before its items are listed instead


@dataclass(frozen=True)
class SearchHit:
    item: MediaItem
    similarity: float  # raw cosine
    score: float  # calibrated: log-odds that it is what the query asks for (core.search.calibration)
    channels: tuple[str, ...] = ("semantic",)  # what found it: "semantic", "keywords" or both
    matched: tuple[str, ...] = ()  # the item's words that matched the query's (keywords)
    snippet: str | None = None  # the passage they matched in, matched words in [brackets]
    copies: tuple[MediaItem, ...] = ()  # the same file or photo elsewhere, folded in (core.search.folding)
    passage: str | None = None  # the part of a long note that matched best, when a part did
    at_seconds: float | None = None  # where in a long recording the best-matching part starts

    @property
    def relevance(self) -> float:
        """0..1 for display: the calibrated odds as a probability."""
        return relevance(self.score)

    @property
    def is_relevant(self) -> bool:
        """Above the relevance line (weaker hits are only shown when asked for)."""
        return self.score >= RELEVANT_SCORE


@dataclass(frozen=True)
class Judge:
    """One term of a query as it judges a hit's relevance: what it is (its modality picks the
    calibration curves), its weight (negative: subtracted) and its unit vector."""
    asked_by: Modality
    weight: float
    vector: np.ndarray


class SearchEngine:
    def __init__(self, store: LibraryStore, embedder: Embedder):
        self.store = store
        self.embedder = embedder
        self.index = ChannelIndex(store, SEMANTIC, index_path(store.path, SEMANTIC))
        self.calibration = Calibration.load(embedder.model_dir, KIND_NAMES)
        self._samples: dict[str, tuple[int, np.ndarray]] = {}  # the uncalibrated fallback's
        self.keyword_weight = fusion.KEYWORD_WEIGHT  # calibrated fusion's weight of the keyword share
        self.keyword_min_share = fusion.MIN_SHARE  # keyword matches below this share are left out

    def text_vector(self, text: str) -> np.ndarray:
        text = text.encode("utf-8", "replace").decode("utf-8")  # undecodable bytes from argv: "?"
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

    def _curve(self, kind: str, query: np.ndarray, asked_by: Modality):
        """Similarity → log-odds for `kind`: the model's curve for this query modality, or for a
        model without calibration, the query's spread over a sample of `kind` in this library
        (drawn again when the kind's count has changed by more than a twentieth since, every
        change while it is under the sample's size)."""
        curve = self.calibration.curve(asked_by, kind)
        if curve is not None:
            return curve
        count = self.index.count_of(kind)
        cached = self._samples.get(kind)
        stale = cached is None or (cached[0] != count if count <= CALIBRATION_SAMPLE
                                   else abs(cached[0] - count) > count / 20)
        if stale:
            cached = (count, self.index.vectors_of(self.index.sample_ids(kind, CALIBRATION_SAMPLE)))
            self._samples[kind] = cached
        return scale_for(query, cached[1])

    @staticmethod
    def term_modality(term: Term) -> Modality:
        """Which modality a term asks in: text, a file's kind's, or a recording's."""
        if term.text is not None:
            return Modality.TEXT
        if term.path is not None:
            kind = kind_of(term.path)
            return KINDS[kind].modality if kind else Modality.TEXT
        return Modality.AUDIO

    def stored_vector(self, path: str) -> np.ndarray | None:
        """An indexed file's vector, when the file is unchanged since it was embedded."""
        item = self.store.item_by_path(path)
        if item is None or item.status != "done" or not item.has_vector:
            return None
        try:
            info = os.stat(path)
        except OSError:
            return None
        if info.st_size != item.size or item.mtime is None or abs(info.st_mtime - item.mtime) > 1e-3:
            return None
        return self.store.vectors_of(SEMANTIC, [item.id]).get(item.id)

    def checked_vector(self, vector) -> np.ndarray:
        """A vector given by the caller, as a unit vector of the model's width."""
        vector = np.asarray(vector, dtype=np.float32).reshape(-1)
        if vector.shape != (self.embedder.dim,) or not np.all(np.isfinite(vector)):
            raise QueryError(f"a query vector must be {self.embedder.dim} finite numbers (got {vector.shape[0]})")
        norm = float(np.linalg.norm(vector))
        if norm < 1e-6:
            raise QueryError("a query vector of zeros points nowhere")
        return vector / norm

    def _term_vector(self, query: Query, term: Term) -> np.ndarray:
        try:
            if term.text is not None:
                return self.text_vector(term.text)
            if term.path is not None:
                stored = self.stored_vector(term.path)
                return stored if stored is not None else self.file_vector(term.path)
            result = self.embedder.embed(Modality.AUDIO, [term.waveform])
        except QueryError as exc:
            raise query.error(str(exc), term) from None
        except ModalityUnavailable as exc:
            raise query.error(f"cannot search by a recording: {exc}", term) from None
        if result.errors[0]:
            raise query.error(f"cannot search by this recording: {result.errors[0]}", term)
        return result.vectors[0]

    def embed_query(self, query: Query) -> tuple[np.ndarray, tuple[Judge, ...]]:
        """The query's vector, the normalised weighted sum of the terms' unit vectors (one term:
        its own vector), and its terms as judges of relevance."""
        vectors = [self._term_vector(query, term) for term in query.terms]
        judges = tuple(Judge(self.term_modality(term), term.weight, vector)
                       for term, vector in zip(query.terms, vectors))
        if len(vectors) == 1 and query.terms[0].weight > 0:
            return vectors[0], judges
        total = sum(term.weight * vector.astype(np.float64) for term, vector in zip(query.terms, vectors))
        norm = float(np.linalg.norm(total))
        if norm < 1e-6:
            raise QueryError("the terms cancel each other out: nothing is left to search for")
        return (total / norm).astype(np.float32), judges

    def query_vector(self, query: Query) -> np.ndarray:
        return self.embed_query(query)[0]

    def _log_odds(self, kind: str, query: np.ndarray, similarities: np.ndarray, item_ids: list[int],
                  judges: tuple[Judge, ...]) -> np.ndarray:
        """Calibrated scores of items of `kind`. One term (or an uncalibrated model): the curve of
        the term's modality on the similarity to the query's vector. Several terms: a blended
        vector sits between its terms and is close to nothing in the way one term's vector is,
        so each term judges on its own curve and the scores are averaged by weight, a subtracted
        term counting only against items it finds relevant."""
        similarities = np.asarray(similarities, np.float64)
        if len(judges) <= 1 or not self.calibration.calibrated:
            asked_by = judges[0].asked_by if judges else Modality.TEXT
            return self._curve(kind, query, asked_by).log_odds(similarities)
        by_term = self.index.vectors_of(item_ids) @ np.stack([judge.vector for judge in judges]).T
        scores = np.zeros(len(item_ids))
        for column, judge in enumerate(judges):
            odds = self._curve(kind, query, judge.asked_by).log_odds(by_term[:, column])
            scores += judge.weight * (odds if judge.weight > 0 else np.maximum(odds, 0.0))
        return scores / sum(judge.weight for judge in judges if judge.weight > 0)

    def _nearest(self, query: np.ndarray, kind: str, k: int, filters: Filters,
                 exclude: frozenset[str]) -> list[tuple[MediaItem, float]]:
        """The k nearest items of `kind` that pass the filters. The index filters kind, dates and
        library folder inside its search; a sub-folder and excluded paths are checked on its answer,
        asking for more neighbours until k pass, and past SUBFOLDER_FETCH the sub-folder's items
        are listed and handed to the index as the allowed ones."""
        fetch = k + len(exclude)
        allowed = None
        while True:
            neighbours = self.index.nearest(query, fetch, kind=kind, folder=filters.root, after=filters.after,
                                            before=filters.before, allowed=allowed)
            items = self.store.items_by_ids(n.item_id for n in neighbours)
            kept = [(items[n.item_id], n.similarity) for n in neighbours
                    if n.item_id in items and items[n.item_id].path not in exclude
                    and filters.admits_path(items[n.item_id].path)]
            if len(kept) >= k or len(neighbours) < fetch or allowed is not None:
                return kept[:k]
            if fetch >= SUBFOLDER_FETCH and filters.under is not None:
                allowed = np.array([item.id for item in self.store.items_under(filters.under)], np.int64)
                fetch = k + len(exclude)
            else:
                fetch *= 4

    def search(
        self,
        query: np.ndarray,
        *,
        filters: Filters = Filters(),
        limit: int = 10,
        exclude: tuple[str, ...] = (),
        min_score: float | None = None,
        keywords: str | None = None,
        fuse: str = DEFAULT_FUSION,
        judges: tuple[Judge, ...] = (),
    ) -> list[SearchHit]:
        """The `limit` best items that pass `filters`, leaving out the paths in `exclude`. With
        `keywords` (the query's own words), the keyword index is a second retriever, fused with
        the vectors' ranking by `fuse` (core/search/fusion.py; "vector" leaves it out,
        "keywords" uses it alone). `judges` are the query's terms (embed_query): they pick the
        calibration curves (none: a text query's)."""
        skip = frozenset(exclude)
        hits: list[SearchHit] = []
        for kind in filters.kinds if fuse != fusion.KEYWORDS else ():
            nearest = self._with_parts(query, kind, self._nearest(query, kind, limit, filters, skip), limit,
                                       filters, skip)
            if not nearest:
                continue
            scores = self._log_odds(kind, query, [similarity for _, similarity, _ in nearest],
                                    [item.id for item, _, _ in nearest], judges)
            hits += [SearchHit(item, similarity, float(score),
                               passage=part.text if part else None, at_seconds=part.start if part else None)
                     for (item, similarity, part), score in zip(nearest, scores)]
        if keywords and fuse != fusion.VECTOR:
            hits = self._with_keywords(query, hits, keyword_hits(self.store, keywords, limit, filters, skip),
                                      fuse, limit, judges)
        else:
            hits.sort(key=lambda hit: hit.score, reverse=True)
        if min_score is not None:
            hits = [hit for hit in hits if hit.score >= min_score]
        return hits[:limit]

    def _with_parts(self, query: np.ndarray, kind: str, nearest: list[tuple[MediaItem, float]], limit: int,
                    filters: Filters, skip: frozenset[str]) -> list[tuple[MediaItem, float, Part | None]]:
        """The items' own nearest and the items of the nearest parts (a long note's passage, a long
        recording's segment), each with its best part; the nearer of item and part speaks for it."""
        best: dict[int, tuple[MediaItem, float, Part | None]] = {item.id: (item, sim, None) for item, sim in nearest}
        parts = self.store.nearest_parts(query, limit, kind=kind, folder=filters.root, after=filters.after,
                                         before=filters.before)
        items = self.store.items_by_ids({part.item_id for part in parts} - set(best))
        for part in parts:  # nearest first: an item's first part is its best
            item = best[part.item_id][0] if part.item_id in best else items.get(part.item_id)
            if item is None or item.path in skip or not filters.admits_path(item.path):
                continue
            if part.item_id not in best:
                best[part.item_id] = (item, part.similarity, part)
            elif best[part.item_id][2] is None:  # the item's own vector found it too: it names its best part
                best[part.item_id] = (item, max(best[part.item_id][1], part.similarity), part)
        return sorted(best.values(), key=lambda entry: -entry[1])[:limit]

    def _dense_hit(self, query: np.ndarray, item: MediaItem, vector: np.ndarray | None,
                   judges: tuple[Judge, ...]) -> SearchHit:
        """A hit only the keywords found, with its own calibrated similarity (0 without a vector)."""
        if vector is None:
            return SearchHit(item, 0.0, float(self._log_odds(item.kind, query, [0.0], [], judges[:1])[0]), ())
        similarity = float(vector @ query)
        return SearchHit(item, similarity, float(self._log_odds(item.kind, query, [similarity], [item.id], judges)[0]), ())

    def _with_keywords(self, query: np.ndarray, dense: list[SearchHit], matches, fuse: str,
                       limit: int, judges: tuple[Judge, ...]) -> list[SearchHit]:
        """The dense hits and the keyword matches as one list, each hit saying what found it;
        ordered (and, for calibrated fusion, scored) by `fuse`."""
        by_id = {hit.item.id: hit for hit in sorted(dense, key=lambda hit: -hit.score)}
        dense_ranking = [(i, hit.score) for i, hit in by_id.items()][:limit]
        matches = [(item, match) for item, match in matches if match.share >= self.keyword_min_share]
        missing = [item.id for item, _ in matches if item.id not in by_id]
        vectors = self.store.vectors_of(SEMANTIC, missing)
        for item, match in matches:
            hit = by_id.get(item.id) or self._dense_hit(query, item, vectors.get(item.id), judges)
            by_id[item.id] = replace(hit, channels=hit.channels + ("keywords",), matched=match.terms,
                                     snippet=match.readable_snippet())
        keyword_ranking = [(item.id, match.score) for item, match in matches]
        if fuse == fusion.KEYWORDS:
            return [replace(by_id[i], score=score) for i, score in keyword_ranking]
        if fuse == fusion.RRF:
            order = fusion.ranked(fusion.reciprocal_rank([dense_ranking, keyword_ranking]))
            return [by_id[i] for i, _ in order]
        if fuse == fusion.CALIBRATED:
            shares = [(item.id, match.share) for item, match in matches]
            scores = fusion.calibrated({i: hit.score for i, hit in by_id.items()}, shares, self.keyword_weight)
            return [replace(by_id[i], score=score) for i, score in fusion.ranked(scores)]
        raise ValueError(f"unknown fusion {fuse!r} (one of {', '.join(fusion.FUSIONS)})")
