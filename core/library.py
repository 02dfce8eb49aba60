"""The one door into the engine. The CLI and the GUI use only this module (and the kind registry,
core.kinds): the library itself, the model they share between threads, evaluation, the installation
checks, and the plain types and errors these return. Every user-visible capability is therefore
exercised by the same code in tests and benchmarks."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from core import __version__ as VERSION
from core.index.changes import ReportedChange, reported_changes
from core.index import EmbedReport, ScanReport
from core.index.folders import FolderInfo, describe_folders
from core.index.melody_task import bind_melody_channel
from core.index.not_taken import forget_not_taken, not_taken
from core.index.parts_task import bind_parts
from core.index.indexer import ProgressCallback, StopCheck, _no_progress
from core.index.pipeline import Progress, ProgressListener
from core.index.service import IndexerBusy, IndexResult, IndexService, LibraryError
from core.kinds import KIND_NAMES, KINDS, SEMANTIC, kind_of
from core.media.outline import waveform_outline
from core.media.thumbnail import picture_png
from core.model import Embedder, ModelError
from core.paths import BUNDLED_MODEL_DIR, DEMO_LIBRARY_DIR, default_db_path, demo_db_path, user_cache_dir
from core.search import DuplicateGroup, Filters, Query, QueryError, SearchEngine, SearchHit, find_duplicates
from core.search.folding import fold_copies
from core.search.hum import TuneHit, hummed_notes, search_tune
from core.store import (
    LibraryStore, ReadOnlyLibrary, SchemaTooNew, database_errors, explain_database_error, is_inside, printable,
)

__all__ = [
    "BUNDLED_MODEL_DIR", "DEMO_LIBRARY_DIR", "VERSION", "EmbedReport", "Progress", "FolderInfo", "IndexResult", "IndexerBusy",
    "DuplicateGroup", "Library", "TuneHit",
    "LibraryError", "ModelError", "Query", "QueryError", "ScanReport", "SchemaTooNew", "SearchHit", "database_errors",
    "default_db_path", "demo_db_path", "evaluate_manifest", "explain_database_error", "installation_checks",
    "can_search_by", "load_model", "picture_png", "printable", "ReportedChange", "reported_changes", "user_cache_dir",
    "waveform_outline",
]

def writable(path: Path) -> bool:
    """Whether this process may change the database file and create its journal beside it."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)


