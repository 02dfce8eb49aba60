"""The keyword index and hybrid ranking (issues 37 and 38): an FTS5 table of names, note text and
transcripts kept in step with the items; a rare word, a transcript word and a file name each find
their item first; FTS5's syntax in a query is plain text; moves, deletions and edits follow; the
migration fills the index of an existing library; fusion on constructed lists."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from core.library import Library, Query
from core.search import fusion
from core.store import LibraryStore, get_driver
from core.store.keywords import match_expression, name_words, query_words
from core.store.schema import MIGRATIONS, SCHEMA_VERSION, migrate
from tests.conftest import DEMO

FILES = {
    "photos": ["chelsea_the_cat.jpg", "hubble_deep_field.jpg", "coffee.jpg"],
    "notes": ["our_cat.md", "bike_trip.md", "coffee_recipe.txt"],
    "sounds": ["cat.ogg", "dog.ogg"],
    "memos": ["memo_03.wav"],
}
RARE_NOTE = "A quokka smiled at us on Rottnest island, then the ferry left without the sunscreen.\n"


def _build(root: Path) -> None:
    for folder, names in FILES.items():
        (root / folder).mkdir(parents=True)
        for name in names:
            shutil.copy(DEMO / folder / name, root / folder / name)
    (root / "notes" / "island_trip.txt").write_text(RARE_NOTE)
    shutil.copy(DEMO / "photos" / "flower.jpg", root / "photos" / "zanzibar_garden-party.jpg")


@pytest.fixture
def library(tmp_path, embedder):
    """A library of the test's own, to change."""
    root = tmp_path / "media"
    _build(root)
    with Library(tmp_path / "library.db", embedder=embedder) as lib:
        lib.index([root])
        yield lib, root


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, embedder):
    """One library, indexed once, for the tests that only search."""
    base = tmp_path_factory.mktemp("keywords")
    _build(base / "media")
    with Library(base / "library.db", embedder=embedder) as lib:
        lib.index([base / "media"])
        yield lib, base / "media"


def paths(hits) -> list[str]:
    return [Path(hit.item.path).name for hit in hits]


def test_an_exact_rare_word_from_a_note_finds_it_first(indexed):
    lib, root = indexed
    hits = lib.search_text("quokka")
    assert paths(hits)[0] == "island_trip.txt"
    assert "keywords" in hits[0].channels and hits[0].matched == ("quokka",)
    assert "[quokka]" in hits[0].snippet
    assert hits[0].score > hits[1].score  # its keyword share lifts it on the calibrated scale


def test_a_word_said_in_a_memo_finds_the_memo(indexed):
    lib, root = indexed
    transcript = lib.store.item_by_path(str(root / "memos" / "memo_03.wav")).extracted_text
    assert "vaccination" in transcript.lower()
    hits = lib.search_text("vaccination")
    assert "memo_03.wav" in paths(hits)[:2]  # with the cat note, which says it too
    memo = next(hit for hit in hits if hit.item.path.endswith("memo_03.wav"))
    assert "keywords" in memo.channels and memo.matched == ("vaccination",)
    assert paths(lib.search_text("vaccination", kinds=("audio",)))[0] == "memo_03.wav"


def test_a_file_name_finds_the_file(indexed):
    lib, _ = indexed
    assert paths(lib.search_text("zanzibar"))[0] == "zanzibar_garden-party.jpg"
    assert paths(lib.search_text("garden party"))[0] == "zanzibar_garden-party.jpg"
    top = lib.search_text("hubble deep field")[0]
    assert paths([top]) == ["hubble_deep_field.jpg"] and set(top.channels) == {"semantic", "keywords"}
    assert top.matched == ("hubble", "deep", "field")


