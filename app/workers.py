"""Background workers. Each owns its own Library (SQLite connections belong to one thread) and
talks to the GUI only through signals: no widget is ever touched from a worker thread."""

from __future__ import annotations

import inspect
import threading
import time
from dataclasses import dataclass

from PySide6.QtCore import QObject, QThread, Signal, Slot

from core.kinds import KIND_NAMES
from core.library import (
    IndexResult, Library, LibraryError, QueryError, database_errors, explain_database_error, printable,
    reported_changes,
)


@dataclass(frozen=True)
class SearchRequest:
    request_id: int
    text: str = ""
    file: str = ""
    kinds: tuple[str, ...] = KIND_NAMES
    limit: int = 60
    after: str | None = None  # ISO dates, both days included
    before: str | None = None
    folder: str | None = None
    waveform: tuple | None = None  # (samples, rate): a recording from the microphone
    hum: bool = False  # the waveform is a hummed tune: recordings of that tune (the melody channel)


@dataclass(frozen=True)
class TuneMatch:
    """A recording found by its tune (the door's TuneHit), shaped like a search hit for the grid."""
    item: object
    relevance: float  # the share of the hummed steps found in order in the recording, 0..1
    at_seconds: float  # where the tune starts in it
    companions: tuple = ()  # photos and notes of the same folder and day
    channels: tuple[str, ...] = ("melody",)
    matched: tuple[str, ...] = ()

    @property
    def score(self) -> float:
        return self.relevance

    @property
    def is_relevant(self) -> bool:
        return True  # the door kept only tunes over its own threshold

    @property
    def snippet(self) -> str:
        seconds = int(self.at_seconds)
        return f"the tune starts at {seconds // 60}:{seconds % 60:02d}"


def door_accepts(method, parameter: str) -> bool:
    """Whether the door's method takes this keyword yet (the engine grows while the app is wired)."""
    return parameter in inspect.signature(method).parameters


OPEN_ATTEMPTS = 50  # 0.2 s apart
CAN_PAUSE = hasattr(Library, "pause_indexing") and hasattr(Library, "resume_indexing")
CAN_HUM = hasattr(Library, "search_hum")


class _LibraryWorker(QObject):
    def __init__(self, db_path: str, embedder, threads: int | None = None):
        super().__init__()
        self._db_path = db_path
        self._embedder = embedder
        self._threads = threads
        self._library: Library | None = None

    def library(self) -> Library:
        # Created on first use, i.e. inside the worker thread, never in the GUI thread.
        if self._library is None:
            extra = {"threads": self._threads} if self._threads and door_accepts(Library, "threads") else {}
            for attempt in range(OPEN_ATTEMPTS):
                try:
                    self._library = Library(self._db_path, embedder=self._embedder, **extra)
                    break
                except database_errors() as exc:
                    # a new database: another worker of this window may be creating its tables
                    if "locked" not in str(exc) or attempt == OPEN_ATTEMPTS - 1:
                        raise
                    time.sleep(0.2)
        return self._library

    @Slot()
    def shutdown(self) -> None:
        if self._library is not None:
            self._library.close()
            self._library = None


class SearchWorker(_LibraryWorker):
    results = Signal(int, list)  # request id, [SearchHit]
    failed = Signal(int, str)
    status = Signal(dict)

    query_error = Signal(int, str)  # request id, what is wrong with the expression (shown inline)
    details = Signal(list, dict)  # [FolderInfo], status()

    @Slot(object)
    def run_query(self, request: SearchRequest) -> None:
        filters = {"after": request.after, "before": request.before, "folder": request.folder}
        try:
            library = self.library()
            if request.waveform is not None and request.hum:  # the door's filters do not apply to tunes
                samples, rate = request.waveform
                hits = [TuneMatch(tune.item, tune.score, tune.at_seconds, tuple(tune.companions))
                        for tune in library.search_hum(samples, rate, limit=request.limit)]
            elif request.waveform is not None:
                samples, rate = request.waveform
                hits = library.search_waveform(samples, rate, kinds=request.kinds, limit=request.limit, **filters)
            elif request.file:
                hits = library.search_like(request.file, kinds=request.kinds, limit=request.limit, **filters)
            else:  # the query grammar: "beach" + sunset.jpg - people
                hits = library.search(request.text, kinds=request.kinds, limit=request.limit, **filters)
            if not request.hum:
                hits = library.fold_copies(hits)  # one card for a photo kept twice
        except QueryError as exc:
            self.query_error.emit(request.request_id, str(exc))
            return
        except Exception as exc:  # a worker must report, never die silently
            self.failed.emit(request.request_id, f"search failed: {exc}")
            return
        self.results.emit(request.request_id, hits)

    @Slot()
    def refresh_details(self) -> None:
        try:
            library = self.library()
            self.details.emit(library.folder_details(), library.status())
        except Exception as exc:
            self.failed.emit(-1, f"cannot read the library: {exc}")

    @Slot()
    def refresh_status(self) -> None:
        try:
            self.status.emit(self.library().status())
        except Exception as exc:
            self.failed.emit(-1, f"cannot read library status: {exc}")


