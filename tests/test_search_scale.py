"""The search index beside the database (core/search/ann.py), through the door: ranking on vectors
with known answers, filters inside the candidate search (never short of `limit`), and the index
rebuilt or caught up when it is missing, stale, foreign, or the database changed behind its back.
Real sqlite-vec databases, the real model's width and id; no timings (bench/search.py has them)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from core.kinds import KIND_NAMES, SEMANTIC
from core.library import Library
from core.search import ann
from core.store import LibraryStore

FOLDERS = ["/lib/a", "/lib/b"]
DAY = 86400
START = 1_600_000_000


def unit(vector) -> np.ndarray:
    vector = np.asarray(vector, np.float32)
    return vector / np.linalg.norm(vector)


def at_angle(dim: int, cosine: float, spare_axis: int) -> np.ndarray:
    """A unit vector whose cosine to axis 0 is `cosine` (the rest along `spare_axis`)."""
    vector = np.zeros(dim, np.float32)
    vector[0], vector[spare_axis] = cosine, np.sqrt(1 - cosine * cosine)
    return vector


def add(store: LibraryStore, rows) -> dict[str, int]:
    """rows: (name, kind, folder, day, vector) -> {name: item id}."""
    ids = {}
    with store.transaction():
        for name, kind, folder, day, vector in rows:
            item_id = store.record_scanned(f"{folder}/{name}", folder, kind, 1, 1.0, f"hash-{name}")
            store.mark_done(item_id, {SEMANTIC: unit(vector)}, taken_at=START + day * DAY)
            ids[name] = item_id
    return ids


def new_library(path, embedder, rows) -> tuple[Library, dict[str, int]]:
    library = Library(path, embedder=embedder)
    library.bind_model()
    for folder in FOLDERS:
        library.store.add_folder(folder)
    return library, add(library.store, rows)


def noise(rng, n: int, dim: int, kinds=KIND_NAMES):
    """n unrelated items, spread over kinds, folders and days; orthogonal-ish to axis 0."""
    for i in range(n):
        vector = rng.normal(size=dim).astype(np.float32)
        vector[0] = 0.0
        yield (f"noise{i}.x", kinds[i % len(kinds)], FOLDERS[i % 2], 200 + i % 100, vector)


@pytest.fixture
def known(tmp_path, embedder):
    """Twenty photos at known cosines to axis 0 in folder a, five recordings in folder b on days
    10-14, and 400 unrelated items."""
    dim = embedder.dim
    rows = [(f"photo{i:02d}.jpg", "image", FOLDERS[0], 100 + i, at_angle(dim, 0.95 - 0.04 * i, 1 + i))
            for i in range(20)]
    rows += [(f"sound{i}.ogg", "audio", FOLDERS[1], 10 + i, at_angle(dim, 0.5 - 0.05 * i, 30 + i)) for i in range(5)]
    rows += list(noise(np.random.default_rng(0), 400, dim))
    library, ids = new_library(tmp_path / "library.db", embedder, rows)
    yield library, ids, at_angle(dim, 1.0, 1)
    library.close()


def names(hits) -> list[str]:
    return [hit.item.path.rsplit("/", 1)[1] for hit in hits]


def test_ranking_follows_the_known_cosines(known):
    library, _, query = known
    hits = library.search_vector(query, ("image",), limit=7)
    assert names(hits) == [f"photo{i:02d}.jpg" for i in range(7)]
    assert [round(hit.similarity, 3) for hit in hits] == [round(0.95 - 0.04 * i, 3) for i in range(7)]
    merged = library.search_vector(query, limit=30)
    assert {"photo00.jpg", "sound0.ogg"} <= set(names(merged))  # each kind's best reaches the merged list


def test_filters_keep_only_matching_items_and_never_fall_short(known):
    library, _, query = known
    sounds = library.search_vector(query, ("audio",), limit=10, folder=FOLDERS[1])
    assert len(sounds) == 10 and names(sounds)[:5] == [f"sound{i}.ogg" for i in range(5)]
    window = library.search_vector(query, ("audio",), limit=10, folder=FOLDERS[1],
                                   after=_day(11), before=_day(13))
    assert names(window) == ["sound1.ogg", "sound2.ogg", "sound3.ogg"]  # fewer than limit: all there are
    photos_b = library.search_vector(query, ("image",), limit=10, folder=FOLDERS[1])
    assert photos_b and not any(name.startswith("photo") for name in names(photos_b))
    assert library.search_vector(query, ("image",), limit=10, after=_day(400)) == []


def _day(offset: int) -> str:
    import datetime as dt

    return dt.date.fromtimestamp(START + offset * DAY).isoformat()


def test_the_index_file_is_rebuilt_when_deleted_or_foreign(known, tmp_path, embedder):
    library, _, query = known
    before = names(library.search_vector(query, ("image",), limit=5))
    path = ann.index_path(library.db_path, SEMANTIC)
    assert path.is_file()
    path.unlink()
    with Library(library.db_path, embedder=embedder) as again:
        assert names(again.search_vector(query, ("image",), limit=5)) == before
    assert path.is_file()
    # A file from another library (another journal epoch) is never trusted.
    other, _ = new_library(tmp_path / "other.db", embedder, list(noise(np.random.default_rng(1), 50, embedder.dim)))
    other.search_vector(query, limit=3)
    other.close()
    shutil.copy(ann.index_path(tmp_path / "other.db", SEMANTIC), path)
    with Library(library.db_path, embedder=embedder) as again:
        assert names(again.search_vector(query, ("image",), limit=5)) == before


def test_changes_behind_the_index_back_are_seen(known, embedder):
    library, ids, query = known
    assert names(library.search_vector(query, ("image",), limit=1)) == ["photo00.jpg"]
    with LibraryStore(library.db_path) as other:  # another process indexing
        other.delete_items([ids["photo00.jpg"]])
        add(other, [("closer.jpg", "image", FOLDERS[1], 5, at_angle(embedder.dim, 0.99, 200))])
        other.move_item(ids["photo01.jpg"], f"{FOLDERS[1]}/photo01.jpg", FOLDERS[1], 1.0)
    hits = library.search_vector(query, ("image",), limit=3)
    assert names(hits) == ["closer.jpg", "photo01.jpg", "photo02.jpg"]
    assert names(library.search_vector(query, ("image",), limit=2, folder=FOLDERS[1])) == ["closer.jpg", "photo01.jpg"]
    # A later process opens the index file written before those changes and catches up.
    with Library(library.db_path, embedder=embedder) as later:
        assert names(later.search_vector(query, ("image",), limit=3)) == names(hits)


def test_changes_whose_vectors_left_the_journal_are_read_from_the_table(known, embedder):
    library, _, query = known
    library.search_vector(query, limit=1)
    with LibraryStore(library.db_path) as other:
        add(other, [("closer.jpg", "image", FOLDERS[0], 5, at_angle(embedder.dim, 0.99, 200))])
        with other.transaction():
            other.conn.execute("DELETE FROM vector_change_vectors")  # as after 20k later changes
    assert names(library.search_vector(query, ("image",), limit=1)) == ["closer.jpg"]


def test_inverted_lists_with_a_narrow_filter_still_fill_the_limit(tmp_path, embedder, monkeypatch):
    """Past EXACT_BELOW the index probes only some lists; a narrow filter must make it probe more
    (here: all) rather than come back short."""
    monkeypatch.setattr(ann, "EXACT_BELOW", 1000)
    rng = np.random.default_rng(3)
    rows = list(noise(rng, 3000, embedder.dim, kinds=("image",)))
    rows += [(f"rare{i}.ogg", "audio", FOLDERS[1], 7, rng.normal(size=embedder.dim)) for i in range(12)]
    library, ids = new_library(tmp_path / "library.db", embedder, rows)
    with library:
        query = unit(rng.normal(size=embedder.dim))
        hits = library.search_vector(query, ("audio",), limit=10, folder=FOLDERS[1])
        assert library.search_engine.index.lists > 1
        vectors = library.store.vectors_of(SEMANTIC, [ids[f"rare{i}.ogg"] for i in range(12)])
        exact = sorted(vectors, key=lambda item_id: -float(vectors[item_id] @ query))[:10]
        assert [hit.item.id for hit in hits] == exact
        everything = library.search_vector(query, ("image",), limit=10)
        assert len(everything) == 10


def test_a_bad_query_vector_is_refused(known):
    library, _, _ = known
    from core.library import QueryError

    with pytest.raises(QueryError, match="numbers"):
        library.search_vector(np.ones(3))
    with pytest.raises(QueryError, match="zeros"):
        library.search_vector(np.zeros(library.embedder.dim))
