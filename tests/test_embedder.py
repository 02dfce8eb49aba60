"""The bundled model through onnxruntime: shapes, unit rows, determinism, parity, bad input."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from core.model import Embedder, ModalityUnavailable, ModelError
from core.model.preprocess import l2_normalise
from core.paths import BASELINE_MODEL_DIR
from tests.conftest import DEMO

PHOTOS = sorted((DEMO / "photos").glob("*.jpg"))
CAT = DEMO / "photos" / "chelsea_the_cat.jpg"
COFFEE = DEMO / "photos" / "coffee.jpg"


def test_text_vectors_are_unit_rows_of_the_model_dimension(embedder):
    result = embedder.embed_text(["a dog on the beach", "espresso in a white cup", "guitar chords"])
    assert result.vectors.shape == (3, embedder.dim) == (3, 384)
    assert result.vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(result.vectors, axis=1), 1.0, atol=1e-5)
    assert result.errors == [None, None, None]


def test_embedding_is_deterministic_and_batch_independent(embedder):
    texts = ["a cat sleeping on a windowsill", "x", "a long note " * 300]
    once = embedder.embed_text(texts).vectors
    alone = np.stack([embedder.embed_text([t]).vectors[0] for t in texts])
    np.testing.assert_array_equal(once, embedder.embed_text(texts).vectors)
    np.testing.assert_allclose(once, alone, atol=1e-5)  # padding in a batch changes nothing
    images = embedder.embed_image(PHOTOS[:3]).vectors
    np.testing.assert_allclose(images, embedder.embed_image(PHOTOS[:3]).vectors, atol=1e-6)


def test_empty_text_gets_a_zero_row_and_a_reason(embedder):
    result = embedder.embed_text(["a bicycle", "   "])
    assert result.errors == [None, "empty text"]
    assert not result.vectors[1].any()
    assert result.ok.tolist() == [True, False]


def test_image_vectors_and_bad_files_do_not_fail_the_batch(embedder, tmp_path):
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0" + b"not really a jpeg" * 20)
    result = embedder.embed_image([CAT, corrupt, tmp_path / "missing.png", COFFEE])
    assert result.vectors.shape == (4, 384)
    assert result.errors[0] is None and result.errors[3] is None
    assert "cannot decode image" in result.errors[1]
    assert "not found" in result.errors[2]
    assert not result.vectors[1].any() and not result.vectors[2].any()
    np.testing.assert_allclose(np.linalg.norm(result.vectors[[0, 3]], axis=1), 1.0, atol=1e-5)


def test_photos_land_near_their_description(embedder):
    images = embedder.embed_image([CAT, COFFEE]).vectors
    texts = embedder.embed_text(["a photo of a cat", "a cup of coffee"]).vectors
    similarity = images @ texts.T
    assert similarity[0, 0] > similarity[0, 1]
    assert similarity[1, 1] > similarity[1, 0]


def test_baseline_image_head_is_conse_over_class_name_embeddings():
    """Reference computed here in numpy from the trunk's logits and the text tower."""
    embedder = Embedder(BASELINE_MODEL_DIR)
    tower = embedder.towers[embedder.modalities[1]]
    pixels = np.stack([tower.preprocess(p) for p in (CAT, COFFEE)])
    logits = tower.trunk_outputs(pixels)["logits"].astype(np.float64)
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    lines = (embedder.model_dir / "imagenet_classes.tsv").read_text().splitlines()
    names = [line.split("\t", 1)[1].split(",")[0].strip() for line in lines]
    expected = []
    for row in probs:
        top = np.argsort(-row)[:10]
        class_vectors = embedder.embed_text([f"a photo of a {names[i]}" for i in top]).vectors
        expected.append((row[top, None] * class_vectors).sum(axis=0))
    expected = l2_normalise(np.array(expected, dtype=np.float32))
    actual = embedder.embed_image([CAT, COFFEE]).vectors
    assert (expected * actual).sum(axis=1).min() >= 0.999


def test_audio_is_not_available_in_the_baseline():
    baseline = Embedder(BASELINE_MODEL_DIR)
    assert not baseline.supports("audio")
    with pytest.raises(ModalityUnavailable, match="not available"):
        baseline.embed_audio([DEMO / "sounds" / "cat.ogg"])


def test_recordings_get_vectors_and_bad_ones_a_reason(tmp_path):
    embedder = Embedder(transcribe=False)
    truncated = tmp_path / "truncated.ogg"
    truncated.write_bytes((DEMO / "sounds" / "cat.ogg").read_bytes()[:300])
    result = embedder.embed_audio([DEMO / "sounds" / "cat.ogg", truncated, tmp_path / "gone.wav"])
    assert result.errors[0] is None and result.errors[1] and "not found" in result.errors[2]
    np.testing.assert_allclose(np.linalg.norm(result.vectors[0]), 1.0, atol=1e-5)
    assert not result.vectors[1].any() and not result.vectors[2].any()


def test_spoken_memos_are_transcribed_and_sounds_are_not():
    pytest.importorskip("faster_whisper")
    embedder = Embedder()
    result = embedder.embed_audio([DEMO / "memos" / "memo_01.wav", DEMO / "sounds" / "cow.ogg"])
    assert result.errors == [None, None]
    assert len(result.transcripts[0].split()) >= 3, result.transcripts
    assert result.transcripts[1] == "", result.transcripts  # not speech: no invented text


def test_model_id_follows_the_files(tmp_path, embedder):
    copy = tmp_path / "model"
    shutil.copytree(embedder.model_dir, copy)
    assert Embedder(copy).model_id == embedder.model_id
    config = json.loads((copy / "model.json").read_text())
    config["image"]["resize_mode"] = "squash"
    (copy / "model.json").write_text(json.dumps(config))
    assert Embedder(copy).model_id != embedder.model_id  # a setting that changes vectors
    with open(copy / "image_head.onnx", "r+b") as handle:
        handle.seek(1000)
        handle.write(b"\x00\x01\x02")
    with pytest.raises(ModelError, match="sha256"):
        Embedder(copy)


def test_missing_model_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ModelError, match="model.json"):
        Embedder(tmp_path)


def test_readings_that_disagree_weigh_less_than_readings_that_agree(embedder):
    """The readings' vector keeps its length: where Whisper's readings disagree it is shorter, so
    next to it the speech head counts for more."""
    from core.model.speech import Transcript

    sure = Transcript("Five.", "en", 1.0, 0.5, hypotheses=[("Five.", 0.6), ("Five!", 0.4)])
    unsure = Transcript("Bye.", "en", 1.0, 0.5, hypotheses=[("Bye.", 0.5), ("A red kite over the sea.", 0.5)])
    silent = Transcript("", "en", 1.0, 0.5, hypotheses=[("", 1.0)])
    said = np.zeros((3, embedder.dim), np.float32)
    embedder.listener._add_readings(said, {0: sure, 1: unsure, 2: silent})
    lengths = np.linalg.norm(said, axis=1)
    assert lengths[0] > 0.95 and lengths[1] < 0.9 and lengths[2] == 0.0
    five = embedder.embed_text(["five"]).vectors[0]
    assert said[0] @ five / lengths[0] > 0.9  # still pointing at what was said
