"""The notes of each recording that carries a tune (the melody channel's re-ranking needs them;
its vectors live in the channel's own table like any other channel's).

Notes are stored as one float32 blob of (pitch, start, length) rows; the store does not know what
they mean (core.melody does). A recording without a tune has no row and its "melody" job says why.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import numpy as np

MELODY_TASK = "melody"


def create_melody_table(conn) -> None:
    conn.execute(
        """CREATE TABLE melody_notes (
            item_id INTEGER PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
            notes   BLOB NOT NULL
        )""")


def queue_task_jobs(conn, task: str, kinds: Iterable[str]) -> int:
    """A pending `task` job for every item of `kinds` that is not failed (again, when it had one)."""
    marks = ",".join("?" * len(kinds := tuple(kinds)))
    return conn.execute(
        f"INSERT INTO jobs(item_id, task, state, updated_at) "
        f"SELECT id, ?, 'pending', ? FROM items WHERE kind IN ({marks}) AND status != 'failed' "
        "ON CONFLICT(item_id, task) DO UPDATE SET state = 'pending', reason = NULL, attempts = 0 "
        "WHERE jobs.state NOT IN ('pending', 'running')", (task, time.time(), *kinds)).rowcount


class MelodyNotes:
    """Mixed into LibraryStore: needs `conn`, `transaction()`, the vector channels and the jobs."""

    def record_melody(self, item_id: int, channel: str, notes: np.ndarray | None, vector: np.ndarray | None,
                      reason: str | None = None) -> None:
        """A recording's melody (notes as (n, 3) rows and its vector in `channel`), or none with the
        reason (no tune in it), in one transaction with its job's outcome."""
        item = self.item(item_id)
        if item is None:
            return  # deleted meanwhile
        with self.transaction():
            self._delete_vectors(item_id, channels=(channel,))
            self.conn.execute("DELETE FROM melody_notes WHERE item_id = ?", (item_id,))
            if notes is not None and vector is not None:
                data = np.ascontiguousarray(notes, dtype=np.float32).reshape(-1, 3)
                self.conn.execute("INSERT INTO melody_notes(item_id, notes) VALUES (?, ?)", (item_id, data.tobytes()))
                self._insert_vector(channel, item_id, vector, item.kind, item.taken_at or item.mtime, item.folder)
                self._finish_job(item_id, MELODY_TASK, "done")
            else:
                self._finish_job(item_id, MELODY_TASK, "skipped", reason)

    def fail_melody(self, item_id: int, channel: str, reason: str) -> None:
        with self.transaction():
            self._delete_vectors(item_id, channels=(channel,))
            self.conn.execute("DELETE FROM melody_notes WHERE item_id = ?", (item_id,))
            self._finish_job(item_id, MELODY_TASK, "failed", reason)

    def bind_task_channel(self, channel: str, extractor: str, dim: int, task: str, kinds: Iterable[str]) -> int:
        """Bind a channel filled by its own task (not by "embed") to `extractor`. When it was unbound
        or bound to another extractor, its vectors and notes go and every embedded item of `kinds`
        gets the task queued; returns how many."""
        current = self.channel(channel)
        if current is not None and (current.model_id, current.dim) == (extractor, int(dim)):
            return 0
        with self.transaction():
            self._rebuild_channel(channel, extractor, dim)
            self.conn.execute("DELETE FROM melody_notes")
            return queue_task_jobs(self.conn, task, kinds)

    def melody_notes(self, item_ids: Iterable[int]) -> dict[int, np.ndarray]:
        """(n, 3) float32 rows of (pitch, start, length) for each of `item_ids` that has a melody."""
        ids = list(item_ids)
        found: dict[int, np.ndarray] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start: start + 500]
            marks = ",".join("?" * len(chunk))
            for item_id, blob in self.conn.execute(
                    f"SELECT item_id, notes FROM melody_notes WHERE item_id IN ({marks})", chunk):
                found[item_id] = np.frombuffer(blob, dtype=np.float32).reshape(-1, 3)
        return found

    def melody_count(self) -> int:
        return self.conn.execute("SELECT count(*) FROM melody_notes").fetchone()[0]