def test_semantic_queries_still_rank_by_meaning(indexed):
    lib, _ = indexed
    top = paths(lib.search_text("a cat", limit=3))
    assert top[0] == "chelsea_the_cat.jpg"  # "a" is not a keyword; "cat" lifts every item that holds it
    assert set(top) <= {"chelsea_the_cat.jpg", "our_cat.md", "cat.ogg", "memo_03.wav"}
    plain = lib.search_text("a cup of coffee on a table")
    assert {paths(plain[:2])[0], paths(plain[:2])[1]} == {"coffee.jpg", "coffee_recipe.txt"}
    assert all(hit.is_relevant for hit in plain[:2])
    assert all(hit.channels == ("semantic",) for hit in lib.search_text("a sunny seaside town"))


@pytest.mark.parametrize("text", [
    '"', '""', 'quokka"', '"quokka', "quo\"kka", "*", "quokka*", "NEAR(quokka ferry)", "quokka AND", "OR",
    "NOT quokka", "^quokka", "name:quokka", "body: quokka", "{name body}: quokka", "(", ")", "quokka)",
    "'; DROP TABLE items; --", "+", "- quokka", "quokka -ferry", "ca\u0301fe\u0301 quokka", "😺 quokka",
    "quokka \udcff", "\x00quokka", "QUOKKA", "Quökka", "ǫuokka", "東京 quokka", "a" * 5000,
])
def test_fts5_syntax_in_a_query_is_plain_text(indexed, text):
    lib, root = indexed
    matches = lib.store.keyword_matches(text, 5)
    hits = lib.search(Query.text(text))  # no error, whatever the text
    if "quokka" in text.lower():
        assert [m.item_id for m in matches][:1] == [lib.store.item_by_path(str(root / "notes" / "island_trip.txt")).id]
        assert "island_trip.txt" in paths(hits)
    if query_words(text) == ["quokka"]:
        assert paths(hits)[0] == "island_trip.txt"


def test_user_words_are_quoted_for_match():
    assert match_expression('say "hi" NEAR x*') == '"say" OR "hi" OR "near" OR "x"'
    assert match_expression("?! -- ()") is None
    assert query_words("a cat on the mat") == ["cat", "mat"]
    assert query_words("the") == ["the"]  # only function words: kept
    assert name_words("/x/Chelsea_the-cat.JPG") == "Chelsea the cat"
    assert name_words(os.fsdecode(b"/x/caf\xe9_menu.md")) == "café menu"


def test_keywords_follow_moves_edits_and_deletions(library):
    lib, root = library
    note = root / "notes" / "island_trip.txt"
    moved = root / "notes" / "holiday" / "wombat_weekend.txt"
    moved.parent.mkdir()
    old_id = lib.store.item_by_path(str(note)).id
    note.rename(moved)
    lib.index()
    # renamed: a note's title is part of its vector, so it is embedded again as a new item
    item_id = lib.store.item_by_path(str(moved)).id
    assert item_id != old_id and lib.store.item(old_id) is None and lib.store.keyword_row(old_id) is None
    assert lib.store.keyword_row(item_id) == ("wombat weekend", RARE_NOTE)
    assert paths(lib.search_text("wombat"))[0] == "wombat_weekend.txt"
    assert paths(lib.search_text("quokka"))[0] == "wombat_weekend.txt"

    moved.write_text("Numbat spotting at dawn in the jarrah forest.\n")
    os.utime(moved, (1, 1))
    lib.index()
    assert lib.store.keyword_row(item_id)[1].startswith("Numbat")
    assert paths(lib.search_text("numbat"))[0] == "wombat_weekend.txt"
    assert lib.store.keyword_matches("quokka", 5) == []  # the old words left with the old text

    moved.unlink()
    lib.index()
    assert lib.store.keyword_row(item_id) is None
    assert lib.store.keyword_matches("numbat", 5) == []
    assert lib.store.conn.execute("SELECT count(*) FROM keywords").fetchone()[0] == len(lib.store.all_items())


