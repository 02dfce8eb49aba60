"""Fusing ranked lists from several retrievers (the dense vector KNN and the BM25 keyword index).

Each retriever hands over `(item id, score)` pairs, best first; fusion is a separate step:

* `reciprocal_rank` (Cormack et al. 2009): Σ 1 / (k + rank) over the lists an item is in; only
  ranks count, so the scales never need to agree.
* `calibrated`: the dense side is already calibrated (log-odds of relevance, core.search.calibration,
  known for every candidate, not only those the KNN returned); the keyword side adds `weight` × the
  share of the query's words' BM25 the item got (0..1), as more evidence in log-odds. The result
  stays on the dense score's scale, so `min_score` and the relevance shown keep their meaning.

Which one a search uses is measured in docs/experiments/hybrid-search.md (bench/hybrid.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

VECTOR, KEYWORDS, RRF, CALIBRATED = "vector", "keywords", "rrf", "calibrated"
FUSIONS = (VECTOR, KEYWORDS, RRF, CALIBRATED)
RRF_K = 60
KEYWORD_WEIGHT = 10.0  # log-odds for a full share; chosen on coco-mini dev captions + the demo's word queries (hybrid-search.md)
MIN_SHARE = 0.8  # keyword matches holding less of the query's words (idf-weighted) are not fused


def reciprocal_rank(rankings: Sequence[Sequence[tuple[int, float]]], k: int = RRF_K) -> dict[int, float]:
    """{item id: Σ 1/(k + rank)} over the ranked lists (rank from 1, each list best first)."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, (item_id, _) in enumerate(ranking, start=1):
            fused[item_id] = fused.get(item_id, 0.0) + 1.0 / (k + rank)
    return fused


def calibrated(dense: Mapping[int, float], keywords: Sequence[tuple[int, float]],
               weight: float = KEYWORD_WEIGHT) -> dict[int, float]:
    """{item id: dense score + weight · keyword share}. The share is the item's BM25 over the most
    BM25 could give anyone for the query's words (0..1: rare words matched count, common ones
    hardly), so it does not depend on what else matched. `dense` must hold a score for every
    candidate (those only the keywords found included); a missing one counts as 0."""
    fused = dict(dense)
    for item_id, share in keywords:
        fused[item_id] = fused.get(item_id, 0.0) + weight * share
    return fused


def ranked(scores: Mapping[int, float]) -> list[tuple[int, float]]:
    """Best first; ties broken by item id so a fused ranking is reproducible."""
    return sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))
