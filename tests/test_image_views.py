"""Wide and tall pictures are also seen at the ends of their long side; square ones are not, and
a one-view picture's vector is exactly what it was before views existed."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from core.model import Embedder, ModelError
from core.model.preprocess import image_to_array, image_views, load_rgb
from core.paths import BUNDLED_MODEL_DIR
from training.image_views import pick
from training.model_folder import linked_copy
from tests.conftest import DEMO

WIDE = DEMO / "photos" / "coffee.jpg"  # 600 × 400
SQUARE = DEMO / "photos" / "astronaut.jpg"  # 512 × 512


def _linked_copy(tmp_path, edit_image) -> Embedder:
    """The bundled model through symlinks, its image settings edited by `edit_image`."""
    copy = linked_copy(BUNDLED_MODEL_DIR, tmp_path / "model", lambda config: edit_image(config["image"]))
    return Embedder(copy, transcribe=False)


def test_a_wide_picture_gets_the_square_at_each_end():
    left_red_right_blue = Image.new("RGB", (300, 100), (0, 0, 255))
    left_red_right_blue.paste((255, 0, 0), (0, 0, 100, 100))
    views = image_views(left_red_right_blue, 256, 224, end_views_from=1.2)
    assert views.shape == (3, 3, 224, 224)
    np.testing.assert_array_equal(views[0], image_to_array(left_red_right_blue, 256, 224))
    red, blue = views[1].mean(axis=(1, 2)), views[2].mean(axis=(1, 2))  # channels in [-1, 1]
    assert red[0] > 0.9 and red[2] < -0.9, "the first end view is the left square"
    assert blue[2] > 0.9 and blue[0] < -0.9, "the second end view is the right square"
    tall = image_views(left_red_right_blue.rotate(90, expand=True), 256, 224, end_views_from=1.2)
    assert tall.shape[0] == 3


def test_square_and_nearly_square_pictures_keep_one_view():
    assert image_views(load_rgb(SQUARE), 256, 224, end_views_from=1.2).shape[0] == 1
    assert image_views(Image.new("RGB", (110, 100)), 256, 224, end_views_from=1.2).shape[0] == 1
    assert image_views(load_rgb(WIDE), 256, 224, end_views_from=None).shape[0] == 1


def test_views_change_wide_pictures_only(tmp_path):
    bundled = Embedder(BUNDLED_MODEL_DIR, transcribe=False)
    assert bundled.config["image"].get("end_views_from"), "the bundled model was chosen with end views"
    one_view = _linked_copy(tmp_path, lambda image: image.pop("end_views_from"))
    assert one_view.model_id != bundled.model_id
    paths = [SQUARE, WIDE, DEMO / "notes" / "our_cat.md"]
    with_views, without = bundled.embed_image(paths), one_view.embed_image(paths)
    assert with_views.errors == without.errors and with_views.errors[2]
    # (the int8 head quantises activations per batch, so "the same" is a cosine, not bit equality)
    assert float(with_views.vectors[0] @ without.vectors[0]) > 0.99995
    assert float(with_views.vectors[1] @ without.vectors[1]) < 0.999
    assert np.isclose(np.linalg.norm(with_views.vectors[1]), 1, atol=1e-5)
    # batching pictures with different numbers of views keeps each picture's own vector
    alone = bundled.embed_image([WIDE]).vectors[0]
    assert float(alone @ with_views.vectors[1]) > 0.99995


def test_pooling_keeps_each_class_at_its_best_view():
    tower = Embedder(BUNDLED_MODEL_DIR, transcribe=False).towers["image"]
    views = tower.views(WIDE)
    per_view = tower.trunk_outputs(views)["logits"].astype(np.float64)
    log_probs = per_view - np.log(np.exp(per_view).sum(axis=1, keepdims=True))
    pooled = tower.pooled_trunk_outputs([views, tower.views(SQUARE)])
    np.testing.assert_allclose(pooled["logits"][0], log_probs.max(axis=0), atol=1e-4)
    np.testing.assert_allclose(pooled["features"][0], tower.trunk_outputs(views)["features"].mean(0), atol=1e-4)
    square = tower.trunk_outputs(tower.views(SQUARE))
    np.testing.assert_allclose(pooled["logits"][1], square["logits"][0], atol=1e-4)  # untouched


def test_an_unknown_view_pooling_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="view pooling"):
        _linked_copy(tmp_path, lambda image: image.update(view_pooling="median"))


def test_one_view_wins_a_tie():
    row = {"text->image": 0.9, "image->text": 0.8, "mean": 0.85}
    assert pick([{"end_views_from": None, **row}, {"end_views_from": 1.2, **row}]) is None
    assert pick([{"end_views_from": None, **row}, {"end_views_from": 1.2, **row, "mean": 0.86}]) == 1.2
