"""Queries (issue 38): the grammar and its errors, query arithmetic on the real model, filters
inside the KNN (kind, date, folder, sub-folder) that still give `limit` hits, more like this, and
a recording in memory searched like its file. One small real library, indexed once."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile

from core.library import Library, Query, QueryError
from core.search import engine as search_engine
from core.search.query import parse_query
from tests.conftest import DEMO, run_cli

FILES = {
    "photos": ["chelsea_the_cat.jpg", "coffee.jpg", "flower.jpg", "rocket_launch.jpg", "astronaut.jpg"],
    "drawings": ["kitten.png", "dog_on_leash.png", "apple.png", "sailboat.png", "umbrella.png"],
    "notes": ["our_cat.md", "coffee_recipe.txt", "garden_plans.txt", "beach_holiday.md"],
    "sounds": ["cat.ogg", "dog.ogg", "cow.ogg"],
    "memos": ["memo_01.wav"],
}
OLD = dt.datetime(2019, 3, 15, 12).timestamp()  # the drawings' file date
NEW = dt.datetime(2022, 6, 1, 12).timestamp()  # everything else's


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, embedder):
    base = tmp_path_factory.mktemp("query")
    root = base / "media"
    for folder, names in FILES.items():
        (root / folder).mkdir(parents=True)
        for name in names:
            shutil.copy(DEMO / folder / name, root / folder / name)
            stamp = OLD if folder == "drawings" else NEW
            os.utime(root / folder / name, (stamp, stamp))
    with Library(base / "lib.db", embedder=embedder) as library:
        library.index([root])
        yield library, root, base / "lib.db"


def names(hits) -> list[str]:
    return [Path(hit.item.path).name for hit in hits]


# -- the grammar --------------------------------------------------------------------------------
def test_plain_text_with_plus_or_minus_inside_words_stays_one_text_term():
    for text in ("a cat", "t-shirt", "rock-n-roll", "C++ code", "-5 degrees", "10:30 meeting", "a+b", "x -y"):
        query = parse_query(text)
        assert [(t.weight, t.text) for t in query.terms] == [(1.0, text)], text


def test_terms_weights_quotes_and_files(tmp_path):
    photo = tmp_path / "sunset.jpg"
    shutil.copy(DEMO / "photos" / "flower.jpg", photo)
    query = parse_query('"beach" + sunset.jpg - people', cwd=str(tmp_path))
    assert [(t.weight, t.text, t.path) for t in query.terms] == [
        (1.0, "beach", None), (1.0, None, str(photo)), (-1.0, "people", None)]
    assert query.files == (str(photo),)
    weighted = parse_query('2:"dog" + "snow" - 0.5:file:sunset.jpg', cwd=str(tmp_path))
    assert [(t.weight, t.text or t.path) for t in weighted.terms] == [(2.0, "dog"), (1.0, "snow"), (-0.5, str(photo))]
    assert weighted.files == ()  # a subtracted file is not left out of the hits
    quoted = parse_query('"sunset.jpg" + "rock + roll"', cwd=str(tmp_path))  # quotes: always text
    assert [t.text for t in quoted.terms] == ["sunset.jpg", "rock + roll"]
    assert [t.text for t in parse_query('"a"+"b" - c').terms] == ["a", "b", "c"]


@pytest.mark.parametrize("expression, message, column", [
    ('"beach" + + sunset', "a term is missing after '+'", 9),
    ("a cat -", "a term is missing after '-'", 7),
    ('"beach + sunset', "never closed", 1),
    ('2:"dog"snow + cat', "text after the closing quote", 8),
    ("0:dog + cat", "weight of 0", 1),
    ("- people", "only terms to subtract", 3),
    ("cat + sunset.jpg", "sunset.jpg: no such file", 7),
    ("cat + file:nope.wav", "nope.wav: no such file", 7),
    ('cat + ""', "empty quotes", 7),
])
def test_a_bad_expression_points_at_the_offending_part(tmp_path, expression, message, column):
    with pytest.raises(QueryError) as caught:
        parse_query(expression, cwd=str(tmp_path))
    error = caught.value
    assert message in str(error) and error.position == column - 1
    shown, caret = str(error).splitlines()[1:3]
    assert shown.strip() == expression and caret.index("^") - 2 == column - 1
    assert f"column {column}" in str(error)


# -- arithmetic on the real model ---------------------------------------------------------------
def test_a_plain_text_query_is_exactly_todays_search(indexed):
    library, _, _ = indexed
    engine = library.search_engine
    assert np.array_equal(engine.query_vector(Query.parse("a cat")), engine.text_vector("a cat"))
    by_text = [(h.item.path, h.score) for h in library.search_text("a cat", limit=6)]
    assert [(h.item.path, h.score) for h in library.search("a cat", limit=6)] == by_text


def test_the_query_vector_is_the_normalised_weighted_sum(indexed):
    library, _, _ = indexed
    engine = library.search_engine
    dog, snow = engine.text_vector("dog"), engine.text_vector("snow")
    expected = 2 * dog.astype(np.float64) + snow
    expected /= np.linalg.norm(expected)
    assert np.allclose(engine.query_vector(Query.parse('2:"dog" + "snow"')), expected, atol=1e-6)
    assert np.allclose(engine.query_vector(2 * Query.text("dog") + Query.text("snow")), expected, atol=1e-6)
    with pytest.raises(QueryError, match="cancel"):
        engine.query_vector(Query.parse('"dog" - "dog"'))


def test_arithmetic_moves_the_results_in_the_way_it_says(indexed):
    library, root, _ = indexed
    images = ("image",)
    assert names(library.search("a cat", images, limit=3))[0] == "chelsea_the_cat.jpg"
    # Adding "a drawing" brings the drawn kitten up past the photographed cat.
    assert names(library.search('"a cat" + "a drawing"', images, limit=3))[0] == "kitten.png"
    # Taking "animal" away leaves the cat photo on top, and the other animals fall out of the top 3.
    without = names(library.search("a cat - animal", images, limit=3))
    assert without[0] == "chelsea_the_cat.jpg" and not {"kitten.png", "dog_on_leash.png"} & set(without)
    # An image term: the cat photo, minus "cat", plus "dog" finds the dog; the photo itself is left out.
    cat_photo = root / "photos" / "chelsea_the_cat.jpg"
    swapped = names(library.search(f'{cat_photo} - "cat" + "dog"', images, limit=3))
    assert swapped[0] == "dog_on_leash.png" and "chelsea_the_cat.jpg" not in swapped


# -- filters inside the KNN ---------------------------------------------------------------------
def test_kind_and_date_filters_keep_only_matching_items_and_still_fill_the_limit(indexed):
    library, root, _ = indexed
    hits = library.search("a cup of coffee", ("image",), limit=4, before="2019-12-31")
    # Photos are the nearest images to coffee; the old drawings still fill all four places.
    assert len(hits) == 4 and all(Path(h.item.path).parent.name == "drawings" for h in hits)
    recent = library.search("a cup of coffee", limit=12, after="2020-01-01")
    assert len(recent) == 12 and not any(Path(h.item.path).parent.name == "drawings" for h in recent)
    one_day = library.search("a cat", limit=10, after="2019-03-15", before="2019-03-15")  # both days included
    assert sorted(names(one_day)) == sorted(FILES["drawings"])  # fewer than limit: all there are
    assert library.search("a cat", limit=10, after="2019-03-16", before="2022-05-31") == []
    with pytest.raises(QueryError, match="YYYY-MM-DD"):
        library.search("a cat", after="last week")


def test_folder_and_sub_folder_filters(indexed, monkeypatch, tmp_path):
    library, root, _ = indexed
    everything = library.search("a cup of coffee", limit=10, folder=root)
    assert len(everything) == 10
    drawings = library.search("a cup of coffee", ("image",), limit=3, folder=root / "drawings")
    assert len(drawings) == 3 and all(Path(h.item.path).parent == root / "drawings" for h in drawings)
    nearest_images = names(library.search("a cup of coffee", ("image",), limit=3))
    assert len(set(nearest_images) & set(FILES["drawings"])) < 3  # so the KNN had to be asked for more
    # Past the neighbours checked one by one the sub-folder's items are listed for the index: same answer.
    monkeypatch.setattr(search_engine, "SUBFOLDER_FETCH", 2)
    assert names(library.search("a cup of coffee", ("image",), limit=3, folder=root / "drawings")) == names(drawings)
    with pytest.raises(QueryError, match="not in the library"):
        library.search("a cat", folder=tmp_path)


# -- more like this, and a recording in memory ----------------------------------------------------
def test_more_like_an_item_leaves_the_item_out(indexed):
    library, root, _ = indexed
    item = root / "notes" / "coffee_recipe.txt"
    hits = library.search_like(item, limit=5)
    assert len(hits) == 5 and str(item) not in [h.item.path for h in hits]
    assert "coffee.jpg" in names(hits)[:3]
    engine = library.search_engine
    stored = engine.stored_vector(str(item))
    assert stored is not None and float(stored @ engine.file_vector(item)) >= 0.9999


def test_a_waveform_query_is_the_file_query_of_the_same_recording(indexed):
    library, root, _ = indexed
    memo = root / "memos" / "memo_01.wav"
    samples, rate = soundfile.read(memo, dtype="float32")
    engine = library.search_engine
    from_file = engine.file_vector(memo)
    from_waveform = engine.query_vector(Query.waveform(samples, rate))
    assert float(from_file @ from_waveform) >= 0.9999
    hits = library.search_waveform(samples, rate, ("audio",), limit=3)
    assert names(hits)[0] == "memo_01.wav"  # nothing to leave out: the microphone is not a file


def test_the_command_line_takes_the_grammar_filters_and_like(indexed):
    _, root, db = indexed
    found = run_cli("--db", str(db), "search", "--json", "--kind", "image", "--before", "2019-12-31",
                    "--folder", str(root), '"a cat" + "a drawing"', "--limit", "2")
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)
    assert [Path(h["path"]).name for h in hits][0] == "kitten.png" and len(hits) == 2
    like = run_cli("--db", str(db), "search", "--json", "--like", str(root / "photos" / "coffee.jpg"),
                   "--folder", str(root / "photos"))
    assert like.returncode == 0, like.stderr
    paths = [h["path"] for h in json.loads(like.stdout)]
    assert len(paths) == 4 and str(root / "photos" / "coffee.jpg") not in paths
    separate = run_cli("--db", str(db), "search", "--json", "--kind", "image", "--limit", "3", "a", "cat", "-", "animal")
    assert separate.returncode == 0, separate.stderr  # the shell's words are joined back into one expression
    top = [Path(h["path"]).name for h in json.loads(separate.stdout)]
    assert top[0] == "chelsea_the_cat.jpg" and "kitten.png" not in top
    bad = run_cli("--db", str(db), "search", "cat + + dog")
    assert bad.returncode == 1 and "^" in bad.stderr and "missing" in bad.stderr


def test_a_term_that_cannot_be_embedded_is_pointed_at(indexed, tmp_path):
    library, _, _ = indexed
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a picture at all")
    with pytest.raises(QueryError) as caught:
        library.search(f'"a cat" + {broken}')
    assert "broken.jpg" in str(caught.value) and caught.value.position == len('"a cat" + ')
    with pytest.raises(QueryError, match="broken.jpg"):  # one term: the message alone
        library.search_like(broken)


def test_an_empty_library_answers_a_combined_query_with_nothing(tmp_path, embedder):
    with Library(tmp_path / "empty.db", embedder=embedder) as library:
        assert library.search('"a cat" - "dog"', after="2020-01-01") == []
