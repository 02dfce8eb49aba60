"""The durable job queue: one row per (item, task) — the work the library still owes a file.

Modelled on calibre's dirtied table (work recorded in the same transaction as the change that
causes it, cleared only once done) and Vorta's jobs manager (named tasks, cancellable). A task is
a name ("embed", which includes a recording's transcript; "ocr" and "melody" later); the rooms
above keep what each task does (core/index/tasks.py), the store only its state:

    pending → running → done | failed (reason) | skipped (reason)

A job is `running` only between the transaction that claims it and the one that records its
outcome. A process killed in between leaves it `running`; the next indexer (holding the
indexing lock, so nobody else can be working on it) puts it back to `pending`, and gives it up as
failed once it has been claimed MAX_ATTEMPTS times without an outcome (a file that crashes the
decoder every time must not stop the library for ever).

`items.status` stays the summary the rest of the app reads (pending / done / failed): it follows
the "embed" job, written in the same transactions.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

JOB_STATES = ("pending", "running", "done", "failed", "skipped")
EMBED = "embed"
MAX_ATTEMPTS = 5
GAVE_UP = "indexing stopped while working on this file {n} times (it may crash a decoder): skipped"


def create_jobs_table(conn) -> None:
    states = ", ".join(f"'{s}'" for s in JOB_STATES)
    conn.execute(
        f"""CREATE TABLE jobs (
            item_id    INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
            task       TEXT NOT NULL,
            state      TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ({states})),
            reason     TEXT,
            attempts   INTEGER NOT NULL DEFAULT 0,
            updated_at REAL NOT NULL,
            PRIMARY KEY (item_id, task)
        ) WITHOUT ROWID""")
    conn.execute("CREATE INDEX jobs_state ON jobs(task, state, item_id)")


def backfill_jobs(conn) -> None:
    """An "embed" job for every item, in the state its `items.status` says."""
    conn.execute(
        "INSERT INTO jobs(item_id, task, state, reason, updated_at) "
        "SELECT id, 'embed', status, error, updated_at FROM items")


class JobQueue:
    """Mixed into LibraryStore: needs `conn` and `transaction()`."""

    # -- written inside the item's own transactions (store.py) ------------------------------
    def _queue_jobs(self, item_id: int, tasks: Sequence[str], state: str = "pending",
                    reason: str | None = None) -> None:
        """(Re)queue `tasks` for an item that is new or changed; any other task it had is dropped."""
        now = time.time()
        marks = ",".join("?" * len(tasks))
        self.conn.execute(f"DELETE FROM jobs WHERE item_id = ? AND task NOT IN ({marks})", (item_id, *tasks))
        self.conn.executemany(
            "INSERT INTO jobs(item_id, task, state, reason, attempts, updated_at) VALUES (?, ?, ?, ?, 0, ?) "
            "ON CONFLICT(item_id, task) DO UPDATE SET state = excluded.state, reason = excluded.reason, "
            "attempts = 0, updated_at = excluded.updated_at",
            [(item_id, task, state, reason, now) for task in tasks])

    def _finish_job(self, item_id: int, task: str, state: str, reason: str | None = None) -> None:
        self.conn.execute(
            "INSERT INTO jobs(item_id, task, state, reason, updated_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(item_id, task) DO UPDATE SET state = excluded.state, reason = excluded.reason, "
            "updated_at = excluded.updated_at", (item_id, task, state, reason, time.time()))

    # -- the worker's side ----------------------------------------------------------------------
    def claim_jobs(self, task: str, limit: int) -> list[int]:
        """Mark up to `limit` pending jobs of `task` running (oldest item first); their item ids."""
        with self.transaction():
            ids = [row[0] for row in self.conn.execute(
                "SELECT item_id FROM jobs WHERE task = ? AND state = 'pending' ORDER BY item_id LIMIT ?",
                (task, int(limit)))]
            self.conn.executemany(
                "UPDATE jobs SET state = 'running', attempts = attempts + 1, updated_at = ? "
                "WHERE item_id = ? AND task = ?", [(time.time(), i, task) for i in ids])
        return ids

    def release_jobs(self, task: str, item_ids: Iterable[int]) -> None:
        """Claimed but not worked on (the run was paused, cancelled or stopped): pending again."""
        with self.transaction():
            self.conn.executemany(
                "UPDATE jobs SET state = 'pending', attempts = max(attempts - 1, 0) "
                "WHERE item_id = ? AND task = ? AND state = 'running'", [(i, task) for i in item_ids])

    def reset_running_jobs(self) -> tuple[int, int]:
        """At start-up, under the indexing lock: jobs left running by a process that died go back
        to pending, or fail after MAX_ATTEMPTS claims. Returns (reset, given up)."""
        with self.transaction():
            given_up = self.conn.execute(
                "SELECT item_id, task, attempts FROM jobs WHERE state = 'running' AND attempts >= ?",
                (MAX_ATTEMPTS,)).fetchall()
            for item_id, task, attempts in given_up:
                reason = GAVE_UP.format(n=attempts)
                self._finish_job(item_id, task, "failed", reason)
                if task == EMBED:
                    self.conn.execute("UPDATE items SET status = 'failed', error = ?, has_vector = 0 "
                                      "WHERE id = ?", (reason, item_id))
            reset = self.conn.execute("UPDATE jobs SET state = 'pending' WHERE state = 'running'").rowcount
        return reset, len(given_up)

    def sync_embed_jobs(self) -> int:
        """Items made pending without their job (a model change re-embeds everything in one UPDATE
        of `items`, core/store/vectors.py): queue the job they need. Returns how many."""
        with self.transaction():
            return self.conn.execute(
                "INSERT INTO jobs(item_id, task, state, updated_at) "
                "SELECT id, 'embed', 'pending', ? FROM items WHERE status = 'pending' "
                "ON CONFLICT(item_id, task) DO UPDATE SET state = 'pending', reason = NULL, attempts = 0 "
                "WHERE jobs.state NOT IN ('pending', 'running')", (time.time(),)).rowcount

    def count_jobs(self, task: str, state: str = "pending") -> int:
        return self.conn.execute("SELECT count(*) FROM jobs WHERE task = ? AND state = ?",
                                 (task, state)).fetchone()[0]

    def job_counts(self) -> dict[str, dict[str, int]]:
        """{task: {state: n}} with every state present."""
        counts: dict[str, dict[str, int]] = {}
        for task, state, n in self.conn.execute("SELECT task, state, count(*) FROM jobs GROUP BY task, state"):
            counts.setdefault(task, dict.fromkeys(JOB_STATES, 0))[state] = n
        return counts

    def job_state(self, item_id: int, task: str = EMBED) -> tuple[str, str | None] | None:
        row = self.conn.execute("SELECT state, reason FROM jobs WHERE item_id = ? AND task = ?",
                                (item_id, task)).fetchone()
        return (row[0], row[1]) if row else None
