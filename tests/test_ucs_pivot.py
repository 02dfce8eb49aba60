"""The UCS naming of the aisfx classifier heads (training.ucs_pivot): the order-preserving alignment
finds a known order with gaps, and the shipped names are an alphabetical subset of UCS of the size
each head has."""

from __future__ import annotations

import json

import numpy as np

from training import ucs_pivot


def test_monotone_alignment_recovers_an_order_with_absent_categories():
    rng = np.random.default_rng(0)
    categories, present = 12, [0, 1, 3, 4, 5, 8, 9, 11]  # 2, 6, 7 and 10 absent
    scores = rng.normal(0.0, 0.1, (len(present), categories))
    for row, column in enumerate(present):
        scores[row, column] += 1.0
    assert ucs_pivot.monotone_alignment(scores) == present


def test_monotone_alignment_never_reorders_even_against_the_scores():
    scores = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])  # the evidence alone would swap them
    mapping = ucs_pivot.monotone_alignment(scores)
    assert mapping[0] < mapping[1]


def test_shipped_names_are_ordered_subsets_of_ucs_of_each_heads_size():
    order = [name for name, _ in ucs_pivot.ucs_categories()]
    assert len(order) == 82 and order == sorted(order)
    saved = json.loads(ucs_pivot.NAMES_FILE.read_text())["heads"]
    sizes = {"prosfx": 78, "soundlyTrain": 79, "ucsMixed": 69}
    for head, names in saved.items():
        assert len(names) == sizes[head], head
        positions = [order.index(name) for name in names]
        assert positions == sorted(set(positions)), f"{head}: names out of UCS order"


def test_category_text_lists_the_sub_categories_but_not_misc():
    text = ucs_pivot.category_text("FOOD & DRINK", ["cooking", "misc", "pour"])
    assert text == "food and drink: cooking, pour"
