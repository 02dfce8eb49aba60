"""Issue 37, the durable job queue, on real files, the real database and the real model: `main.py
index` killed with SIGKILL at random instants (several seeds) and run again ends consistent; two
`index` processes on one database; jobs left running by a dead process reset at start-up; pause,
resume and cancel through the door from another thread; the v6 migration of an existing library."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import filelock
import pytest

from core.library import Library
from core.store import LibraryStore
from core.store.jobs import MAX_ATTEMPTS
from tests.conftest import DEMO, REPO, run_cli


def media_folder(folder: Path, notes: int = 0) -> Path:
    """Photos, recordings (speech and not) and notes from the demo library, plus `notes` more notes."""
    for sub, names in {"photos": ("chelsea_the_cat.jpg", "coffee.jpg", "flower.jpg", "rocket_launch.jpg"),
                       "notes": ("our_cat.md", "coffee_recipe.txt")}.items():
        (folder / sub).mkdir(parents=True, exist_ok=True)
        for name in names:
            shutil.copy(DEMO / sub / name, folder / sub / name)
    (folder / "sounds").mkdir(exist_ok=True)
    for source in sorted((DEMO / "sounds").iterdir())[:2] + sorted((DEMO / "memos").iterdir())[:1]:
        shutil.copy(source, folder / "sounds" / source.name)
    for n in range(notes):
        (folder / "notes" / f"note_{n:02d}.txt").write_text(
            f"Note {n}: a walk by the river, {n} ducks, then tea with a friend.\n", encoding="utf-8")
    return folder


def files_on_disk(folder: Path) -> set[str]:
    return {str(p) for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")}


def consistency_problems(db: Path, folder: Path | None = None, finished: bool = False) -> list[str]:
    """Everything the database must never show, killed at any instant or not."""
    with LibraryStore(db) as store:
        conn = store.conn
        problems = []
        if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            problems.append("integrity_check failed")
        if conn.execute("SELECT count(*) - count(DISTINCT path) FROM items").fetchone()[0]:
            problems.append("duplicate items")
        has_vectors = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'vectors_semantic'").fetchone()
        vector_ids = [r[0] for r in conn.execute("SELECT item_id FROM vectors_semantic")] if has_vectors else []
        item_ids = {r[0] for r in conn.execute("SELECT id FROM items")}
        if len(vector_ids) != len(set(vector_ids)):
            problems.append("an item with two vectors")
        if set(vector_ids) - item_ids:
            problems.append(f"orphan vectors {sorted(set(vector_ids) - item_ids)}")
        with_vector = {r[0] for r in conn.execute("SELECT id FROM items WHERE has_vector = 1")}
        if with_vector != set(vector_ids):
            problems.append("has_vector disagrees with the vector table")
        jobs = dict(conn.execute("SELECT item_id, state FROM jobs WHERE task = 'embed'").fetchall())
        if set(jobs) != item_ids:
            problems.append("an item without its embed job")
        statuses = dict(conn.execute("SELECT id, status FROM items").fetchall())
        for item_id, state in jobs.items():
            expected = {"pending": "pending", "running": "pending", "done": "done", "skipped": "done",
                        "failed": "failed"}[state]
            if statuses[item_id] != expected:
                problems.append(f"item {item_id} is {statuses[item_id]} but its job is {state}")
        if folder is not None and finished:
            paths = {p for p, in conn.execute("SELECT path FROM items")}
            if paths != files_on_disk(folder):
                problems.append(f"lost or extra items: {sorted(paths ^ files_on_disk(folder))}")
            undone = [(p, s) for p, s in conn.execute("SELECT path, status FROM items WHERE status != 'done'")]
            if undone:
                problems.append(f"not done: {undone}")
            if set(jobs.values()) != {"done"} or len(vector_ids) != len(item_ids):
                problems.append("a job not done or an item without its vector")
        return problems


def index_process(db: Path, folder: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "main.py", "--db", str(db), "index", str(folder), *extra],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})


def wait_for_jobs_under_way(db: Path, process: subprocess.Popen, timeout: float = 120) -> None:
    """Until a job of the run is running or done (read-only: the indexer is left alone)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)) as conn:
                if conn.execute("SELECT count(*) FROM jobs WHERE state IN ('running', 'done')").fetchone()[0]:
                    return
        except sqlite3.Error:
            pass  # not created or migrated yet
        time.sleep(0.05)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_index_killed_at_random_instants_resumes_consistent(tmp_path, seed):
    folder = media_folder(tmp_path / "media", notes=12)
    db = tmp_path / "lib.db"
    chance = random.Random(seed)
    for embedding in (False, True):
        process = index_process(db, folder)
        if embedding:  # once jobs are being worked on, somewhere in a batch
            wait_for_jobs_under_way(db, process)
            time.sleep(chance.uniform(0.0, 1.5))
        else:  # start-up, migration, scan or embedding: wherever it is by then
            time.sleep(chance.uniform(0.3, 6.0))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        if db.exists():
            assert consistency_problems(db) == []
    finish = index_process(db, folder)
    out, err = finish.communicate(timeout=300)
    assert finish.returncode == 0, err
    assert consistency_problems(db, folder, finished=True) == []