@pytest.mark.skipif(sys.platform != "linux", reason="names that are not UTF-8 need a POSIX file system")
def test_a_name_that_is_not_utf8_is_found_by_its_readable_part(library):
    lib, root = library
    odd = os.path.join(os.fsencode(root / "photos"), b"caf\xe9_okapi.jpg")  # Latin-1
    shutil.copy(DEMO / "photos" / "coffee.jpg", odd)
    lib.index()
    hit = lib.search_text("okapi")[0]
    assert hit.item.path == os.fsdecode(odd) and "keywords" in hit.channels
    assert lib.store.keyword_row(hit.item.id)[0] == "café okapi"  # its bytes read as Latin-1


def test_query_arithmetic_asks_the_keywords_for_its_positive_words_only(indexed, tmp_path):
    lib, root = indexed
    assert Query.parse('"quokka" + 2:"ferry" - sunscreen').keyword_text == "quokka ferry"
    photo = root / "photos" / "coffee.jpg"
    assert Query.parse(f'file:{photo} - "cat"').keyword_text is None
    hits = lib.search('"quokka" - "coffee"')
    assert paths(hits)[0] == "island_trip.txt"
    like = lib.search_file(root / "photos" / "zanzibar_garden-party.jpg")
    assert all(hit.channels == ("semantic",) for hit in like)  # more like this: no words to look for


def test_the_migration_fills_the_index_of_an_existing_library(tmp_path):
    db = tmp_path / "old.db"
    conn = get_driver().connect(db)
    migrate(conn, MIGRATIONS[:4])  # a library written before the keyword index
    for i, (path, text, status) in enumerate([
        ("/m/notes/quince_jam.md", "Quince jam with a vanilla pod", "done"),
        ("/m/memos/memo_07.wav", "pick up the dry cleaning on Tuesday", "done"),
        ("/m/photos/red_kite-over_hill.jpg", None, "done"),
        ("/m/photos/pending_one.jpg", None, "pending"),
    ]):
        conn.execute("INSERT INTO items(path, folder, kind, status, extracted_text, added_at, updated_at) "
                     "VALUES (?, '/m', ?, ?, ?, 0, 0)", (path, "text" if path.endswith(".md") else
                                                        "audio" if path.endswith(".wav") else "image", status, text))
    conn.execute(r"INSERT INTO items(path, folder, kind, status, added_at, updated_at) VALUES (?, '/m', 'image', "
                 "'done', 0, 0)", (b"/m/photos/\xe9t\xe9_okapi.jpg",))
    conn.close()
    with LibraryStore(db) as store:
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        found = lambda text: [store.item(m.item_id).path for m in store.keyword_matches(text, 5)]  # noqa: E731
        assert found("vanilla") == ["/m/notes/quince_jam.md"]
        assert found("cleaning") == ["/m/memos/memo_07.wav"]
        assert found("kite over") == ["/m/photos/red_kite-over_hill.jpg"]
        assert found("okapi") == found("ete") == [os.fsdecode(b"/m/photos/\xe9t\xe9_okapi.jpg")]
        assert found("pending") == []  # only indexed items are search results
        assert store.keyword_row(store.item_by_path("/m/photos/pending_one.jpg").id) == ("pending one", "")


def test_reciprocal_rank_fusion():
    fused = fusion.reciprocal_rank([[(1, 0.9), (2, 0.5)], [(2, 7.0), (3, 1.0)]], k=60)
    assert fusion.ranked(fused)[0][0] == 2  # in both lists
    assert fused[1] == pytest.approx(1 / 61) and fused[3] == pytest.approx(1 / 62)


def test_calibrated_fusion_adds_the_keyword_share_on_the_dense_scale():
    fused = fusion.calibrated({1: 3.0, 2: 1.0, 3: -0.5}, [(3, 1.0), (2, 0.25)], weight=6.0)
    assert fused == {1: 3.0, 2: 2.5, 3: 5.5}
    assert [i for i, _ in fusion.ranked(fused)] == [3, 1, 2]
    assert fusion.ranked({5: 1.0, 4: 1.0}) == [(4, 1.0), (5, 1.0)]  # ties: by id, reproducible
