"""Narrowing the modality gap: the runtime subtracts strength × each modality's mean training
embedding before renormalising, the same way for every path a vector can take, and the strength
is chosen by the rule training.modality_gap documents."""

from __future__ import annotations

import numpy as np
import pytest

from core.model import Embedder, ModelError
from core.model.preprocess import l2_normalise
from core.paths import BUNDLED_MODEL_DIR
from training.modality_gap import choose
from training.model_folder import linked_copy
from tests.conftest import DEMO


def _linked_copy(tmp_path, edit) -> Embedder:
    """The bundled model through symlinks, with model.json edited by `edit`."""
    return Embedder(linked_copy(BUNDLED_MODEL_DIR, tmp_path / "model", edit), transcribe=False)


def _without_gap(config: dict) -> None:
    config["files_sha256"].pop(config.pop("modality_gap")["file"])


def test_bundled_vectors_are_their_uncentred_vectors_minus_the_modality_mean(tmp_path):
    bundled = Embedder(BUNDLED_MODEL_DIR, transcribe=False)
    gap = bundled.config.get("modality_gap")
    assert gap and gap["strength"] > 0, "the bundled model was exported without its modality means"
    plain = _linked_copy(tmp_path, _without_gap)
    assert plain.model_id != bundled.model_id  # the store re-embeds when the centring changes
    means = np.load(BUNDLED_MODEL_DIR / gap["file"])

    texts = ["a dog on the beach", "", "a cup of coffee"]
    images = [DEMO / "photos" / "coffee.jpg", DEMO / "notes" / "our_cat.md"]  # the second is no image
    sounds = sorted((DEMO / "sounds").glob("*.ogg"))[:3]
    for modality, inputs, embed in (("text", texts, "embed_text"), ("image", images, "embed_image"),
                                    ("audio", sounds, "embed_audio")):
        raw = getattr(plain, embed)(inputs)
        centred = getattr(bundled, embed)(inputs)
        assert centred.errors == raw.errors
        ok = raw.ok
        expected = l2_normalise(raw.vectors[ok] - gap["strength"] * means[modality])
        np.testing.assert_allclose(centred.vectors[ok], expected, atol=1e-5)
        assert not centred.vectors[~ok].any(), f"a failed {modality} input must keep its zero row"
        assert np.allclose(np.linalg.norm(centred.vectors[ok], axis=1), 1, atol=1e-5)


def test_centring_brings_sounds_closer_to_their_names_than_to_text_in_general(tmp_path):
    """What the gap costs: every sound sits near every text. Centred, a sound's own name stands
    out more from the other names (the margin grows)."""
    bundled = Embedder(BUNDLED_MODEL_DIR, transcribe=False)
    plain = _linked_copy(tmp_path, _without_gap)
    sounds = sorted((DEMO / "sounds").glob("*.ogg"))
    names = ["the sound of " + p.stem.replace("_", " ") for p in sounds]

    def margin(embedder: Embedder) -> float:
        scores = embedder.embed_audio(sounds).vectors @ embedder.embed_text(names).vectors.T
        return float(np.mean(np.diag(scores) - scores.mean(1)))

    assert margin(bundled) > margin(plain)


def test_a_broken_means_file_is_a_clear_model_error(tmp_path):
    def point_elsewhere(config):
        config["modality_gap"]["file"] = "tokenizer.json"  # listed, present, not an npz
    with pytest.raises(ModelError, match="modality_gap"):
        _linked_copy(tmp_path, point_elsewhere)


def test_strength_is_the_best_validation_score_that_keeps_photos():
    table = {
        0.0: {"val:a->b": 0.50, "coco-dev:t->i": 0.80},
        0.5: {"val:a->b": 0.60, "coco-dev:t->i": 0.795},   # photos within tolerance
        1.0: {"val:a->b": 0.70, "coco-dev:t->i": 0.70},    # best on validation, but photos drop
    }
    assert choose(table) == 0.5
    table[0.5]["val:a->b"] = 0.40
    assert choose(table) == 0.0
    # ties go to the weaker centring
    assert choose({0.0: {"val:x": 0.5, "coco-dev:y": 0.8}, 0.25: {"val:x": 0.5, "coco-dev:y": 0.8}}) == 0.0
