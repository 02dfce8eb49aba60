"""Recall@K over a score matrix: the retrieval protocol of ../shared/DATA.md as a pure function.

A query's rank is that of its best-scoring correct target, counted pessimistically: 1 + the
targets scoring strictly higher + the wrong targets scoring exactly the same. Ties therefore never
help, so a zero vector or an empty transcript cannot score a lucky hit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

RECALL_AT = (1, 5, 10)


@dataclass(frozen=True)
class DirectionScore:
    n: int  # answerable queries
    skipped: int  # queries with no correct target of this modality
    recall: dict[int, float]

    def as_dict(self) -> dict:
        result: dict = {"n": self.n, "skipped": self.skipped}
        result.update({f"R@{k}": round(v, 4) for k, v in self.recall.items()})
        return result


def query_ranks(scores: np.ndarray, query_labels: Sequence, target_labels: Sequence) -> np.ndarray:
    """Rank (1-based) of each query's best correct target; 0 where the query has none."""
    scores = np.asarray(scores, dtype=np.float64)
    target_labels = np.asarray(target_labels, dtype=object)
    ranks = np.zeros(len(query_labels), dtype=np.int64)
    for q, label in enumerate(query_labels):
        correct = target_labels == label
        if not correct.any():
            continue
        row = scores[q]
        best = row[correct].max()
        higher = int((row > best).sum())
        tied_wrong = int(((row == best) & ~correct).sum())
        ranks[q] = 1 + higher + tied_wrong
    return ranks


def score_direction(
    scores: np.ndarray, query_labels: Sequence, target_labels: Sequence, ks: Sequence[int] = RECALL_AT
) -> DirectionScore:
    ranks = query_ranks(scores, query_labels, target_labels)
    answered = ranks[ranks > 0]
    recall = {k: float((answered <= k).mean()) if len(answered) else 0.0 for k in ks}
    return DirectionScore(n=len(answered), skipped=int((ranks == 0).sum()), recall=recall)
