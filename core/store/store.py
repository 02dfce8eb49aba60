"""The library database: media items, watched folders and their vectors in one SQLite file.

One writer at a time (SQLite's lock), WAL so readers never block it, and every change inside a
transaction so a killed process leaves either the old or the new state, never half of one.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from core.store.driver import get_driver
from core.store.folders import FolderSettings
from core.store.jobs import EMBED, JobQueue
from core.store.keywords import KeywordIndex
from core.store.melodies import MelodyNotes
from core.store.parts import ItemParts
from core.store.pathcodec import from_db, printable, to_db
from core.store.schema import SCHEMA_VERSION, prepare, schema_version
from core.store.vectors import VectorChannels


@dataclass
class MediaItem:
    id: int
    path: str
    folder: str
    kind: str
    size: int | None
    mtime: float | None
    content_hash: str | None
    status: str
    error: str | None
    has_vector: int
    model_id: str | None
    taken_at: float | None
    width: int | None
    height: int | None
    duration: float | None
    extracted_text: str | None
    added_at: float
    updated_at: float
    indexed_at: float | None
    warning: str | None  # indexed, but something about the file is off (e.g. truncated)


_ITEM_COLUMNS = ", ".join(f.name for f in fields(MediaItem))


def _item(row: Sequence) -> MediaItem:
    return MediaItem(row[0], from_db(row[1]), from_db(row[2]), *row[3:])


@dataclass(frozen=True)
class FolderProblem:
    """A folder the last scan of `root` could not check; its items were kept as they were."""

    path: str
    root: str
    reason: str
    seen_at: float
    items_kept: int


class ReadOnlyLibrary(RuntimeError):
    """The database can only be read (read-only file, folder or file system) and this needs to write."""


class LibraryStore(FolderSettings, VectorChannels, KeywordIndex, JobQueue, MelodyNotes, ItemParts):
    def __init__(self, path: str | Path, *, read_only: bool = False):
        """`read_only` opens an existing database without ever writing to it (no migration, no
        journal change), for reading a library on read-only media; writing then raises."""
        self.path = Path(path)
        self.read_only = read_only
        self.driver = get_driver()
        self._in_transaction = False
        self._local_commits = 0
        if read_only:
            self.conn = self._connect_read_only()
            return
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = self.driver.connect(self.path)
        prepare(self.conn, self.driver.module.OperationalError)

    def _connect_read_only(self):
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path}: no library database there")
        uri = self.path.resolve().as_uri()
        try:
            conn = self.driver.connect(f"{uri}?mode=ro", uri=True)
            version = schema_version(conn)
        except self.driver.module.OperationalError:
            # A WAL database whose -shm file is missing cannot be opened read-only in the normal
            # way (creating it needs write access); "immutable" promises SQLite nobody writes.
            conn = self.driver.connect(f"{uri}?immutable=1", uri=True)
            version = schema_version(conn)
        if version != SCHEMA_VERSION:
            conn.close()
            raise ReadOnlyLibrary(
                f"{self.path} was written by {'a newer' if version > SCHEMA_VERSION else 'an older'} "
                "Trimodal-Bind and cannot be upgraded here because it is read-only")
        return conn

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "LibraryStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on any exception. Nested calls join the outer one."""
        if self._in_transaction:
            yield
            return
        if self.read_only:
            raise ReadOnlyLibrary(f"{self.path} is open read-only; this change needs write access")
        self.conn.execute("BEGIN IMMEDIATE")
        self._in_transaction = True
        try:
            yield
        except BaseException:
            # SQLite may already have rolled back by itself (e.g. on SQLITE_FULL); a second
            # ROLLBACK would then fail and hide the real error.
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")
            self._local_commits += 1
        finally:
            self._in_transaction = False

    # -- meta ---------------------------------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction():
            self.conn.execute(
                "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    # -- the semantic channel's model, for status ---------------------------------------------
    def channel_model(self, channel: str) -> str | None:
        binding = self.channel(channel)
        return binding.model_id if binding else None

    # -- folders ------------------------------------------------------------------------------
    def add_folder(self, path: str, absorbs: Sequence[str] = (), patterns=None) -> bool:
        """Add a library folder. `absorbs` are library folders inside it: their items move to the
        new folder (keeping their vectors) and they stop being folders of their own. `patterns`:
        (include, exclude), set in the same transaction."""
        with self.transaction():
            cursor = self.conn.execute(
                "INSERT OR IGNORE INTO folders(path, added_at) VALUES (?, ?)", (to_db(path), time.time())
            )
            if patterns is not None:
                self.set_folder_patterns(path, *patterns)
            for child in absorbs:
                self._set_vector_folder([item.id for item in self.items_in_folder(child)], path)
                self.conn.execute("UPDATE items SET folder = ? WHERE folder = ?", (to_db(path), to_db(child)))
                self.conn.execute("DELETE FROM folders WHERE path = ?", (to_db(child),))
                self.conn.execute("DELETE FROM folder_problems WHERE root = ?", (to_db(child),))
        return cursor.rowcount > 0

    def remove_folder(self, path: str) -> int:
        """Forget a folder and everything indexed from it (the files themselves are untouched).
        Returns how many items were forgotten; all in one transaction."""
        with self.transaction():
            items = [item.id for item in self.items_in_folder(path)]
            self.delete_items(items)
            self.conn.execute("DELETE FROM folders WHERE path = ?", (to_db(path),))
            self.conn.execute("DELETE FROM folder_problems WHERE root = ?", (to_db(path),))
        return len(items)

    def folders(self) -> list[str]:
        return sorted(from_db(row[0]) for row in self.conn.execute("SELECT path FROM folders"))

    # -- folders a scan could not check ---------------------------------------------------------
    def set_folder_problems(self, root: str, problems: Iterable[tuple[str, str]]) -> None:
        """Replace what the last scan of `root` could not check (an empty list clears it)."""
        now = time.time()
        with self.transaction():
            self.conn.execute("DELETE FROM folder_problems WHERE root = ?", (to_db(root),))
            self.conn.executemany(
                "INSERT OR REPLACE INTO folder_problems(path, root, reason, seen_at) VALUES (?, ?, ?, ?)",
                [(to_db(path), to_db(root), printable(reason), now) for path, reason in problems])

    def folder_problems(self) -> list[FolderProblem]:
        rows = self.conn.execute("SELECT path, root, reason, seen_at FROM folder_problems").fetchall()
        problems = []
        for path, root, reason, seen_at in rows:
            path, root = from_db(path), from_db(root)
            kept = len(self.items_under(path)) if path != root else len(self.items_in_folder(root))
            problems.append(FolderProblem(path, root, reason, seen_at, kept))
        return sorted(problems, key=lambda p: p.path)

    # -- items --------------------------------------------------------------------------------
    def _items(self, where: str = "", params: Sequence = ()) -> list[MediaItem]:
        rows = self.conn.execute(f"SELECT {_ITEM_COLUMNS} FROM items {where}", params).fetchall()
        return [_item(row) for row in rows]

    def item(self, item_id: int) -> MediaItem | None:
        found = self._items("WHERE id = ?", (item_id,))
        return found[0] if found else None

    def item_by_path(self, path: str) -> MediaItem | None:
        found = self._items("WHERE path = ?", (to_db(path),))
        return found[0] if found else None

    def items_in_folder(self, folder: str) -> list[MediaItem]:
        """The items of one library folder (a root)."""
        return self._items("WHERE folder = ? ORDER BY path", (to_db(folder),))

    def items_under(self, path: str) -> list[MediaItem]:
        """The items at or below `path` (a file or any sub-folder), whichever root holds them."""
        prefix = path.rstrip(os.sep) + os.sep
        text_prefix, blob_prefix = printable(prefix), os.fsencode(prefix)
        # Plain-text names compare as text, raw-byte names as blobs; substr works on both.
        return self._items(
            "WHERE path = ? OR substr(path, 1, ?) = ? OR substr(path, 1, ?) = ? ORDER BY path",
            (to_db(path), len(text_prefix), text_prefix, len(blob_prefix), blob_prefix))

    def items_with_hash(self, content_hash: str) -> list[MediaItem]:
        return self._items("WHERE content_hash = ?", (content_hash,))

    def items_by_ids(self, ids: Iterable[int]) -> dict[int, MediaItem]:
        ids = list(ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        return {item.id: item for item in self._items(f"WHERE id IN ({marks})", ids)}

    def all_items(self, status: str | None = None) -> list[MediaItem]:
        if status:
            return self._items("WHERE status = ? ORDER BY path", (status,))
        return self._items("ORDER BY path")

    def revision(self) -> tuple[int, int]:
        """Changes whenever anything was committed, by this connection or another one; cheap
        enough to check on every query (no table scan)."""
        return self.conn.execute("PRAGMA data_version").fetchone()[0], self._local_commits

    def count_pending(self) -> int:
        return self.conn.execute("SELECT count(*) FROM items WHERE status = 'pending'").fetchone()[0]

    def pending_items(self, limit: int | None = None) -> list[MediaItem]:
        suffix = f" LIMIT {int(limit)}" if limit else ""
        return self._items("WHERE status = 'pending' ORDER BY id" + suffix)

    def record_scanned(
        self,
        path: str,
        folder: str,
        kind: str,
        size: int | None,
        mtime: float | None,
        content_hash: str | None,
        error: str | None = None,
        tasks: Sequence[str] = (EMBED,),
    ) -> int:
        """Insert or refresh a file seen on disk. A changed file loses its vector and goes back to
        pending, its `tasks` queued; a file that could not even be read is stored as failed with the
        reason (its jobs too)."""
        now = time.time()
        status = "failed" if error else "pending"
        path_db, folder_db = to_db(path), to_db(folder)
        error = printable(error) if error else None
        with self.transaction():
            existing = self.conn.execute("SELECT id FROM items WHERE path = ?", (path_db,)).fetchone()
            if existing:
                item_id = existing[0]
                self._delete_vectors(item_id)
                self.conn.execute(
                    "UPDATE items SET folder = ?, kind = ?, size = ?, mtime = ?, content_hash = ?, "
                    "status = ?, error = ?, warning = NULL, has_vector = 0, model_id = NULL, "
                    "updated_at = ?, indexed_at = NULL WHERE id = ?",
                    (folder_db, kind, size, mtime, content_hash, status, error, now, item_id),
                )
            else:
                item_id = self.conn.execute(
                    "INSERT INTO items(path, folder, kind, size, mtime, content_hash, status, error, "
                    "added_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (path_db, folder_db, kind, size, mtime, content_hash, status, error, now, now),
                ).lastrowid
            self._set_keywords(item_id, path, None)  # the name now; the text once embedded
            self._queue_jobs(item_id, tasks, status, error)
        return item_id

    def move_item(self, item_id: int, new_path: str, folder: str, mtime: float | None) -> None:
        """A file renamed or moved keeps its metadata and vector."""
        with self.transaction():
            self.conn.execute(
                "UPDATE items SET path = ?, folder = ?, mtime = ?, updated_at = ? WHERE id = ?",
                (to_db(new_path), to_db(folder), mtime, time.time(), item_id),
            )
            self._set_vector_folder([item_id], folder)
            self._rename_keywords(item_id, new_path)

    def mark_done(
        self,
        item_id: int,
        vectors: dict[str, np.ndarray],
        *,
        taken_at: float | None = None,
        width: int | None = None,
        height: int | None = None,
        duration: float | None = None,
        extracted_text: str | None = None,
        warning: str | None = None,
        content_hash: str | None = None,
        camera: str | None = None,
        latitude: float | None = None,
        longitude: float | None = None,
        replaces: Iterable[str] | None = None,
    ) -> None:
        """Store what was extracted and the item's vector in each channel that could embed it
        (none: the model has no tower for the item's kind; it is still found by its metadata).
        `content_hash`, when given, is the hash of the bytes that were embedded. `replaces`: the
        channels this outcome speaks for (all when None); other tasks' channels keep their vectors."""
        item = self.item(item_id)
        if item is None:
            return  # deleted while it was being embedded
        with self.transaction():
            self._delete_vectors(item_id, replaces)
            self._set_keywords(item_id, item.path, extracted_text)
            for channel, vector in vectors.items():
                self._insert_vector(channel, item_id, vector, item.kind, taken_at, item.folder)
            # which model made them, per channel ("semantic=trimodal-bind-lite-…")
            made_by = ";".join(f"{c}={self.channel(c).model_id}" for c in sorted(vectors)) or None
            self.conn.execute(
                "UPDATE items SET status = 'done', error = NULL, has_vector = ?, model_id = ?, "
                "taken_at = ?, width = ?, height = ?, duration = ?, extracted_text = ?, "
                "warning = ?, content_hash = coalesce(?, content_hash), camera = ?, latitude = ?, longitude = ?, "
                "indexed_at = ?, updated_at = ? WHERE id = ?",
                (int(bool(vectors)), made_by, taken_at, width, height, duration,
                 printable(extracted_text) if extracted_text else extracted_text,
                 printable(warning) if warning else None, content_hash, camera, latitude, longitude,
                 time.time(), time.time(), item_id),
            )
            self._finish_job(item_id, EMBED, "done" if vectors else "skipped",
                             None if vectors else "the model cannot embed this kind: kept by its metadata")

    def mark_failed(self, item_id: int, error: str) -> None:
        with self.transaction():
            self._finish_job(item_id, EMBED, "failed", printable(error))
            # the file's other work (melody, parts) waits for it to be readable again
            self.conn.execute("UPDATE jobs SET state = 'skipped', reason = 'the file could not be indexed' "
                              "WHERE item_id = ? AND task != ? AND state = 'pending'", (item_id, EMBED))
            self._delete_vectors(item_id)
            self.conn.execute(
                "UPDATE items SET status = 'failed', error = ?, warning = NULL, has_vector = 0, "
                "indexed_at = ?, updated_at = ? WHERE id = ?",
                (printable(error), time.time(), time.time(), item_id),
            )

    def delete_items(self, item_ids: Iterable[int]) -> int:
        ids = list(item_ids)
        with self.transaction():
            for item_id in ids:
                self._delete_vectors(item_id)
                self.conn.execute("DELETE FROM items WHERE id = ?", (item_id,))
            self._delete_keywords(ids)
        return len(ids)

    def vectors_by_path(self, channel: str) -> dict[str, np.ndarray]:
        ids, matrix = self.vectors(channel)
        paths = self.items_by_ids(int(i) for i in ids)
        return {paths[int(i)].path: row for i, row in zip(ids, matrix) if int(i) in paths}

    # -- summaries ----------------------------------------------------------------------------
    def counts(self, kinds: Iterable[str] = ()) -> dict[str, dict[str, int]]:
        """{kind: {status: n, 'vectors': n}} for `kinds` (zeros where empty) and any other kind stored."""
        result = {kind: {"pending": 0, "done": 0, "failed": 0, "vectors": 0} for kind in kinds}
        for kind, status, n, vectors in self.conn.execute(
            "SELECT kind, status, count(*), sum(has_vector) FROM items GROUP BY kind, status"
        ):
            counts = result.setdefault(kind, {"pending": 0, "done": 0, "failed": 0, "vectors": 0})
            counts[status] = n
            counts["vectors"] += vectors or 0
        return result

    def integrity_ok(self) -> bool:
        return self.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
