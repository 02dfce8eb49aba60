"""The indexing half of the library door: one indexer per library at a time (a lock file beside
the database), reconcile what the caller asks for, then embed what is pending, and follow the
folders (`watch`). `core.library.Library` delegates here and keeps the public signatures.

The door is passed in duck-typed (`LibraryDoor`): this room must not import core.library."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import filelock

from core.index.indexer import EmbedReport, Indexer, ProgressCallback, ScanReport, StopCheck, _no_progress
from core.index.pipeline import IndexControl, ProgressListener, default_threads
from core.model import Embedder
from core.store import LibraryStore, printable

MISSING_FOLDER = "folder is missing (unplugged drive?): its items are kept as they were, not checked"


class LibraryError(ValueError):
    """A request the library cannot carry out, with a message for the user."""


class IndexerBusy(LibraryError):
    """Another process (or thread) is indexing this library right now."""


@dataclass
class IndexResult:
    scans: dict[str, ScanReport] = field(default_factory=dict)
    embedding: EmbedReport | None = None
    reembed: int = 0  # items invalidated because the model changed
    notes: list[str] = field(default_factory=list)  # what was done with the folders asked for


class LibraryDoor(Protocol):
    """What the service needs of the library it works for."""

    db_path: Path
    read_only: bool
    store: LibraryStore
    threads: int | None

    @property
    def embedder(self) -> Embedder: ...
    def bind_model(self) -> int: ...
    def folders(self) -> list[str]: ...
    def containing_folder(self, path: str | Path) -> str | None: ...
    def add_folder(self, path: str | Path, include=None, exclude=None) -> tuple[str, str | None]: ...


class IndexService:
    def __init__(self, library: LibraryDoor):
        self.library = library
        self.control = IndexControl()  # pause / resume / cancel, from any thread
        self.jobs_reset = (0, 0)  # (put back to pending, given up) when this process took the lock

    @property
    def store(self) -> LibraryStore:
        return self.library.store

    def indexing_lock(self) -> filelock.FileLock:
        """Held while indexing: a second indexer on the same database would embed everything again."""
        return filelock.FileLock(f"{self.library.db_path}.indexing.lock")

    def index(self, paths, *, scan_progress: ProgressCallback = _no_progress,
              embed_progress: ProgressCallback = _no_progress, should_stop: StopCheck = lambda: False,
              wait: bool = False, on_progress: ProgressListener | None = None) -> IndexResult:
        with self._indexing(wait):
            result = IndexResult(reembed=self.library.bind_model(), notes=self._resumed())
            targets: list[tuple[str, list[str] | None]] = []  # (library folder, paths below it or None)
            for path in paths or []:
                root, note = self.library.add_folder(path)
                result.notes += [note] if note else []
                under = os.path.abspath(os.path.expanduser(str(path)))
                targets.append((root, [under] if under != root else None))
            return self._reconcile_and_embed(targets or [(f, None) for f in self.library.folders()], result,
                                             scan_progress, embed_progress, should_stop, on_progress)

    def reconcile(self, paths, *, embed_progress: ProgressCallback = _no_progress,
                  should_stop: StopCheck = lambda: False, wait: bool = True,
                  on_progress: ProgressListener | None = None) -> IndexResult:
        result = IndexResult()
        by_root: dict[str, list[str]] = {}
        for path in paths:
            absolute = os.path.abspath(os.path.expanduser(str(path)))
            root = self.library.containing_folder(absolute)
            if root is None:
                result.notes.append(f"{printable(absolute)} is not in a library folder: ignored")
            else:
                by_root.setdefault(root, []).append(absolute)
        with self._indexing(wait):
            result.reembed = self.library.bind_model()
            targets = [(root, None if root in under else under) for root, under in by_root.items()]
            return self._reconcile_and_embed(targets, result, _no_progress, embed_progress, should_stop, on_progress)

    def watch(self, on_change: Callable[[IndexResult], None], say: Callable[[str], None], should_stop: StopCheck,
              *, settle: float, poll_every: float, embed_progress: ProgressCallback,
              on_progress: ProgressListener | None = None) -> None:
        from core.index.watcher import FolderWatcher

        def reconcile(paths: list[str]) -> bool:
            try:
                on_change(self.reconcile(paths, embed_progress=embed_progress, should_stop=should_stop, wait=False,
                                         on_progress=on_progress))
            except IndexerBusy:
                return False
            return True

        def patterns() -> dict[str, object]:
            return {root: self.store.folder_patterns(root) for root in self.library.folders()}

        FolderWatcher(self.library.folders, reconcile, settle=settle, poll_every=poll_every, say=say,
                      patterns=patterns).run(should_stop)

    def _resumed(self) -> list[str]:
        reset, given_up = self.jobs_reset
        notes = [f"resuming {reset} file{'s' if reset != 1 else ''} a stopped indexer was working on"] if reset else []
        return notes + ([f"{given_up} file{'s' if given_up != 1 else ''} stopped the indexer too often: "
                         "marked failed (`status` lists them)"] if given_up else [])

    @contextlib.contextmanager
    def _indexing(self, wait: bool):
        """Writes are this library's alone while the indexing lock is held."""
        if self.library.read_only:
            raise LibraryError(f"{printable(str(self.library.db_path))} is read-only: indexing needs a writable "
                               "library (choose another with --db PATH)")
        lock = self.indexing_lock()
        try:
            lock.acquire(timeout=-1 if wait else 0)
        except filelock.Timeout:
            raise IndexerBusy(
                "another Trimodal-Bind is indexing this library right now and will embed what is pending; "
                "wait for it to finish (or use `index --wait`), then run index again") from None
        try:
            # Nobody else can be working on a job now: one left running was a process that died.
            self.jobs_reset = self.store.reset_running_jobs()
            self.control.begin()
            yield
        finally:
            lock.release()

    def _reconcile_and_embed(self, targets, result: IndexResult, scan_progress, embed_progress,
                             should_stop, on_progress) -> IndexResult:
        indexer = Indexer(self.store, self.library.embedder, self.library.threads or default_threads())
        for root, under in targets:
            if not self.control.proceed(should_stop):
                break
            label = under[0] if under and len(under) == 1 else root
            if not os.path.isdir(root):
                report = ScanReport(folder_errors=[(root, MISSING_FOLDER)],
                                    not_checked=len(self.store.items_in_folder(root)))
                self.store.set_folder_problems(root, report.folder_errors)
                result.scans[label] = report
                continue
            result.scans[label] = indexer.reconcile(root, under, scan_progress)
        result.embedding = indexer.embed_pending(progress=embed_progress, should_stop=should_stop, control=self.control,
                                                 on_progress=on_progress or (lambda event: None))
        return result
