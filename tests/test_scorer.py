"""The Recall@K scorer on hand-made score matrices: ties, groups, skips."""

from __future__ import annotations

import numpy as np

from core.evaluation import query_ranks, score_direction


def test_rank_is_one_plus_targets_strictly_higher():
    scores = np.array([[0.9, 0.5, 0.1], [0.9, 0.5, 0.1]])
    ranks = query_ranks(scores, ["a", "c"], ["a", "b", "c"])
    assert ranks.tolist() == [1, 3]


def test_ties_with_wrong_targets_count_against_the_query():
    scores = np.array([[0.0, 0.0, 0.0, 0.0]])  # e.g. an empty transcript: all ties
    assert query_ranks(scores, ["b"], ["a", "b", "c", "d"]).tolist() == [4]
    scores = np.array([[0.7, 0.7, 0.2]])
    assert query_ranks(scores, ["a"], ["a", "b", "c"]).tolist() == [2]


def test_best_correct_target_counts_and_correct_ties_do_not_hurt():
    # Two correct targets (same group); the best decides; a tie between correct ones is free.
    scores = np.array([[0.3, 0.8, 0.8, 0.5]])
    assert query_ranks(scores, ["g"], ["x", "g", "g", "y"]).tolist() == [1]
    scores = np.array([[0.9, 0.2, 0.6, 0.5]])
    assert query_ranks(scores, ["g"], ["x", "g", "g", "y"]).tolist() == [2]


def test_queries_without_a_correct_target_are_skipped_and_counted():
    scores = np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]])
    result = score_direction(scores, ["a", "b", "zzz"], ["a", "b"])
    assert result.n == 2 and result.skipped == 1
    assert result.recall == {1: 1.0, 5: 1.0, 10: 1.0}


def test_recall_at_k_boundaries():
    n_targets = 12
    labels = [f"t{i}" for i in range(n_targets)]
    # Query i's correct target is at rank i + 1.
    scores = np.zeros((n_targets, n_targets))
    for q in range(n_targets):
        order = [q] + [t for t in range(n_targets) if t != q]
        wrong_first = order[1 : q + 1] + [q] + order[q + 1 :]
        for position, target in enumerate(wrong_first):
            scores[q, target] = 1.0 - position / 100
    result = score_direction(scores, labels, labels)
    assert query_ranks(scores, labels, labels).tolist() == list(range(1, 13))
    assert result.recall[1] == 1 / 12
    assert result.recall[5] == 5 / 12
    assert result.recall[10] == 10 / 12
    assert result.as_dict() == {"n": 12, "skipped": 0, "R@1": round(1 / 12, 4), "R@5": round(5 / 12, 4),
                                "R@10": round(10 / 12, 4)}
