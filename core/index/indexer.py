"""Keep the store in step with folders: reconcile what is on disk, then work through the jobs.

The two phases are separate on purpose. The scan only stats and hashes files and records each
one as pending (or failed, with a reason) with its jobs queued in the same transaction
(core/store/jobs.py); the jobs are then worked through in batches (core/index/pipeline.py:
readers ahead, one writer), each batch's outcomes committed together. A killed process
therefore resumes exactly where it stopped: whatever was not committed is still queued.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from core.hashing import file_sha256 as content_hash
from core.index.embedding import EmbedHandler, EmbedReport
from core.index.pipeline import (
    TASKS, IndexControl, Progress, ProgressListener, ProgressMeter, Task, default_threads, register_task, run_jobs,
    tasks_for,
)
from core.index.not_taken import record_not_taken
from core.index.scan import FolderError, FolderRules, scan_path
from core.media.documents import name_is_embedded
from core.model import Embedder
from core.store import LibraryStore, MediaItem, is_inside, printable
from core.store.jobs import EMBED

# progress(done, total, message); total is 0 while unknown.
ProgressCallback = Callable[[int, int, str], None]
StopCheck = Callable[[], bool]


def _no_progress(done: int, total: int, message: str) -> None:
    pass


@dataclass(frozen=True)
class Change:
    """One thing a reconcile changed: "+" new, "~" changed, "-" removed, ">" moved (to `to`),
    "!" cannot be read (`reason`)."""

    op: str
    path: str
    to: str | None = None
    reason: str | None = None


@dataclass
class ScanReport:
    seen: int = 0
    new: int = 0
    changed: int = 0
    moved: int = 0
    removed: int = 0
    unchanged: int = 0
    not_checked: int = 0  # items kept as they were, below a folder that could not be listed
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    folder_errors: list[tuple[str, str]] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)  # what this reconcile changed, in order


class Indexer:
    def __init__(self, store: LibraryStore, embedder: Embedder, threads: int | None = None):
        self.store = store
        self.embedder = embedder
        self.threads = threads or default_threads()

    # -- phase 1: reconcile -------------------------------------------------------------------
    def reconcile(self, root: str, paths: list[str] | None = None,
                  progress: ProgressCallback = _no_progress) -> ScanReport:
        """Bring the store in step with the disk for library folder `root`, or only for `paths`
        below it (files or sub-folders: what a watcher saw change). New and changed files become
        pending, files gone are removed, and a file that reappears elsewhere with the same bytes
        is a move that keeps its vector (matched across all `paths` of one call).

        A sub-folder that cannot be listed (permissions, a flaky mount) keeps its items as they
        were, not checked, and is recorded with its reason until a later scan can list it."""
        root = os.path.abspath(root)
        tops = [os.path.abspath(p) for p in paths] if paths else [root]
        report = ScanReport()
        rules = FolderRules(*self.store.folder_patterns(root))
        known: dict[str, MediaItem] = {}
        arrivals: list = []
        for top in tops:
            items = self.store.items_in_folder(root) if top == root else self.store.items_under(top)
            known.update((item.path, item) for item in items)
            tally = Counter() if top == root else None  # only a full scan says what a folder leaves out
            for entry in scan_path(root, top, rules, tally):
                self._survey(root, entry, known, arrivals, report, progress)
            if tally is not None:
                record_not_taken(self.store, root, tally)
        # Items below a folder that could not be listed were not seen, not removed: keep them.
        for folder, _ in report.folder_errors:
            for path in [p for p in known if p == folder or is_inside(p, folder)]:
                del known[path]
                report.not_checked += 1
        self._settle(root, known, arrivals, report)
        for top in tops:
            self._record_folder_problems(root, top, [e for e in report.folder_errors
                                                     if e[0] == top or is_inside(e[0], top)])
        return report

    def scan(self, root: str, progress: ProgressCallback = _no_progress) -> ScanReport:
        """Reconcile a whole library folder."""
        return self.reconcile(root, None, progress)

    def _survey(self, root, entry, known, arrivals, report, progress) -> None:
        """Sort one thing found on disk: a folder error, an unreadable file, an unchanged file, or
        an arrival (new, changed or moved) to settle once everything has been seen."""
        if isinstance(entry, FolderError):
            report.folder_errors.append((entry.path, entry.error))
            return
        report.seen += 1
        progress(report.seen, 0, printable(entry.path))
        item = known.pop(entry.path, None)
        if entry.error:
            if item is None or item.error != entry.error:
                self.store.record_scanned(entry.path, root, entry.kind, entry.size, entry.mtime, None, entry.error)
                report.changes.append(Change("!", entry.path, reason=entry.error))
            report.unreadable.append((entry.path, entry.error))
        elif item is not None and item.size == entry.size and item.mtime == entry.mtime and item.folder == root:
            report.unchanged += 1
        else:
            arrivals.append((entry, item))

    def _settle(self, root: str, vanished: dict[str, MediaItem], arrivals: list, report: ScanReport) -> None:
        """Hash the arrivals: one with the bytes of a vanished item is that item moved; the
        rest are new or changed. What is still vanished afterwards is removed."""
        vanished_by_hash: dict[str, MediaItem] = {
            item.content_hash: item for item in vanished.values() if item.content_hash and item.status != "failed"
        }
        for entry, item in arrivals:
            if item is None and not vanished_by_hash:
                # Nothing it could be a move of: the embedding step hashes the bytes it reads, so
                # a new file is read from disk once.
                self.store.record_scanned(entry.path, root, entry.kind, entry.size, entry.mtime, None,
                                          tasks=tasks_for(entry.kind))
                report.new += 1
                report.changes.append(Change("+", entry.path))
                continue
            try:
                digest = content_hash(entry.path)
            except OSError as exc:
                error = f"cannot read: {exc.strerror or exc}"
                self.store.record_scanned(entry.path, root, entry.kind, entry.size, entry.mtime, None, error)
                report.unreadable.append((entry.path, error))
                report.changes.append(Change("!", entry.path, reason=error))
                continue
            moved_from = vanished_by_hash.pop(digest, None) if item is None else None
            if moved_from is not None and name_is_embedded(entry.kind) and \
                    Path(moved_from.path).stem != Path(entry.path).stem:
                moved_from = None  # renamed, and its name is in its vector: new item, the old one goes
            if moved_from is not None:
                self.store.move_item(moved_from.id, entry.path, root, entry.mtime)
                vanished.pop(moved_from.path, None)
                report.moved += 1
                report.changes.append(Change(">", moved_from.path, to=entry.path))
            elif item is not None and item.content_hash == digest and item.status != "failed":
                # Same bytes, only touched (or adopted from a folder merged into `root`): keep the vector.
                self.store.move_item(item.id, entry.path, root, entry.mtime)
                report.unchanged += 1
            else:
                self.store.record_scanned(entry.path, root, entry.kind, entry.size, entry.mtime, digest,
                                          tasks=tasks_for(entry.kind))
                report.new += item is None
                report.changed += item is not None
                report.changes.append(Change("+" if item is None else "~", entry.path))
        report.removed = self.store.delete_items(item.id for item in vanished.values())
        report.changes += [Change("-", path) for path in sorted(vanished)]

    def _record_folder_problems(self, root: str, top: str, found: list[tuple[str, str]]) -> None:
        """This scan's word on the folders at or below `top`; what earlier scans said elsewhere stands."""
        elsewhere = [(p.path, p.reason) for p in self.store.folder_problems()
                     if p.root == root and p.path != top and not is_inside(p.path, top)]
        self.store.set_folder_problems(root, elsewhere + found)

    # -- phase 2: work through the job queue ---------------------------------------------------
    def embed_pending(
        self,
        progress: ProgressCallback = _no_progress,
        should_stop: StopCheck = lambda: False,
        batch_size: int = 8,
        *,
        control: IndexControl | None = None,
        on_progress: ProgressListener = lambda event: None,
    ) -> EmbedReport:
        """Every pending job, task by task ("embed" first), `threads` readers ahead of the model."""
        started = time.perf_counter()
        control = control or IndexControl()
        report = EmbedReport()
        self.store.sync_embed_jobs()
        total = sum(self.store.count_jobs(name) for name in TASKS)

        def tell(event: Progress) -> None:
            progress(event.done, event.total, event.message)
            on_progress(event)

        meter = ProgressMeter(total, tell)
        for name, task in TASKS.items():
            handler = task.make_handler(self, report)
            if not run_jobs(self.store, name, handler, threads=self.threads, batch_size=batch_size,
                            control=control, should_stop=should_stop, meter=meter):
                report.stopped, report.cancelled = True, control.cancelled
                break
        report.seconds = time.perf_counter() - started
        return report


register_task(Task(EMBED, lambda indexer, report: EmbedHandler(indexer.store, indexer.embedder, report)))
