"""Follow library folders as they change: one watchdog observer watching each library folder
recursively (directories, not files: one inotify watch per folder), its events handed from
watchdog's thread through a queue, debounced, then given to `reconcile(paths)` on the thread that
runs the watcher (the one that owns the library's database connection).

Events only make the library faster to follow the disk; a reconcile of the whole folder at
start-up stays the source of truth. A folder that cannot be watched (the system's limit on inotify
watches, ENOSPC) is reconciled every `poll_every` seconds instead, and a folder that is missing
(an unplugged drive) is watched again, and reconciled, when it comes back.
"""

from __future__ import annotations

import errno
import logging
import os
import queue
import time
from collections.abc import Callable

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from core.index.scan import IGNORE_FILE, skipped_by_default
from core.kinds import kind_of
from core.store import is_inside, printable

# reconcile(paths) -> False when it could not run now (another process is indexing): retried.
Reconcile = Callable[[list[str]], bool]
Say = Callable[[str], None]
# {library folder: its include/exclude patterns}, compared between checks: a change re-scans it.
Patterns = Callable[[], dict[str, object]]

# What changes a file or folder; watchdog also reports opening and reading, which the indexer
# itself does while it embeds (following those would reconcile forever).
_CHANGES = {"created", "modified", "moved", "deleted", "closed"}
WATCH_LIMIT_FIX = "raise the limit with `sudo sysctl fs.inotify.max_user_watches=524288`"
# A folder that never stops changing (a download, a sync) is reconciled at least this often.
LONGEST_WAIT = 4.0


class _Handler(FileSystemEventHandler):
    """Runs on watchdog's thread: only puts what changed into the queue."""

    def __init__(self, events: queue.Queue):
        self.events = events

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in _CHANGES or (event.is_directory and event.event_type == "modified"):
            return  # a folder is "modified" whenever a file in it changes: the file's event says which
        paths = [os.fsdecode(event.src_path)]
        if event.event_type == "moved":
            paths.append(os.fsdecode(event.dest_path))
        self.events.put((paths, event.is_directory))


_LIMIT = "limit"  # in the queue instead of paths: the sub-folder that could not be watched follows


class _LimitReached(logging.Handler):
    """watchdog logs (and otherwise ignores) a sub-folder it cannot watch once the limit is hit."""

    def __init__(self, events: queue.Queue):
        super().__init__(logging.WARNING)
        self.events = events

    def emit(self, record: logging.LogRecord) -> None:
        if str(record.msg).startswith("Unable to watch") and record.args:
            self.events.put((_LIMIT, os.fsdecode(record.args[0])))


def _worth_reconciling(path: str, is_folder: bool) -> bool:
    name = os.path.basename(path)
    return not skipped_by_default(name) and (is_folder or kind_of(path) is not None)


def _ruled_by(path: str, is_folder: bool) -> str | None:
    """The folder a changed `.trimodal-ignore` rules (the one it lies in): to be scanned again."""
    return os.path.dirname(path) if not is_folder and os.path.basename(path) == IGNORE_FILE else None


