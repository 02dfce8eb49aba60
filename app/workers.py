"""Background workers. Each owns its own Library (SQLite connections belong to one thread) and
talks to the GUI only through signals: no widget is ever touched from a worker thread."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from PySide6.QtCore import QObject, QThread, Signal, Slot

from core.kinds import KIND_NAMES
from core.library import Library, QueryError, database_errors, explain_database_error


@dataclass(frozen=True)
class SearchRequest:
    request_id: int
    text: str = ""
    file: str = ""
    kinds: tuple[str, ...] = KIND_NAMES
    limit: int = 50


class _LibraryWorker(QObject):
    def __init__(self, db_path: str, embedder):
        super().__init__()
        self._db_path = db_path
        self._embedder = embedder
        self._library: Library | None = None

    def library(self) -> Library:
        # Created on first use, i.e. inside the worker thread, never in the GUI thread.
        if self._library is None:
            self._library = Library(self._db_path, embedder=self._embedder)
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

    @Slot(object)
    def run_query(self, request: SearchRequest) -> None:
        try:
            library = self.library()
            if request.file:
                hits = library.search_file(request.file, kinds=request.kinds, limit=request.limit)
            else:
                hits = library.search_text(request.text, kinds=request.kinds, limit=request.limit)
        except QueryError as exc:
            self.failed.emit(request.request_id, str(exc))
            return
        except Exception as exc:  # a worker must report, never die silently
            self.failed.emit(request.request_id, f"search failed: {exc}")
            return
        self.results.emit(request.request_id, hits)

    @Slot()
    def refresh_status(self) -> None:
        try:
            self.status.emit(self.library().status())
        except Exception as exc:
            self.failed.emit(-1, f"cannot read library status: {exc}")


class IndexWorker(_LibraryWorker):
    progress = Signal(str, int, int, str)  # phase, done, total, current path
    finished = Signal(object)  # IndexResult
    failed = Signal(str)

    def __init__(self, db_path: str, embedder):
        super().__init__(db_path, embedder)
        self._stop = threading.Event()

    def request_stop(self) -> None:
        """Called from the GUI thread; the worker checks it between batches."""
        self._stop.set()

    @Slot(list)
    def run_index(self, paths: list) -> None:
        self._stop.clear()
        try:
            result = self.library().index(
                paths or None,
                scan_progress=lambda done, total, path: self.progress.emit("Scanning", done, total, path),
                embed_progress=lambda done, total, path: self.progress.emit("Embedding", done, total, path),
                should_stop=self._stop.is_set,
            )
        except database_errors() as exc:
            self.failed.emit(explain_database_error(exc, self._db_path))
            return
        except Exception as exc:
            self.failed.emit(str(exc))
            return
        self.finished.emit(result)


def start_in_thread(worker: QObject, name: str) -> QThread:
    thread = QThread()
    thread.setObjectName(name)
    worker.moveToThread(thread)
    thread.start()
    return thread
