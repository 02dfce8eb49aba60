"""The one door into the engine. The CLI and the GUI both drive the library through this class,
so every user-visible capability is exercised by the same code in tests and benchmarks."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from core.index import EmbedReport, Indexer, ScanReport
from core.index.indexer import ProgressCallback, StopCheck, _no_progress
from core.model import Embedder
from core.paths import BUNDLED_MODEL_DIR, default_db_path
from core.search import QueryError, SearchEngine, SearchHit
from core.store import KINDS, LibraryStore


class LibraryError(ValueError):
    """A request the library cannot carry out, with a message for the user."""


@dataclass
class IndexResult:
    scans: dict[str, ScanReport] = field(default_factory=dict)
    embedding: EmbedReport | None = None
    reembed: int = 0  # items invalidated because the model changed


class Library:
    def __init__(
        self,
        db_path: str | Path | None = None,
        model_dir: str | Path | None = None,
        embedder: Embedder | None = None,
    ):
        """`embedder` lets several libraries (one per thread: SQLite connections are not shared
        across threads) use one set of ONNX sessions."""
        self.db_path = Path(db_path) if db_path else default_db_path()
        self.model_dir = Path(model_dir) if model_dir else BUNDLED_MODEL_DIR
        self.store = LibraryStore(self.db_path)
        self._embedder: Embedder | None = embedder
        self._search: SearchEngine | None = None
        self._model_checked = False

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> "Library":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- model binding ------------------------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = Embedder(self.model_dir)
        return self._embedder

    def bind_model(self) -> int:
        """Make the store use the current model; returns how many items now need re-embedding."""
        stale = self.store.use_model(self.embedder.model_id, self.embedder.dim)
        self._model_checked = True
        return stale

    @property
    def search_engine(self) -> SearchEngine:
        if not self._model_checked:
            indexed_with = self.store.model_id
            if indexed_with and indexed_with != self.embedder.model_id:
                # Searching must not silently throw away the library's vectors: re-embedding is
                # the indexer's job, started by the user or the app's start-up scan.
                raise QueryError(
                    f"the library was indexed with model {indexed_with}, but this app has "
                    f"{self.embedder.model_id}: run `index` to re-embed it, then search again"
                )
            self.bind_model()
        if self._search is None:
            self._search = SearchEngine(self.store, self.embedder)
        return self._search

    # -- folders and indexing -----------------------------------------------------------------
    def add_folder(self, path: str | Path) -> str:
        folder = os.path.abspath(os.path.expanduser(str(path)))
        if not os.path.exists(folder):
            raise LibraryError(f"{folder}: no such folder")
        if not os.path.isdir(folder):
            raise LibraryError(f"{folder}: not a folder (add the folder that holds it)")
        if not os.access(folder, os.R_OK | os.X_OK):
            raise LibraryError(f"{folder}: permission denied")
        self.store.add_folder(folder)
        return folder

    def folders(self) -> list[str]:
        return self.store.folders()

    def forget_folder(self, path: str | Path) -> int:
        """Remove a folder from the library (its items and vectors); the files stay on disk."""
        folder = os.path.abspath(os.path.expanduser(str(path)))
        if folder not in self.folders():
            known = ", ".join(self.folders()) or "none"
            raise LibraryError(f"{folder} is not a library folder (library folders: {known})")
        return self.store.remove_folder(folder)

    def index(
        self,
        paths: list[str | Path] | None = None,
        *,
        scan_progress: ProgressCallback = _no_progress,
        embed_progress: ProgressCallback = _no_progress,
        should_stop: StopCheck = lambda: False,
    ) -> IndexResult:
        """Add `paths` as library folders (if given), reconcile every folder with the disk, then
        embed whatever is pending. Safe to interrupt: a later call resumes."""
        result = IndexResult(reembed=self.bind_model())
        folders = [self.add_folder(p) for p in paths] if paths else self.folders()
        indexer = Indexer(self.store, self.embedder)
        for folder in folders:
            if should_stop():
                break
            if not os.path.isdir(folder):
                report = ScanReport(folder_errors=[(folder, "folder is missing (unplugged drive?): kept as it was")])
                result.scans[folder] = report
                continue
            result.scans[folder] = indexer.scan(folder, progress=scan_progress)
        result.embedding = indexer.embed_pending(progress=embed_progress, should_stop=should_stop)
        return result

    # -- search -------------------------------------------------------------------------------
    def search_text(self, text: str, kinds: tuple[str, ...] = KINDS, limit: int = 10,
                    min_score: float | None = None) -> list[SearchHit]:
        engine = self.search_engine
        return engine.search(engine.text_vector(text), kinds=kinds, limit=limit, min_score=min_score)

    def search_file(self, path: str | Path, kinds: tuple[str, ...] = KINDS, limit: int = 10,
                    min_score: float | None = None) -> list[SearchHit]:
        engine = self.search_engine
        absolute = os.path.abspath(str(path))
        return engine.search(engine.file_vector(absolute), kinds=kinds, limit=limit,
                             exclude_path=absolute, min_score=min_score)

    # -- status -------------------------------------------------------------------------------
    def status(self) -> dict:
        counts = self.store.counts()
        failed = [(item.path, item.error) for item in self.store.all_items(status="failed")]
        return {
            "database": str(self.db_path),
            "model": self.store.model_id,
            "folders": self.folders(),
            "items": counts,
            "total": sum(c["pending"] + c["done"] + c["failed"] for c in counts.values()),
            "failed": failed,
        }