class Library:
    def __init__(
        self,
        db_path: str | Path | None = None,
        model_dir: str | Path | None = None,
        embedder: Embedder | None = None,
        *,
        read_only: bool = False,
        threads: int | None = None,
    ):
        """`embedder` lets several libraries (one per thread: SQLite connections are not shared
        across threads) use one set of ONNX sessions. `read_only` never writes to the database.
        `threads` caps the CPU indexing uses (readers and the model's own; default all cores)."""
        self.db_path = Path(db_path) if db_path else default_db_path()
        self.model_dir = Path(model_dir) if model_dir else BUNDLED_MODEL_DIR
        self.read_only = read_only
        self.threads = threads
        try:
            self.store = LibraryStore(self.db_path, read_only=read_only)
        except ReadOnlyLibrary as exc:
            raise LibraryError(str(exc)) from None
        self._embedder: Embedder | None = embedder
        self._search: SearchEngine | None = None
        self._model_checked = False
        self._indexer = IndexService(self)

    @classmethod
    def for_reading(cls, db_path: str | Path | None = None, model_dir: str | Path | None = None,
                    embedder: Embedder | None = None) -> "Library":
        """Open an existing library to search it or show its state: never creates a database
        (a mistyped path is an error, not a new empty library), and opens one that cannot be
        written (read-only file, folder or file system) read-only instead of failing."""
        path = Path(db_path) if db_path else default_db_path()
        if not path.exists():
            raise LibraryError(f"no library database at {printable(str(path))}: check --db, "
                               "or add a folder with `index FOLDER` to create one")
        if path.is_dir() or not path.is_file():
            raise LibraryError(f"{printable(str(path))} is not a library database file")
        return cls(path, model_dir, embedder, read_only=not writable(path))

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
            self._embedder = Embedder(self.model_dir, threads=self.threads)
        return self._embedder

    def bind_model(self) -> int:
        """Make the store use the current model; returns how many items now need re-embedding."""
        if self.read_only:
            self._model_checked = True
            return 0
        stale = self.store.bind_channel(SEMANTIC, self.embedder.model_id, self.embedder.dim,
                                        self.embedder.same_vectors_as)
        bind_melody_channel(self.store)  # recordings already embedded get their melody job
        bind_parts(self.store, self.embedder)  # long notes and recordings: passages and segments
        self._model_checked = True
        return stale

    @property
    def search_engine(self) -> SearchEngine:
        if not self._model_checked:
            indexed_with = self.store.channel_model(SEMANTIC)
            if indexed_with and indexed_with not in (self.embedder.model_id, *self.embedder.same_vectors_as):
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
    @staticmethod
    def _checked_folder(path: str | Path) -> str:
        folder = os.path.abspath(os.path.expanduser(str(path)))
        shown = printable(folder)
        if not os.path.exists(folder):
            raise LibraryError(f"{shown}: no such folder")
        if not os.path.isdir(folder):
            raise LibraryError(f"{shown}: not a folder (add the folder that holds it)")
        if not os.access(folder, os.R_OK | os.X_OK):
            raise LibraryError(f"{shown}: permission denied")
        return folder

    def containing_folder(self, path: str | Path) -> str | None:
        """The library folder that `path` lies in (or is), if any."""
        path = os.path.abspath(os.path.expanduser(str(path)))
        return next((f for f in self.folders() if f == path or is_inside(path, f)), None)

    def add_folder(self, path: str | Path, include: list[str] | None = None,
                   exclude: list[str] | None = None) -> tuple[str, str | None]:
        """Make `path` part of the library; a file belongs to one library folder only. Returns
        (library folder, note): a folder inside a library folder is already part of it; a folder
        that holds library folders takes them over, keeping their items and vectors. `include` /
        `exclude` (shell patterns; given, they replace the folder's) take effect at its next
        reconcile."""
        folder = self._checked_folder(path)
        parent = self.containing_folder(folder)
        patterns = None if include is None and exclude is None else tuple(
            tuple(p.strip() for p in given or () if p.strip()) for given in (include, exclude))
        if patterns and parent not in (None, folder):
            raise LibraryError(f"{printable(folder)} is part of library folder {printable(parent)}: give the "
                               "patterns to that folder (a pattern with a \"/\" matches paths below it)")
        if parent == folder:
            if patterns:
                self.store.set_folder_patterns(folder, *patterns)
            return folder, None
        if parent is not None:
            return parent, f"{printable(folder)} is already part of library folder {printable(parent)}"
        inside = [f for f in self.folders() if is_inside(f, folder)]
        self.store.add_folder(folder, absorbs=inside, patterns=patterns)
        note = (f"{printable(folder)} now holds library folder{'s' if len(inside) > 1 else ''} "
                f"{', '.join(printable(f) for f in inside)}: merged, nothing is embedded again") if inside else None
        return folder, note

    def folders(self) -> list[str]:
        return self.store.folders()

    def folder_details(self) -> list[FolderInfo]:
        """Each library folder with its patterns, item counts and state."""
        return describe_folders(self.store)

    def forget_folder(self, path: str | Path) -> int:
        """Remove a folder from the library (its items and vectors); the files stay on disk."""
        folder = os.path.abspath(os.path.expanduser(str(path)))
        if folder not in self.folders():
            parent = self.containing_folder(folder)
            if parent is not None:
                raise LibraryError(
                    f"{printable(folder)} is part of library folder {printable(parent)}, not a folder of "
                    f"its own: forget {printable(parent)}, or leave the sub-folder out by listing its name "
                    f"in {printable(parent)}'s .trimodal-ignore")
            known = ", ".join(printable(f) for f in self.folders()) or "none"
            raise LibraryError(f"{printable(folder)} is not a library folder (library folders: {known})")
        forget_not_taken(self.store, folder)
        return self.store.remove_folder(folder)

    def indexing_lock(self):
        """Held while indexing: a second indexer on the same database would embed everything again."""
        return self._indexer.indexing_lock()

    def index(
        self,
        paths: list[str | Path] | None = None,
        *,
        scan_progress: ProgressCallback = _no_progress,
        embed_progress: ProgressCallback = _no_progress,
        should_stop: StopCheck = lambda: False,
        wait: bool = False,
        on_progress: ProgressListener | None = None,
    ) -> IndexResult:
        """Add `paths` to the library (if given), reconcile them (or every library folder) with
        the disk, then embed whatever is pending. Safe to interrupt: a later call resumes. Only one
        indexer works on a library at a time: another one raises IndexerBusy, or with `wait`
        waits for it to finish. `on_progress` gets a Progress (done, total, rate, ETA) per batch."""
        return self._indexer.index(paths, scan_progress=scan_progress, embed_progress=embed_progress,
                                   should_stop=should_stop, wait=wait, on_progress=on_progress)

    def reconcile(
        self,
        paths: list[str | Path],
        *,
        embed_progress: ProgressCallback = _no_progress,
        should_stop: StopCheck = lambda: False,
        wait: bool = True,
        on_progress: ProgressListener | None = None,
    ) -> IndexResult:
        """Bring `paths` in step with the disk — files or folders inside library folders, created,
        changed, moved or deleted (what a folder watcher reports) — then embed what became pending.
        Paths outside every library folder are ignored (said in `notes`)."""
        return self._indexer.reconcile(paths, embed_progress=embed_progress, should_stop=should_stop, wait=wait,
                                       on_progress=on_progress)

    def watch(self, on_change: Callable[[IndexResult], None] = lambda result: None,
              say: Callable[[str], None] = lambda message: None, should_stop: StopCheck = lambda: False,
              *, settle: float = 1.0, poll_every: float = 60.0,
              embed_progress: ProgressCallback = _no_progress, on_progress: ProgressListener | None = None) -> None:
        """Reconcile every library folder, then follow them until should_stop(), each change handed to
        `on_change` once settled; `say` gets the watcher's news (core.index.watcher). Runs on the calling
        thread, which must own this Library; holds the indexing lock only while reconciling."""
        self._indexer.watch(on_change, say, should_stop, settle=settle, poll_every=poll_every,
                            embed_progress=embed_progress, on_progress=on_progress)

    # Safe from any thread (the GUI's): they only signal the thread that indexes.
    def pause_indexing(self) -> None:
        """Hold indexing between batches (nothing half-written) until resume_indexing()."""
        self._indexer.control.pause()

    def resume_indexing(self) -> None:
        self._indexer.control.resume()

    def cancel_indexing(self) -> None:
        """End the run under way after its current batch; what is left stays queued for the next."""
        self._indexer.control.cancel()

    @property
    def indexing_paused(self) -> bool:
        return self._indexer.control.paused

    def jobs(self) -> dict[str, dict[str, int]]:
        """The job queue: {task: {pending, running, done, failed, skipped: n}}."""
        return self.store.job_counts()

    # -- search -------------------------------------------------------------------------------
    def search(self, query: Query | str, kinds: tuple[str, ...] = KIND_NAMES, limit: int = 10,
               min_score: float | None = None, *, after=None, before=None,
               folder: str | Path | None = None) -> list[SearchHit]:
        """By a Query or an expression (core.search.query's grammar), filtered inside the KNN by kinds,
        date (EXIF, else file time; `after`/`before` days included) and folder (or one below a library
        folder). The files searched by are left out of the hits."""
        query = Query.parse(query) if isinstance(query, str) else query
        engine = self.search_engine
        filters = Filters.of(kinds, after, before, folder, self.folders())
        vector, judges = engine.embed_query(query)
        return engine.search(vector, filters=filters, limit=limit, exclude=query.files,
                             min_score=min_score, keywords=query.keyword_text, judges=judges)

    def search_text(self, text: str, kinds: tuple[str, ...] = KIND_NAMES, limit: int = 10,
                    min_score: float | None = None, **filters) -> list[SearchHit]:
        return self.search(Query.text(text), kinds, limit, min_score, **filters)

    def search_file(self, path: str | Path, kinds: tuple[str, ...] = KIND_NAMES, limit: int = 10,
                    min_score: float | None = None, **filters) -> list[SearchHit]:
        """More like this file or indexed item (left out of the hits; an unchanged item's vector is reused)."""
        return self.search(Query.file(path), kinds, limit, min_score, **filters)

    search_like = search_file

    def search_waveform(self, samples, rate: int, kinds: tuple[str, ...] = KIND_NAMES, limit: int = 10,
                        min_score: float | None = None, **filters) -> list[SearchHit]:
        """Search by a recording in memory: a microphone's samples, (n,) or (n, channels), at `rate` Hz."""
        return self.search(Query.waveform(samples, rate), kinds, limit, min_score, **filters)

    @staticmethod
    def fold_copies(hits: list[SearchHit]) -> list[SearchHit]:
        """The hits with the same file or photo elsewhere (identical bytes; a resized or re-encoded
        copy) folded into the best-ranked one's `copies`, in their order."""
        return fold_copies(hits)

    def search_hum(self, recording, rate: int | None = None, limit: int = 10, min_score: float | None = None,
                   *, after=None, before=None, folder: str | Path | None = None) -> list[TuneHit]:
        """Recordings of the tune hummed, sung or whistled in `recording` (an audio file's path, or
        samples at `rate` Hz), best first, each with where it starts and its companions (photos and
        notes from the same folder and day), filtered like search(). Raises QueryError when no tune
        is heard."""
        filters = Filters.of(KIND_NAMES, after, before, folder, self.folders())
        return search_tune(self.store, hummed_notes(recording, rate), limit, min_score, filters=filters)

    def search_vector(self, vector, kinds: tuple[str, ...] = KIND_NAMES, limit: int = 10,
                      min_score: float | None = None, *, after=None, before=None,
                      folder: str | Path | None = None) -> list[SearchHit]:
        """By a vector already in the model's space (the model's width, any length): another tool's
        embedding, or a benchmark's; filtered like `search`."""
        engine = self.search_engine
        filters = Filters.of(kinds, after, before, folder, self.folders())
        return engine.search(engine.checked_vector(vector), filters=filters, limit=limit, min_score=min_score)

    def duplicates(self) -> list[DuplicateGroup]:
        """Files with the same content, and photos that are copies of one photo (re-encoded, resized,
        cropped a little), kept apart from "similar"; each group's largest file first."""
        return find_duplicates(self.store, self.search_engine.index)

    # -- status -------------------------------------------------------------------------------
    def status(self) -> dict:
        counts = self.store.counts(KIND_NAMES)
        items = self.store.all_items()
        return {
            "database": str(self.db_path),
            "read_only": self.read_only,
            "model": self.store.channel_model(SEMANTIC),
            "folders": self.folders(),
            "items": counts,
            "total": sum(c["pending"] + c["done"] + c["failed"] for c in counts.values()),
            "failed": [(item.path, item.error) for item in items if item.status == "failed"],
            "warnings": [(item.path, item.warning) for item in items if item.warning],
            "not_taken": not_taken(self.store, self.folders()),  # {folder: {".mov": 3}}: types left out
            "jobs": self.jobs(),
            "not_checked": [
                {"folder": p.path, "library_folder": p.root, "reason": p.reason, "items_kept": p.items_kept,
                 "since": p.seen_at}
                for p in self.store.folder_problems()
            ],
        }


