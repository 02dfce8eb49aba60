"""Parts of an item with vectors of their own: a long note's passages, a long recording's segments.

An item's own vector says what the whole file is about; a part's says what one paragraph or ten
seconds of it is, so a sound in minute 12 or one paragraph of a long note can be found. Parts live
in `parts` (what and where) and their vectors in the `part_vectors` vec0 table, bound (in `meta`, under
PARTS_BINDING) to the semantic model and width they were made with. A trigger
removes a part's vector with the part, and parts go with their item (ON DELETE CASCADE).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from core.store.melodies import queue_task_jobs
from core.store.pathcodec import printable

PARTS_TASK = "parts"
PARTS_BINDING = "parts_model"  # meta key: "<model id> <dim>" of part_vectors


@dataclass(frozen=True)
class Part:
    item_id: int
    ordinal: int
    start: float | None  # seconds into a recording
    end: float | None
    text: str | None  # a note's passage
    similarity: float = 0.0  # set by nearest_parts


def create_parts_table(conn) -> None:
    conn.execute(
        """CREATE TABLE parts (
            id      INTEGER PRIMARY KEY,
            item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
            ordinal INTEGER NOT NULL,
            start   REAL,
            end     REAL,
            text    TEXT
        )""")
    conn.execute("CREATE INDEX parts_item ON parts(item_id)")


def _create_part_vectors(conn, dim: int) -> None:
    conn.execute("DROP TRIGGER IF EXISTS part_vector_goes_with_part")
    conn.execute("DROP TABLE IF EXISTS part_vectors")
    conn.execute(f"""CREATE VIRTUAL TABLE part_vectors USING vec0(
                        part_id INTEGER PRIMARY KEY,
                        embedding float[{int(dim)}],
                        kind TEXT,
                        taken_at INTEGER,
                        folder TEXT
                    )""")
    conn.execute("""CREATE TRIGGER part_vector_goes_with_part AFTER DELETE ON parts
                    BEGIN DELETE FROM part_vectors WHERE part_id = old.id; END""")


class ItemParts:
    """Mixed into LibraryStore: needs `conn`, `transaction()`, `item()`, `get_meta()` and the jobs."""

    def bind_parts(self, model_id: str, dim: int, kinds: Iterable[str]) -> int:
        """Parts are made with the semantic model `model_id`: when they were made with another (or
        never), they go, and every item of `kinds` gets a "parts" job. Returns how many."""
        binding = f"{model_id} {int(dim)}"
        if self.get_meta(PARTS_BINDING) == binding:
            return 0
        with self.transaction():
            self.conn.execute("DELETE FROM parts")
            _create_part_vectors(self.conn, dim)
            self.conn.execute("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE "
                              "SET value = excluded.value", (PARTS_BINDING, binding))
            return queue_task_jobs(self.conn, PARTS_TASK, kinds)

    def record_parts(self, item_id: int, parts: list[tuple[float | None, float | None, str | None]],
                     vectors: np.ndarray | None, reason: str | None = None) -> None:
        """An item's parts ((start, end, text) each) and their vectors, replacing earlier ones, in one
        transaction with the job's outcome; no parts: the job is skipped with `reason`."""
        item = self.item(item_id)
        if item is None:
            return
        with self.transaction():
            self.conn.execute("DELETE FROM parts WHERE item_id = ?", (item_id,))
            for ordinal, (start, end, text) in enumerate(parts):
                part_id = self.conn.execute(
                    "INSERT INTO parts(item_id, ordinal, start, end, text) VALUES (?, ?, ?, ?, ?)",
                    (item_id, ordinal, start, end, printable(text) if text else None)).lastrowid
                self.conn.execute(
                    "INSERT INTO part_vectors(part_id, embedding, kind, taken_at, folder) VALUES (?, ?, ?, ?, ?)",
                    (part_id, np.ascontiguousarray(vectors[ordinal], dtype=np.float32).tobytes(), item.kind,
                     int(item.taken_at or item.mtime or 0), printable(item.folder)))
            self._finish_job(item_id, PARTS_TASK, "done" if parts else "skipped", None if parts else reason)

    def fail_parts(self, item_id: int, reason: str) -> None:
        with self.transaction():
            self.conn.execute("DELETE FROM parts WHERE item_id = ?", (item_id,))
            self._finish_job(item_id, PARTS_TASK, "failed", reason)

    def nearest_parts(self, query: np.ndarray, k: int, *, kind: str | None = None, folder: str | None = None,
                      after: float | None = None, before: float | None = None) -> list[Part]:
        """The k nearest parts (exact KNN, filtered inside it like the channels' tables)."""
        if self.get_meta(PARTS_BINDING) is None or k <= 0:
            return []
        sql = "SELECT part_id, distance FROM part_vectors WHERE embedding MATCH ? AND k = ?"
        params: list = [np.ascontiguousarray(query, dtype=np.float32).tobytes(), int(k)]
        for clause, value in (("kind = ?", kind), ("folder = ?", printable(folder) if folder else None),
                              ("taken_at >= ?", None if after is None else int(after)),
                              ("taken_at < ?", None if before is None else int(before))):
            if value is not None:
                sql += f" AND {clause}"
                params.append(value)
        found = dict(self.conn.execute(sql, params).fetchall())
        if not found:
            return []
        marks = ",".join("?" * len(found))
        rows = self.conn.execute(f"SELECT id, item_id, ordinal, start, end, text FROM parts WHERE id IN ({marks})",
                                 list(found)).fetchall()
        parts = [Part(item_id, ordinal, start, end, text, 1.0 - found[part_id] ** 2 / 2.0)
                 for part_id, item_id, ordinal, start, end, text in rows]
        return sorted(parts, key=lambda part: -part.similarity)

    def part_count(self, item_id: int | None = None) -> int:
        if item_id is None:
            return self.conn.execute("SELECT count(*) FROM parts").fetchone()[0]
        return self.conn.execute("SELECT count(*) FROM parts WHERE item_id = ?", (item_id,)).fetchone()[0]

    def part_vector_count(self) -> int:
        if self.get_meta(PARTS_BINDING) is None:
            return 0
        return self.conn.execute("SELECT count(*) FROM part_vectors").fetchone()[0]
