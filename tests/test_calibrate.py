"""training.calibrate on constructed vectors: the curve's line sits where the chosen share of
unrelated pairs pass, relevance grows with similarity, and the held-out counts see an answer
pass when present and nothing pass once it is taken out."""

from __future__ import annotations

import numpy as np
import pytest

from training.calibrate import Embedded, collect_cells, curves_for, held_out_counts, summary


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def _set(rng, concepts: int = 40, dim: int = 16) -> dict[str, Embedded]:
    centres = _unit(rng.normal(size=(concepts, dim)))
    labels = np.array([f"c{i}" for i in range(concepts)])
    texts = _unit(centres + 0.1 * rng.normal(size=centres.shape))
    images = _unit(centres + 0.1 * rng.normal(size=centres.shape))
    return {"text": Embedded(texts, labels, np.array([f"t{i}" for i in range(concepts)])),
            "image": Embedded(images, labels, np.array([f"i{i}" for i in range(concepts)]))}


def test_the_line_admits_the_chosen_share_of_unrelated_pairs():
    rng = np.random.default_rng(0)
    sets = {"constructed": _set(rng)}
    cells = collect_cells(sets, rng)
    curves = curves_for(cells, 0.05)
    curve = curves["text->image"]
    assert curve["slope"] > 0
    cosines, positive = cells[("text", "image")]
    passing = curve["slope"] * cosines[~positive] + curve["intercept"] >= 0
    assert passing.mean() == pytest.approx(0.05, abs=0.01)


def test_held_out_counts_see_the_answer_and_its_absence():
    rng = np.random.default_rng(1)
    sets = {"constructed": _set(rng)}
    curves = curves_for(collect_cells(sets, rng), 0.01)
    rows = summary(held_out_counts(sets, curves))["text->image"]
    assert rows["queries"] == 40
    assert rows["answer_passes"] > 0.8  # well-separated concepts: the answer passes
    assert rows["mean_passing_absent"] < 0.5 and rows["absent_with_none"] > 0.6
    per_library = summary(held_out_counts(sets, curves, per_library=True))["text->image"]
    assert per_library["mean_passing_absent"] > rows["mean_passing_absent"]  # the z-score always finds "unusual" items