class IndexWorker(_LibraryWorker):
    progress = Signal(str, int, int, str)  # phase, done, total, current path
    pace = Signal(float, float)  # items per second, seconds left (-1 while unknown), from the engine
    finished = Signal(object)  # IndexResult
    failed = Signal(str)
    changed = Signal(str)  # a line for the status bar after a folder was removed or its patterns edited

    def __init__(self, db_path: str, embedder, threads: int | None = None):
        super().__init__(db_path, embedder, threads)
        self._stop = threading.Event()
        self._pause_wanted = False  # asked for before the worker's thread opened its library

    def request_stop(self) -> None:
        """Called from the GUI thread; the worker checks it between batches."""
        self._stop.set()
        self.request_pause(False)  # a paused run must wake up to stop

    def request_pause(self, paused: bool) -> None:
        """Called from the GUI thread: the door's pause and resume only signal the indexing thread."""
        self._pause_wanted = paused
        library = self._library
        if CAN_PAUSE and library is not None:
            (library.pause_indexing if paused else library.resume_indexing)()

    def _on_pace(self, event) -> None:
        self.pace.emit(float(event.rate), -1.0 if event.eta is None else float(event.eta))

    @Slot(list)
    def run_index(self, paths: list) -> None:
        self._stop.clear()
        try:
            library = self.library()
            self.request_pause(self._pause_wanted)
            extra = {"on_progress": self._on_pace} if door_accepts(library.index, "on_progress") else {}
            result = library.index(
                paths or None,
                scan_progress=lambda done, total, path: self.progress.emit("Scanning", done, total, path),
                embed_progress=lambda done, total, path: self.progress.emit("Embedding", done, total, path),
                should_stop=self._stop.is_set,
                wait=True,  # the watcher may be reconciling: wait for it rather than fail
                **extra,
            )
        except database_errors() as exc:
            self.failed.emit(explain_database_error(exc, self._db_path))
            return
        except Exception as exc:
            self.failed.emit(str(exc))
            return
        self.finished.emit(result)


    @Slot(str)
    def forget_folder(self, path: str) -> None:
        try:
            removed = self.library().forget_folder(path)
        except (LibraryError, *database_errors()) as exc:
            self.failed.emit(str(exc))
            return
        self.changed.emit(f"Removed {printable(path)} from the library ({removed} items); the files stay on disk")

    @Slot(str, list)
    def set_exclude(self, path: str, exclude: list) -> None:
        """New exclude patterns for a library folder (its include patterns kept), applied at once."""
        try:
            library = self.library()
            include = next((list(d.include) for d in library.folder_details() if d.path == path), [])
            library.add_folder(path, include=include, exclude=exclude)
        except (LibraryError, *database_errors()) as exc:
            self.failed.emit(str(exc))
            return
        self.changed.emit(f"Exclude patterns of {printable(path)} saved; re-scanning it")
        self.run_index([path])


def change_lines(library: Library, result: IndexResult) -> list[str]:
    """One short line per change a reconcile made, for the status bar."""
    lines = []
    for entry in reported_changes(result.scans, result.embedding, library.folders()):
        if entry.what == "not checked":
            continue
        if entry.what == "moved":
            lines.append(f"moved {entry.path} → {entry.to}")
        elif entry.what in ("unreadable", "failed"):
            verb = "cannot read" if entry.what == "unreadable" else "cannot index"
            lines.append(f"{verb} {entry.path}: {entry.reason}")
        else:
            lines.append(f"{entry.what} {entry.path}")
    return lines


class WatchWorker(_LibraryWorker):
    """Follows the library folders (Library.watch) until asked to stop; runs in its own thread,
    which it keeps busy, so the GUI calls only request_stop() on it."""
    change = Signal(list)  # [line]
    said = Signal(str)  # the watcher's news
    progress = Signal(int, int, str)  # done, total, path while embedding what changed
    stopped = Signal()

    def __init__(self, db_path: str, embedder, settle: float = 1.0, threads: int | None = None):
        super().__init__(db_path, embedder, threads)
        self._stop = threading.Event()
        self._settle = settle

    def request_stop(self) -> None:
        self._stop.set()

    @Slot()
    def run_watch(self) -> None:
        self._stop.clear()  # a stop asked for before ended the previous run, which ran on this thread
        try:
            library = self.library()
            library.watch(lambda result: self.change.emit(change_lines(library, result)), self.said.emit,
                          self._stop.is_set, settle=self._settle,
                          embed_progress=lambda done, total, path: self.progress.emit(done, total, path))
        except Exception as exc:  # the window says so; search keeps working
            self.said.emit(f"stopped following the folders: {exc}")
        finally:
            self.shutdown()
            self.stopped.emit()


def start_in_thread(worker: QObject, name: str) -> QThread:
    thread = QThread()
    thread.setObjectName(name)
    worker.moveToThread(thread)
    thread.start()
    return thread
