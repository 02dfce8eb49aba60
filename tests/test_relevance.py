"""Relevance that means the same in every library (issue 38, item 3): the bundled model's
calibration curves turn a similarity into log-odds of relevance per query modality × kind, with no
dependence on the library; a tiny library shows its obvious answer and hides the unrelated; the
same photo gets the same relevance in libraries of different sizes; a query whose answer is not
there passes little; a damaged calibration file is reported like a damaged model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from core.kinds import KIND_NAMES
from core.library import Library, Query
from core.doctor import check_model
from core.model import Embedder, ModelError
from core.model.modality import Modality
from core.paths import BUNDLED_MODEL_DIR
from core.search.calibration import CALIBRATION_FILE, Calibration, CalibrationError, relevance
from tests.conftest import DEMO


def _library(tmp_path: Path, name: str, files: list[str], embedder) -> Library:
    folder = tmp_path / name
    folder.mkdir()
    for relative in files:
        shutil.copy(DEMO / relative, folder / Path(relative).name)
    library = Library(tmp_path / f"{name}.db", embedder=embedder)
    library.add_folder(folder)
    library.index()
    return library


def _by_name(hits) -> dict[str, object]:
    return {Path(hit.item.path).name: hit for hit in hits}


@pytest.fixture(scope="module")
def libraries(tmp_path_factory, embedder):
    tmp = tmp_path_factory.mktemp("relevance")
    small = _library(tmp, "small", ["photos/flower.jpg", "sounds/cow.ogg", "notes/coffee_recipe.txt",
                                    "photos/hubble_deep_field.jpg"], embedder)
    larger = _library(tmp, "larger", ["photos/flower.jpg", "photos/chelsea_the_cat.jpg", "photos/coffee.jpg",
                                      "photos/rocket_launch.jpg", "photos/astronaut.jpg", "photos/china_temple.jpg",
                                      "drawings/apple.png", "drawings/house.png", "drawings/kitten.png",
                                      "sounds/cow.ogg", "sounds/cat.ogg", "sounds/dog.ogg", "sounds/owl.ogg",
                                      "notes/garden_plans.txt", "notes/our_cat.md", "notes/bike_trip.md"], embedder)
    return small, larger


def test_the_bundled_model_ships_curves_for_every_query_modality_and_kind(embedder):
    calibration = Calibration.load(BUNDLED_MODEL_DIR, KIND_NAMES)
    assert calibration.calibrated
    for modality in Modality:
        for kind in KIND_NAMES:
            curve = calibration.curve(modality, kind)
            assert curve is not None and curve.slope > 0  # more similar is more relevant
    stored = json.loads((BUNDLED_MODEL_DIR / CALIBRATION_FILE).read_text())
    assert stored["model_id"] == embedder.model_id  # refit when the model changes (training.calibrate fit)


def test_a_tiny_library_shows_its_obvious_answer_and_hides_the_rest(libraries):
    small, _ = libraries
    hits = small.search("a red flower")
    assert hits[0].item.path.endswith("flower.jpg") and hits[0].is_relevant and hits[0].relevance > 0.5
    others = hits[1:]
    assert others and not any(hit.is_relevant for hit in others)  # a cow's moo is not a red flower
    recipe = _by_name(small.search("a recipe"))["coffee_recipe.txt"]
    assert recipe.is_relevant


def test_relevance_does_not_depend_on_the_library(libraries):
    small, larger = libraries
    for query, name in (("a red flower", "flower.jpg"), ("a cow mooing", "cow.ogg")):
        in_small, in_larger = _by_name(small.search(query))[name], _by_name(larger.search(query, limit=20))[name]
        # the same file's vector differs in the fourth decimal with the batch it was embedded in
        assert in_small.similarity == pytest.approx(in_larger.similarity, abs=2e-3)
        assert in_small.score == pytest.approx(in_larger.score, abs=0.05)
        assert in_small.relevance == pytest.approx(in_larger.relevance, abs=0.01)


def test_a_photo_as_the_query_finds_its_note_and_passes_few(libraries):
    _, larger = libraries
    hits = larger.search_file(DEMO / "photos" / "chelsea_the_cat.jpg", limit=15)
    relevant = [Path(hit.item.path).name for hit in hits if hit.is_relevant]
    assert "our_cat.md" in relevant
    assert len(relevant) <= 5  # of 15 other items, most are unrelated to a cat


def test_a_query_with_no_answer_in_the_library_passes_less_than_one_with(libraries):
    _, larger = libraries
    present = [hit for hit in larger.search("a cat", limit=16) if hit.is_relevant]
    absent = [hit for hit in larger.search("a violin being played", limit=16) if hit.is_relevant]
    assert {"chelsea_the_cat.jpg", "cat.ogg", "our_cat.md"} <= {Path(hit.item.path).name for hit in present}
    assert len(absent) < len(present) and len(absent) <= 2


def test_a_combined_query_is_judged_by_its_terms(libraries):
    small, _ = libraries
    engine = small.search_engine

    def score(expression: str, name: str = "flower.jpg") -> float:
        vector, judges = engine.embed_query(Query.parse(expression))
        return _by_name(engine.search(vector, judges=judges, limit=10))[name].score  # no keywords

    flower, recipe = score('"a red flower"'), score('"a recipe"')
    assert flower > 0 > recipe
    assert score('"a red flower" + "a recipe"') == pytest.approx((flower + recipe) / 2, abs=0.05)
    assert score('3:"a red flower" + "a recipe"') == pytest.approx((3 * flower + recipe) / 4, abs=0.05)
    # a subtracted term counts only against the items it finds relevant
    assert score('"a red flower" - "a recipe"') == pytest.approx(flower, abs=0.05)
    assert score('"a red flower" - "a flower"') < flower - 1


def test_relevance_is_the_log_odds_as_a_probability():
    assert relevance(0.0) == 0.5
    assert relevance(2.0) == pytest.approx(0.8808, abs=1e-4)
    assert relevance(-1e9) < 1e-20 and relevance(1e9) > 1 - 1e-12  # no overflow at the extremes


def test_a_model_without_calibration_falls_back_and_a_damaged_one_is_an_error(tmp_path):
    assert not Calibration.load(tmp_path, KIND_NAMES).calibrated
    (tmp_path / CALIBRATION_FILE).write_text("{not json")
    with pytest.raises(CalibrationError, match="unreadable"):
        Calibration.load(tmp_path, KIND_NAMES)
    assert issubclass(CalibrationError, ModelError)  # reported like any damaged model file
    good = json.loads((BUNDLED_MODEL_DIR / CALIBRATION_FILE).read_text())
    for broken in ({**good, "format": 99}, {**good, "cells": {"text->video": {"slope": 1, "intercept": 0}}},
                   {**good, "cells": {"text->image": {"slope": "steep"}}},
                   {**good, "cells": {"smell->image": {"slope": 1, "intercept": 0}}}):
        (tmp_path / CALIBRATION_FILE).write_text(json.dumps(broken))
        with pytest.raises(CalibrationError):
            Calibration.load(tmp_path, KIND_NAMES)


def test_a_damaged_calibration_is_reported_by_search_and_doctor(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    for source in BUNDLED_MODEL_DIR.iterdir():
        if source.name != CALIBRATION_FILE:
            (model / source.name).symlink_to(source)
    (model / CALIBRATION_FILE).write_text("{truncated")
    check = check_model(model)
    assert not check.ok and "calibration.json: unreadable" in check.detail
    library = Library(tmp_path / "library.db", embedder=Embedder(model))
    library.add_folder(DEMO / "drawings")
    with pytest.raises(ModelError, match="calibration.json: unreadable"):
        library.search("a cat")
    (model / CALIBRATION_FILE).unlink()  # without one: the library z-score stands in, and doctor says so
    assert "relevance depends on the library" in check_model(model).detail
