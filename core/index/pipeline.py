"""Working through the job queue on every core the user allows.

Picard's rule: work in a pool, continue on the main thread. A pool of reader threads reads,
hashes and decodes the next batches (file I/O, Pillow and libsndfile release the GIL) while the
calling thread runs the model on the current one (ONNX Runtime spreads it over its own
intra-op threads) and is the one writer that commits each batch's outcomes in one transaction.
Read-ahead is bounded (a few batches), so memory stays flat however large the library.

Each task ("embed"; later "ocr", "melody") is a registered handler: `prepare(item)` runs in the
pool and never touches the database, `finish(batch)` runs on the writer's thread.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from core.store import LibraryStore, MediaItem, printable

StopCheck = Callable[[], bool]


def default_threads() -> int:
    """All the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Progress:
    """One step of a long run: `done` of `total` (0 while unknown), items per second so far and
    the seconds left at that rate (None until there is a rate)."""

    done: int
    total: int
    rate: float
    eta: float | None
    message: str = ""
    phase: str = "embedding"


ProgressListener = Callable[[Progress], None]


class ProgressMeter:
    def __init__(self, total: int, listener: ProgressListener, phase: str = "embedding"):
        self.total, self.listener, self.phase = total, listener, phase
        self.started = time.perf_counter()
        self.done = 0

    def advance(self, n: int, message: str = "") -> Progress:
        self.done += n
        self.total = max(self.total, self.done)
        elapsed = time.perf_counter() - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / rate if rate > 0 else None
        event = Progress(self.done, self.total, rate, eta, message, self.phase)
        self.listener(event)
        return event


class IndexControl:
    """Pause, resume and cancel a running indexer from any thread (the GUI's): only events,
    never the database connection, which belongs to the indexing thread. Pausing holds the
    run between batches (nothing half-written); cancelling ends the run after the batch under
    way, and what was not done stays queued for the next run."""

    def __init__(self):
        self._going = threading.Event()
        self._going.set()
        self._cancelled = threading.Event()

    def pause(self) -> None:
        self._going.clear()

    def resume(self) -> None:
        self._going.set()

    def cancel(self) -> None:
        self._cancelled.set()
        self._going.set()

    @property
    def paused(self) -> bool:
        return not self._going.is_set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def begin(self) -> None:
        """A new run: an earlier cancel is spent (a pause still holds)."""
        self._cancelled.clear()

    def proceed(self, should_stop: StopCheck) -> bool:
        """Wait while paused; whether the run should go on."""
        while not self._going.wait(0.2):
            if should_stop():
                return False
        return not (self._cancelled.is_set() or should_stop())


class TaskHandler(Protocol):
    def prepare(self, item: MediaItem) -> object:
        """In a reader thread: read and decode what the task needs. No database access."""

    def finish(self, batch: list[tuple[MediaItem, object]]) -> None:
        """On the writer's thread: run the model and record every item's outcome."""


@dataclass(frozen=True)
class Task:
    name: str
    make_handler: Callable[..., TaskHandler]  # (indexer) -> handler for one run
    applies_to: Callable[[str], bool] = lambda kind: True  # whether a file of this kind needs it


TASKS: dict[str, Task] = {}


def register_task(task: Task) -> None:
    TASKS[task.name] = task


def tasks_for(kind: str) -> tuple[str, ...]:
    """The jobs a new or changed file of `kind` gets."""
    return tuple(name for name, task in TASKS.items() if task.applies_to(kind))


def _prepared(handler: TaskHandler, item: MediaItem):
    try:
        return handler.prepare(item)
    except Exception as exc:  # noqa: BLE001 - one file's surprise must not stop the run
        return exc


def run_jobs(store: LibraryStore, task: str, handler: TaskHandler, *, threads: int, batch_size: int,
             control: IndexControl, should_stop: StopCheck, meter: ProgressMeter) -> bool:
    """Claim, prepare (pool) and finish (this thread) `task`'s pending jobs; False when stopped early."""
    ahead: deque[tuple[list[MediaItem], list[Future]]] = deque()
    depth = max(2, threads)  # batches read ahead of the one being embedded
    finished = True
    current: list[MediaItem] = []  # claimed, being finished: released if that is interrupted
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"{task}-reader") as pool:
        try:
            while True:
                if not control.proceed(should_stop):
                    finished = False
                    break
                while len(ahead) < depth:
                    ids = store.claim_jobs(task, batch_size)
                    if not ids:
                        break
                    found = store.items_by_ids(ids)
                    items = [found[i] for i in ids if i in found]  # one deleted meanwhile has no job left
                    ahead.append((items, [pool.submit(_prepared, handler, item) for item in items]))
                if not ahead:
                    break
                items, futures = ahead.popleft()
                current = items
                handler.finish([(item, future.result()) for item, future in zip(items, futures)])
                current = []
                meter.advance(len(items), printable(items[-1].path) if items else "")
        finally:
            for items, futures in ahead:
                for future in futures:
                    future.cancel()
            try:
                # Ctrl-C or a database error (its batch rolled back) is no strike against the files.
                store.release_jobs(task, [item.id for items, _ in ahead for item in items] + [i.id for i in current])
            except Exception:  # noqa: BLE001 - e.g. the disk is full: the next run resets them anyway
                pass
    return finished