# -- the model, shared ------------------------------------------------------------------------
def load_model(model_dir: str | Path | None = None, threads: int | None = None,
               transcribe: bool = True) -> Embedder:
    """The model, loaded once and shared by the libraries of several threads (pass it as
    `Library(..., embedder=model)`); raises ModelError when the model folder is damaged.
    `threads` caps the cores its inference uses (default all); `transcribe=False` never runs
    speech recognition (recordings are embedded by their sound alone, with no transcript)."""
    return Embedder(Path(model_dir) if model_dir else BUNDLED_MODEL_DIR, threads=threads, transcribe=transcribe)


def can_search_by(model: Embedder, path: str | Path) -> bool:
    """Whether `model` can embed this file as a query (its kind has a tower)."""
    kind = kind_of(path)
    return kind is not None and model.supports(KINDS[kind].modality)


# -- evaluation and installation checks ---------------------------------------------------------
def evaluate_manifest(manifest_path: str | Path, model_dirs: list[str | Path] | None = None,
                      progress=lambda message: None) -> list:
    """Recall@K of each model on a JSON Lines manifest (../shared/DATA.md's protocol); raises
    core.evaluation's ManifestError (a ValueError) or ModelError with a message for the user."""
    from core.evaluation import evaluate, load_manifest

    manifest = load_manifest(manifest_path)
    results = []
    for model_dir in model_dirs or [BUNDLED_MODEL_DIR]:
        model = load_model(model_dir)
        progress(f"evaluating {model.model_id} on {manifest.path}")
        results.append(evaluate(model, manifest, progress=progress))
    return results


def installation_checks(db_path: str | Path | None = None) -> list:
    """`doctor`: each part of the installation, with a fix for what is wrong."""
    from core.doctor import run_checks

    return run_checks(Path(db_path or default_db_path()), BUNDLED_MODEL_DIR)
