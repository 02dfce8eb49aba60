"""The UCS naming of the aisfx classifier heads (training.ucs_pivot): the order-preserving alignment
finds a known order with gaps, the shipped names are an alphabetical subset of UCS of the size each
head has, and the pivot exports inside an audio head with the head's interface and parity."""

from __future__ import annotations

import json

import numpy as np
import pytest

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


def test_the_pivot_exports_inside_an_audio_head_with_parity(tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("aisfx")
    import onnxruntime as ort

    from core.model.preprocess import l2_normalise

    torch.manual_seed(0)
    head = torch.nn.Linear(512, 384)  # stands in for the trained head
    old = tmp_path / "head.onnx"
    torch.onnx.export(head, (torch.zeros(2, 512),), str(old), input_names=["features"], output_names=["embedding"],
                      dynamic_axes={"features": {0: "batch"}, "embedding": {0: "batch"}}, opset_version=17, dynamo=False)
    names = json.loads(ucs_pivot.NAMES_FILE.read_text())["heads"]
    pivot = ucs_pivot.Pivot(names, "subs", 3, 1.0, ("prosfx",), gate_power=2.0)
    out = tmp_path / "audio_head.onnx"
    ucs_pivot.combined_head(old, pivot, 1.0, out)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["features"]
    assert [o.name for o in session.get_outputs()] == ["embedding"]
    features = np.random.default_rng(0).normal(0.0, 1.0, (16, 512)).astype(np.float32)
    with torch.no_grad():
        before = head(torch.from_numpy(features)).numpy()
    expected = l2_normalise(l2_normalise(before) + pivot(features))
    got = l2_normalise(session.run(None, {"features": features})[0])
    assert float((got * expected).sum(1).min()) > 0.9999
    assert float((got * l2_normalise(before)).sum(1).max()) < 0.9999  # the pivot does move the vectors