class FolderWatcher:
    def __init__(self, roots: Callable[[], list[str]], reconcile: Reconcile, *, settle: float = 1.0,
                 poll_every: float = 60.0, say: Say = lambda message: None, patterns: Patterns = dict):
        self.roots = roots
        self.patterns = patterns
        self.known_patterns: dict[str, object] = {}
        self.reconcile = reconcile
        self.settle = settle
        self.poll_every = poll_every
        self.say = say
        self.events: queue.Queue = queue.Queue()
        self.pending: dict[str, float] = {}  # path → when it last changed
        self.watched: dict[str, object] = {}  # root → watchdog's watch
        self.polled: dict[str, float] = {}  # root that cannot be watched → when it was last reconciled
        self.missing: set[str] = set()
        self.waiting = False  # for another process to finish indexing
        self.observer = None

    # -- the loop -----------------------------------------------------------------------------
    def run(self, should_stop: Callable[[], bool], tick: float = 0.1) -> None:
        """Watch until should_stop() is true. Every library folder is reconciled first."""
        self.observer = Observer()
        self.observer.start()
        limit_log = _LimitReached(self.events)
        logging.getLogger("watchdog.observers.inotify").addHandler(limit_log)
        try:
            next_roots_check = 0.0
            while not should_stop():
                now = time.monotonic()
                if now >= next_roots_check:
                    self._follow_roots()
                    next_roots_check = now + 2.0
                self._drain(tick)
                self._poll_unwatched()
                ready = self._settled()
                if ready and not should_stop():
                    self._reconcile(ready)
        finally:
            logging.getLogger("watchdog.observers.inotify").removeHandler(limit_log)
            self.observer.stop()
            self.observer.join(timeout=5)

    def _reconcile(self, paths: list[str]) -> None:
        if self.reconcile(paths):
            self.waiting = False
            return
        if not self.waiting:
            self.say("another process is indexing this library: the changes wait until it is done")
            self.waiting = True
        self._postpone(paths)

    def _drain(self, tick: float) -> None:
        try:
            item = self.events.get(timeout=tick)
        except queue.Empty:
            return
        while True:
            self._note(*item)
            try:
                item = self.events.get_nowait()
            except queue.Empty:
                return

    def _note(self, paths, is_folder) -> None:
        if paths == _LIMIT:
            unwatched = is_folder
            self._fall_back(next((r for r in self.watched if unwatched == r or is_inside(unwatched, r)), None))
            return
        now = time.monotonic()
        for path in paths:
            if _worth_reconciling(path, is_folder):
                self.pending[path] = now
            elif (ruled := _ruled_by(path, is_folder)) is not None:
                self.pending[ruled] = now
                self.say(f"{printable(path)} changed: checking {printable(ruled)} again")

    def _settled(self) -> list[str]:
        """Once nothing has changed for `settle` seconds (or the oldest change waited
        LONGEST_WAIT more), every changed path, a folder standing for what is in it: one
        reconcile sees both ends of a move (a file moved into a new folder arrives as the
        folder's creation and the file's deletion) and matches them by content."""
        if not self.pending:
            return []
        now = time.monotonic()
        if now - max(self.pending.values()) < self.settle and now - min(self.pending.values()) < (
                self.settle + LONGEST_WAIT):
            return []
        ready = sorted(self.pending)
        self.pending.clear()
        tops = []
        for path in ready:  # sorted: a folder comes before what is inside it
            if not any(path == top or is_inside(path, top) for top in tops):
                tops.append(path)
        return tops

    def _settled_now(self) -> float:
        """A change time that counts as settled already (a folder to reconcile whole now)."""
        return time.monotonic() - self.settle

    def _postpone(self, paths: list[str]) -> None:
        """Another process holds the library: try again shortly, with whatever else changed."""
        retry_at = time.monotonic() - self.settle + 1.0  # settled again in 1 s
        for path in paths:
            self.pending[path] = min(self.pending.get(path, retry_at), retry_at)

    # -- which folders are watched ------------------------------------------------------------
    def _follow_roots(self) -> None:
        """Start watching library folders added since (or back from being unplugged), stop
        watching those forgotten or gone. A folder newly watched is reconciled whole."""
        roots = set(self.roots())
        self._follow_patterns(roots)
        for root in [r for r in self.watched if r not in roots or not os.path.isdir(r)]:
            self._unwatch(root)
            if root in roots:
                self.missing.add(root)
                self.pending[root] = self._settled_now()  # its items are kept, marked as not checked
                self.say(f"{printable(root)} is missing (unplugged drive?): its items are kept; "
                         "watching it again when it is back")
        for root in [r for r in self.polled if r not in roots]:
            del self.polled[root]
        for root in sorted(roots - set(self.watched) - set(self.polled)):
            if not os.path.isdir(root):
                if root not in self.missing:
                    self.missing.add(root)
                    self.say(f"{printable(root)} is missing (unplugged drive?): its items are kept; "
                             "watching it when it is back")
                continue
            self._watch(root)

    def _follow_patterns(self, roots: set[str]) -> None:
        """A folder whose include/exclude patterns changed (`folders add` with new ones, here or in
        another process) is scanned again whole: what they now leave out goes, what they let in comes."""
        now = self.patterns()
        for root in sorted(roots & set(now) & set(self.known_patterns)):
            if now[root] != self.known_patterns[root]:
                self.pending[root] = self._settled_now()
                self.say(f"the patterns of {printable(root)} changed: checking it again")
        self.known_patterns = now

    def _watch(self, root: str) -> None:
        back = root in self.missing
        self.missing.discard(root)
        self.pending[root] = self._settled_now()  # reconcile it whole now: it changed while nobody watched
        try:
            self.watched[root] = self.observer.schedule(_Handler(self.events), root, recursive=True)
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EMFILE):
                self.say(f"cannot watch {printable(root)}: {exc.strerror or exc}; checking it every "
                         f"{self.poll_every:g} s instead")
                self.polled[root] = time.monotonic()
                return
            self._fall_back(root, already_watched=False)
            return
        self.say(f"{'back, ' if back else ''}watching {printable(root)}")

    def _unwatch(self, root: str) -> None:
        watch = self.watched.pop(root, None)
        if watch is not None:
            try:
                self.observer.unschedule(watch)
            except (KeyError, OSError):
                pass

    def _fall_back(self, root: str | None, already_watched: bool = True) -> None:
        if root is None or root in self.polled:
            return
        if already_watched:
            self._unwatch(root)
        self.polled[root] = time.monotonic()
        self.pending[root] = self._settled_now()
        self.say(f"cannot watch every folder in {printable(root)}: the system's limit on watched folders "
                 f"(inotify max_user_watches) is reached; checking it every {self.poll_every:g} s instead "
                 f"({WATCH_LIMIT_FIX}, then restart watching)")

    def _poll_unwatched(self) -> None:
        now = time.monotonic()
        for root, last in list(self.polled.items()):
            if now - last >= self.poll_every:
                self.polled[root] = now
                if os.path.isdir(root) or root not in self.missing:
                    self.pending.setdefault(root, self._settled_now())