def test_a_second_index_process_says_another_is_running_or_waits(tmp_path):
    folder = media_folder(tmp_path / "media", notes=10)
    db = tmp_path / "lib.db"
    first = index_process(db, folder)
    lock = filelock.FileLock(f"{db}.indexing.lock")
    deadline = time.monotonic() + 60
    while True:  # until the first process holds the lock
        try:
            lock.acquire(timeout=0)
            lock.release()
        except filelock.Timeout:
            break
        assert first.poll() is None and time.monotonic() < deadline, "the first index never took the lock"
        time.sleep(0.05)
    refused = run_cli("--db", str(db), "index", str(folder))
    assert refused.returncode == 1
    assert "another Trimodal-Bind is indexing this library" in refused.stderr
    waited = run_cli("--db", str(db), "index", "--wait", str(folder))
    assert waited.returncode == 0, waited.stderr
    assert first.wait(timeout=300) == 0
    assert consistency_problems(db, folder, finished=True) == []


def test_jobs_left_running_by_a_dead_process_are_reset_at_start_up(tmp_path, embedder):
    folder = media_folder(tmp_path / "media")
    db = tmp_path / "lib.db"
    with Library(db, embedder=embedder) as library:
        library.add_folder(folder)
        answers = iter([False])  # go on past the scan, stop before embedding
        library.index(should_stop=lambda: next(answers, True))
        claimed = library.store.claim_jobs("embed", 3)  # as a process killed mid-batch leaves them
        stubborn = claimed[0]
        library.store.conn.execute("UPDATE jobs SET attempts = ? WHERE item_id = ?", (MAX_ATTEMPTS, stubborn))
        assert library.jobs()["embed"]["running"] == 3
        result = library.index()
        assert result.notes[:2] == ["resuming 2 files a stopped indexer was working on",
                                    "1 file stopped the indexer too often: marked failed (`status` lists them)"]
        jobs = library.jobs()["embed"]
        assert jobs["running"] == 0 and jobs["pending"] == 0 and jobs["failed"] == 1
        assert library.store.item(stubborn).status == "failed"
        assert "stopped while working on this file 5 times" in library.store.item(stubborn).error
    assert consistency_problems(db) == []


class IndexingThread:
    """`Library.index` on its own thread with its own Library (SQLite connections stay on the
    thread that opened them), as the GUI runs it; the test pauses and resumes it from its own."""

    def __init__(self, db: Path, embedder, threads: int | None = None, paused: bool = False):
        self.db, self.embedder, self.threads, self.paused = db, embedder, threads, paused
        self.library: Library | None = None
        self.opened = threading.Event()
        self.progress: list = []
        self.first_batch = threading.Event()
        self.result = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.opened.wait(30)

    def _run(self) -> None:
        try:
            with Library(self.db, embedder=self.embedder, threads=self.threads) as library:
                self.library = library
                if self.paused:
                    library.pause_indexing()
                self.opened.set()
                self.result = library.index(on_progress=self._progressed)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc
            self.opened.set()

    def _progressed(self, event) -> None:
        self.progress.append(event)
        self.first_batch.set()


def done_count(db: Path) -> int:
    with LibraryStore(db) as store:
        return store.count_jobs("embed", "done")


def test_pause_resume_and_cancel_through_the_door_from_another_thread(tmp_path, embedder):
    folder = tmp_path / "notes"
    folder.mkdir()
    for n in range(48):
        (folder / f"note_{n:02d}.txt").write_text(f"Note {n} about boats, {n} gulls and the sea.\n")
    db = tmp_path / "lib.db"
    with Library(db, embedder=embedder) as library:
        library.add_folder(folder)
    run = IndexingThread(db, embedder, threads=1)
    assert run.first_batch.wait(120), run.error
    run.library.pause_indexing()  # from this thread, not the one indexing
    assert run.library.indexing_paused
    time.sleep(1.0)  # the batch under way (if any) ends
    held = done_count(db)
    time.sleep(1.5)
    assert done_count(db) == held < 48 and run.thread.is_alive()
    run.library.cancel_indexing()  # a cancel also ends a pause
    run.thread.join(60)
    assert not run.thread.is_alive() and run.error is None
    assert run.result.embedding.stopped and run.result.embedding.cancelled
    with LibraryStore(db) as store:
        assert store.count_jobs("embed", "running") == 0  # released: the next run takes them
        assert store.count_jobs("embed", "pending") == 48 - done_count(db) > 0
    event = run.progress[-1]
    assert event.total == 2 * 48 and event.rate > 0 and event.eta is not None  # "embed" and "parts" per note

    again = IndexingThread(db, embedder, paused=True)
    time.sleep(1.5)
    assert done_count(db) == held  # paused before it began: nothing is done
    again.library.resume_indexing()
    again.thread.join(120)
    assert again.error is None and not again.result.embedding.stopped
    assert done_count(db) == 48
    assert consistency_problems(db, folder, finished=True) == []


def test_an_existing_library_gets_its_jobs_when_migrated(tmp_path):
    from core.store.driver import get_driver
    from core.store.schema import MIGRATIONS, migrate

    db = tmp_path / "old.db"
    conn = get_driver().connect(db)
    migrate(conn, MIGRATIONS[:5])
    conn.execute("INSERT INTO items(path, folder, kind, status, error, added_at, updated_at) VALUES "
                 "('/m/a.jpg', '/m', 'image', 'failed', 'corrupt', 1, 1), ('/m/b.jpg', '/m', 'image', 'done', NULL, 1, 1),"
                 "('/m/c.txt', '/m', 'text', 'pending', NULL, 1, 1)")
    conn.close()
    with LibraryStore(db) as store:
        assert store.job_counts()["embed"] == {"pending": 1, "running": 0, "done": 1, "failed": 1, "skipped": 0}
        assert store.job_state(1) == ("failed", "corrupt")
