"""The library store on the real sqlite-vec: migrations, transactions, vectors, crash safety."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from core.store import SCHEMA_VERSION, LibraryStore, SchemaTooNew, get_driver
from core.store.schema import migrate, schema_version


def unit(rng, n, dim):
    vectors = rng.normal(size=(n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_new_database_is_migrated_to_current_version(tmp_path):
    with LibraryStore(tmp_path / "lib.db") as store:
        assert schema_version(store.conn) == SCHEMA_VERSION
        tables = {row[0] for row in store.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"items", "folders", "meta"} <= tables
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    # Re-opening applies nothing.
    with LibraryStore(tmp_path / "lib.db") as store:
        assert migrate(store.conn) == 0


def test_migrations_run_in_order_and_keep_data(tmp_path):
    conn = get_driver().connect(tmp_path / "m.db")
    first = lambda c: c.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    second = lambda c: c.execute("ALTER TABLE notes ADD COLUMN stars INTEGER NOT NULL DEFAULT 0")
    assert migrate(conn, [first]) == 1
    conn.execute("INSERT INTO notes(body) VALUES ('kept')")
    assert migrate(conn, [first, second]) == 1
    assert conn.execute("SELECT body, stars FROM notes").fetchall() == [("kept", 0)]
    assert schema_version(conn) == 2


def test_failed_migration_rolls_back_completely(tmp_path):
    conn = get_driver().connect(tmp_path / "m.db")

    def broken(c):
        c.execute("CREATE TABLE half_done (x)")
        raise RuntimeError("migration bug")

    with pytest.raises(RuntimeError):
        migrate(conn, [broken])
    assert schema_version(conn) == 0
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name='half_done'").fetchone()[0] == 0


def test_database_from_a_newer_app_is_refused(tmp_path):
    conn = get_driver().connect(tmp_path / "future.db")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.close()
    with pytest.raises(SchemaTooNew, match="newer"):
        LibraryStore(tmp_path / "future.db")


def test_transaction_rolls_back_on_error(tmp_path):
    with LibraryStore(tmp_path / "lib.db") as store:
        with pytest.raises(ValueError):
            with store.transaction():
                store.record_scanned("/x/a.jpg", "/x", "image", 1, 1.0, "h1")
                raise ValueError("boom")
        assert store.all_items() == []


def test_vectors_knn_filters_and_model_change(tmp_path):
    rng = np.random.default_rng(0)
    vectors = unit(rng, 6, 8)
    with LibraryStore(tmp_path / "lib.db") as store:
        assert store.bind_channel("semantic", "model-a", 8) == 0
        ids = []
        for i, vector in enumerate(vectors):
            kind = "image" if i % 2 == 0 else "text"
            item_id = store.record_scanned(f"/lib/{i}", "/lib", kind, 10, 1.0, f"h{i}")
            store.mark_done(item_id, {"semantic": vector}, taken_at=1000.0 + i)
            ids.append(item_id)
        hits = store.nearest("semantic", vectors[2], 3)
        assert hits[0].item_id == ids[2]
        assert hits[0].similarity == pytest.approx(1.0, abs=1e-5)
        expected = np.sort(vectors @ vectors[2])[::-1][:3]
        assert [h.similarity for h in hits] == pytest.approx(list(expected), abs=1e-5)
        images = store.nearest("semantic", vectors[1], 10, kind="image")
        assert {h.item_id for h in images} == {ids[0], ids[2], ids[4]}
        # Another model invalidates every vector and re-creates the table at its width.
        assert store.bind_channel("semantic", "model-b", 16) == 6
        assert store.nearest("semantic", np.ones(16, np.float32) / 4, 5) == []
        assert {item.status for item in store.all_items()} == {"pending"}
        assert store.channel("semantic").dim == 16


def test_wrong_vector_width_is_rejected(tmp_path):
    with LibraryStore(tmp_path / "lib.db") as store:
        store.bind_channel("semantic", "m", 8)
        item_id = store.record_scanned("/lib/a.jpg", "/lib", "image", 1, 1.0, "h")
        with pytest.raises(ValueError, match="shape"):
            store.mark_done(item_id, {"semantic": np.ones(4, np.float32)})
        assert store.item(item_id).status == "pending"  # nothing half-written


WRITER = textwrap.dedent(
    """
    import sys, numpy as np
    from core.store import LibraryStore
    store = LibraryStore(sys.argv[1])
    store.bind_channel("semantic", "m", 32)
    rng = np.random.default_rng(1)
    with store.transaction():  # committed batch
        for i in range(50):
            store.mark_done(store.record_scanned(f"/lib/committed{i}", "/lib", "text", 1, 1.0, f"c{i}"),
                            {"semantic": rng.normal(size=32).astype("float32") / 6})
    print("committed", flush=True)
    with store.transaction():  # killed halfway through this one
        for i in range(10**7):
            store.mark_done(store.record_scanned(f"/lib/doomed{i}", "/lib", "text", 1, 1.0, f"d{i}"),
                            {"semantic": rng.normal(size=32).astype("float32") / 6})
            if i == 500:
                print("writing", flush=True)
    """
)


def test_process_killed_mid_write_leaves_a_valid_database(tmp_path):
    db = tmp_path / "lib.db"
    from tests.conftest import REPO

    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(db)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "committed"
    assert writer.stdout.readline().strip() == "writing"
    time.sleep(0.2)
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    with LibraryStore(db) as store:
        assert store.integrity_ok()
        paths = [item.path for item in store.all_items()]
        assert len(paths) == 50 and all("committed" in p for p in paths)
        ids, matrix = store.vectors("semantic")
        assert len(ids) == 50 and matrix.shape == (50, 32)


def test_revision_changes_on_own_and_other_connections_commits(tmp_path):
    with LibraryStore(tmp_path / "lib.db") as store, LibraryStore(tmp_path / "lib.db") as other:
        before = store.revision()
        assert store.revision() == before  # reading changes nothing
        store.record_scanned("/x/a.jpg", "/x", "image", 1, 1.0, "h1")
        after_own = store.revision()
        assert after_own != before
        other.record_scanned("/x/b.jpg", "/x", "image", 1, 1.0, "h2")
        assert store.revision() != after_own
        assert store.count_pending() == 2


def test_a_version_1_library_keeps_its_vectors_as_the_semantic_channel(tmp_path):
    """Libraries made before vector channels: item_vectors and meta's model id become the
    semantic channel, every vector kept, and the kind CHECK constraint is gone."""
    from core.store.schema import MIGRATIONS

    rng = np.random.default_rng(3)
    vectors = unit(rng, 5, 8)
    conn = get_driver().connect(tmp_path / "v1.db")
    migrate(conn, MIGRATIONS[:1])
    conn.execute("INSERT INTO meta(key, value) VALUES ('model_id', 'old-model'), ('dim', '8')")
    conn.execute("CREATE VIRTUAL TABLE item_vectors USING vec0(item_id INTEGER PRIMARY KEY, "
                 "embedding float[8], kind TEXT, taken_at INTEGER, folder TEXT)")
    for i, vector in enumerate(vectors, start=1):
        conn.execute("INSERT INTO items(id, path, folder, kind, status, has_vector, added_at, updated_at) "
                     "VALUES (?, ?, '/lib', 'image', 'done', 1, 0, 0)", (i, f"/lib/{i}.jpg"))
        conn.execute("INSERT INTO item_vectors(item_id, embedding, kind, taken_at, folder) VALUES (?, ?, 'image', 0, '/lib')",
                     (i, vector.tobytes()))
    conn.close()
    with LibraryStore(tmp_path / "v1.db") as store:
        assert store.channel("semantic").model_id == "old-model" and store.channel("semantic").dim == 8
        ids, matrix = store.vectors("semantic")
        assert sorted(ids) == [1, 2, 3, 4, 5]
        assert np.allclose(matrix[np.argsort(ids)], vectors)
        assert store.nearest("semantic", vectors[3], 1)[0].item_id == 4
        assert [i.status for i in store.all_items()] == ["done"] * 5
        assert store.bind_channel("semantic", "old-model", 8) == 0  # nothing to re-embed
        store.record_scanned("/lib/clip.mp4", "/lib", "video", 1, 1.0, "v")  # a future kind fits
        assert store.get_meta("model_id") is None


def test_threads_opening_one_new_database_at_once_all_get_it(tmp_path):
    """The window's workers open a new library together; none may fail with "database is locked"."""
    import threading

    # Without the retry, about one round in 40 failed here with 6 threads.
    for round_ in range(80):
        path = tmp_path / f"new-{round_}.db"
        start, errors = threading.Barrier(6), []

        def open_it():
            start.wait()
            try:
                LibraryStore(path).close()
            except Exception as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)

        threads = [threading.Thread(target=open_it) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        with LibraryStore(path) as store:
            assert store.integrity_ok() and schema_version(store.conn) == SCHEMA_VERSION
