"""Walk a folder and describe every media file in it without reading its content (stat only).

Files that cannot be used (broken links, FIFOs, permission errors) are reported with a reason
instead of being skipped silently, so the user can see why something is missing from search.
What is never the user's media (SKIPPED_BY_DEFAULT), `.trimodal-ignore` names and a library
folder's own include/exclude patterns (FolderRules) are left out.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import stat
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from core.kinds import kind_of


@dataclass(frozen=True)
class ScannedFile:
    path: str
    kind: str
    size: int | None
    mtime: float | None
    error: str | None = None


@dataclass(frozen=True)
class FolderError:
    path: str
    error: str


def _describe_stat_error(path: str, exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError) and not os.path.islink(path):
        return "file disappeared while its folder was read"
    if exc.errno == errno.ELOOP:
        return "link loop: the link leads back to itself through other links, never to a file"
    if os.path.islink(path) and not os.path.exists(path):
        return f"broken link (points to {os.readlink(path)!r})"
    return f"cannot read: {exc.strerror or exc}"


IGNORE_FILE = ".trimodal-ignore"


def _ignore_patterns(folder: str) -> list[str]:
    """Names to skip in this folder, one shell pattern per line (like a small .gitignore)."""
    try:
        with open(os.path.join(folder, IGNORE_FILE), encoding="utf-8") as handle:
            return [line.strip() for line in handle if line.strip() and not line.startswith("#")]
    except (OSError, UnicodeDecodeError):
        return []


# Never indexed, in any folder: these are not the user's media but litter that systems, tools and
# downloads leave beside it, and indexing a file that is still being written would index half of
# it, then index it again when it is done. Hidden names (".DS_Store", ".git", ".cache", editors'
# ".#swap" files) start with a dot; the rest, compared in lower case (Windows and macOS names keep
# their case but ignore it): Windows' thumbnail cache and folder settings, Synology's thumbnails,
# Python's bytecode, cache folders, the Windows recycle bin and the file-system's recovery folder,
# and partial downloads and temporary files (Firefox ".part", Chrome ".crdownload", Safari
# ".download", ".tmp", Office's "~$" lock files).
SKIPPED_BY_DEFAULT = (
    ".*", "thumbs.db", "ehthumbs.db", "desktop.ini", "@eadir", "__pycache__", "cache", "caches",
    "$recycle.bin", "system volume information", "lost+found",
    "*.part", "*.partial", "*.crdownload", "*.download", "*.tmp", "~$*",
)


def skipped_by_default(name: str) -> bool:
    lowered = name.lower()
    return any(fnmatch.fnmatchcase(lowered, pattern) for pattern in SKIPPED_BY_DEFAULT)


@dataclass(frozen=True)
class FolderRules:
    """A library folder's own patterns (`folders add --include/--exclude`). A pattern with a "/"
    is matched against the path below the library folder, one without against the name. Excluded
    files and folders are skipped; with include patterns, only files matching one are taken."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    @staticmethod
    def _matches(patterns: tuple[str, ...], relative: str) -> bool:
        name = relative.rsplit("/", 1)[-1]
        return any(fnmatch.fnmatchcase(relative if "/" in p else name, p.strip("/")) for p in patterns)

    def takes(self, root: str, path: str, is_folder: bool) -> bool:
        relative = os.path.relpath(path, root).replace(os.sep, "/")
        if self._matches(self.exclude, relative):
            return False
        return is_folder or not self.include or self._matches(self.include, relative)


NO_RULES = FolderRules()


def _skipped(name: str, ignored: list[str]) -> bool:
    return skipped_by_default(name) or any(fnmatch.fnmatch(name, pattern) for pattern in ignored)


def describe_file(path: str) -> ScannedFile | None:
    """What the library sees of one file (stat only), or None for a file it does not handle."""
    kind = kind_of(path)
    if kind is None:
        return None
    try:
        info = os.stat(path)  # follows file symlinks on purpose
    except OSError as exc:
        return ScannedFile(path, kind, None, None, _describe_stat_error(path, exc))
    if stat.S_ISDIR(info.st_mode):
        return None  # a link to a folder, or a folder named like a file
    if not stat.S_ISREG(info.st_mode):
        # Never open a FIFO or device: reading it can block forever.
        return ScannedFile(path, kind, None, info.st_mtime, "not a regular file (pipe, socket or device)")
    if not os.access(path, os.R_OK):
        return ScannedFile(path, kind, info.st_size, info.st_mtime, "cannot read: permission denied")
    return ScannedFile(path, kind, info.st_size, info.st_mtime)


NO_EXTENSION = "(no extension)"


def type_of(name: str) -> str:
    """How a file the library does not take is counted: its extension in lower case."""
    extension = os.path.splitext(name)[1].lower()
    return extension or NO_EXTENSION


def scan_folder(folder: str, rules: FolderRules = NO_RULES, root: str | None = None,
                not_taken: Counter | None = None) -> Iterator[ScannedFile | FolderError]:
    """Yield a ScannedFile for each supported file under `folder` (in library folder `root`,
    by default itself) and a FolderError for each sub-folder that could not be listed. Names
    skipped by default, names listed in a folder's `.trimodal-ignore` and what `rules` leave out
    are skipped; directory symlinks are not followed (they can form loops). Files of a type the
    library does not take (".heic" before it did, ".docx", ".mov") are counted by extension in
    `not_taken`, so status can say what was left out instead of leaving it out silently."""
    root = folder if root is None else root
    stack = [folder]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            yield FolderError(folder, f"cannot list folder: {exc.strerror or exc}")
            continue
        subfolders = []
        ignored = _ignore_patterns(folder)
        for entry in entries:
            if _skipped(entry.name, ignored):
                continue
            try:
                is_folder = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_folder = False
            if not rules.takes(root, entry.path, is_folder):
                continue
            if is_folder:
                subfolders.append(entry.path)
                continue
            described = describe_file(entry.path)
            if described is not None:
                yield described
            elif not_taken is not None and kind_of(entry.name) is None:
                not_taken[type_of(entry.name)] += 1
        stack.extend(reversed(subfolders))


def scan_path(root: str, path: str, rules: FolderRules = NO_RULES,
              not_taken: Counter | None = None) -> Iterator[ScannedFile | FolderError]:
    """What is at `path` below library folder `root` now: a sub-folder is walked, a file is
    described, and a path that is gone (or skipped by the ignore rules) yields nothing. A
    path inside a folder that cannot be listed yields that folder's error: its items are kept.
    Files of types not taken below a walked folder are counted in `not_taken` (see scan_folder)."""
    relative = os.path.relpath(path, root).split(os.sep)
    folder = root
    for name in relative[:-1] if relative != ["."] else []:
        if _skipped(name, _ignore_patterns(folder)) or not rules.takes(root, os.path.join(folder, name), True):
            return
        folder = os.path.join(folder, name)
    if path != root and _skipped(os.path.basename(path), _ignore_patterns(os.path.dirname(path))):
        return
    parent = os.path.dirname(path)
    if path != root and not os.access(parent, os.R_OK | os.X_OK) and os.path.isdir(parent):
        yield FolderError(parent, "cannot list folder: Permission denied")
        return
    if os.path.isdir(path) and not os.path.islink(path):
        if path == root or rules.takes(root, path, True):
            yield from scan_folder(path, rules, root, not_taken)
        return
    described = describe_file(path) if os.path.lexists(path) and rules.takes(root, path, False) else None
    if described is not None:
        yield described
