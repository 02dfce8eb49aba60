"""The contrastive loss against hand computation, and its masks."""

import math

import pytest

torch = pytest.importorskip("torch")

from training.losses import MemoryQueue, info_nce, multimodal_info_nce  # noqa: E402


def _unit(rows):
    t = torch.tensor(rows, dtype=torch.float32)
    return t / t.norm(dim=1, keepdim=True)


def test_info_nce_matches_a_hand_computation():
    a = _unit([[1, 0], [0, 1]])
    b = _unit([[1, 1], [0, 1]])
    scale = torch.tensor(2.0)
    # row 0: sims (1/√2, 0) → logits (√2, 0); row 1: sims (1/√2, 1) → logits (√2, 2)
    r = math.sqrt(2)
    expected = 0.5 * (-(r - math.log(math.exp(r) + 1)) - (2 - math.log(math.exp(r) + math.exp(2))))
    assert float(info_nce(a, b, scale)) == pytest.approx(expected, rel=1e-5)


def test_same_concept_rows_are_not_negatives():
    a = _unit([[1, 0], [1, 0.1], [0, 1]])
    b = _unit([[1, 0], [1, 0.1], [0, 1]])
    scale = torch.tensor(10.0)
    distinct = info_nce(a, b, scale, labels=torch.tensor([0, 1, 2]))
    shared = info_nce(a, b, scale, labels=torch.tensor([0, 0, 2]))
    assert float(shared) < float(distinct)
    # with rows 0 and 1 one concept, each only competes with row 2: hand value
    row = lambda pos, neg: -(pos - math.log(math.exp(pos) + math.exp(neg)))  # noqa: E731
    s01 = 10 * float(a[1] @ b[1])
    # row 2's negatives are rows 0 and 1 (another concept)
    logits2 = 10 * (a[2] @ b.T)
    expected = (row(10.0, 10 * float(a[0] @ b[2])) + row(s01, 10 * float(a[1] @ b[2]))
                - float(torch.log_softmax(logits2, 0)[2])) / 3
    assert float(shared) == pytest.approx(expected, rel=1e-4)


def test_queue_hard_negatives_keep_only_the_hardest():
    q = _unit([[1, 0]])
    k = _unit([[1, 0]])
    queue = _unit([[1, 0.2], [0, 1], [-1, 0]])
    scale = torch.tensor(5.0)
    hardest = info_nce(q, k, scale, extra_keys=queue, hard_k=1)
    by_hand = -(5.0 - math.log(math.exp(5.0) + math.exp(5 * float(q[0] @ queue[0]))))
    assert float(hardest) == pytest.approx(by_hand, rel=1e-5)
    assert float(info_nce(q, k, scale, extra_keys=queue)) > float(hardest)


def test_missing_modalities_are_masked_out():
    torch.manual_seed(0)
    emb = {m: torch.nn.functional.normalize(torch.randn(4, 8), dim=1) for m in ("image", "audio", "text")}
    labels = torch.arange(4)
    present = {"image": torch.tensor([1, 1, 1, 0]).bool(), "audio": torch.tensor([0, 0, 1, 1]).bool(),
               "text": torch.tensor([1, 1, 1, 1]).bool()}
    scale = torch.tensor(3.0)
    loss, parts = multimodal_info_nce(emb, present, scale, labels)
    # image–audio has a single shared row: no pair term; the others use only rows with both
    assert set(parts) == {"audio-text", "image-text"}
    image_text = 0.5 * (info_nce(emb["image"][:3], emb["text"][:3], scale, labels[:3])
                        + info_nce(emb["text"][:3], emb["image"][:3], scale, labels[:3]))
    assert parts["image-text"] == pytest.approx(float(image_text), rel=1e-6)
    # garbage in a missing row changes nothing
    emb["image"][3] = torch.nn.functional.normalize(torch.randn(8), dim=0)
    emb["audio"][0] = torch.nn.functional.normalize(torch.randn(8), dim=0)
    again, _ = multimodal_info_nce(emb, present, scale, labels)
    assert float(again) == pytest.approx(float(loss), rel=1e-6)


def test_memory_queue_is_fifo_and_bounded():
    queue = MemoryQueue(size=3, dim=2)
    queue.push("text", torch.ones(2, 2), torch.tensor([1, 2]))
    queue.push("text", torch.zeros(2, 2), torch.tensor([3, 4]))
    vectors, labels = queue.get("text")
    assert labels.tolist() == [3, 4, 1]
    assert vectors.shape == (3, 2)
