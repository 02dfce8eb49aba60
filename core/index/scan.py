"""Walk a folder and describe every media file in it without reading its content (stat only).

Files that cannot be used (broken links, FIFOs, permission errors) are reported with a reason
instead of being skipped silently, so the user can see why something is missing from search.
"""

from __future__ import annotations

import fnmatch
import os
import stat
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


def scan_folder(root: str) -> Iterator[ScannedFile | FolderError]:
    """Yield a ScannedFile for each supported file under root and a FolderError for each
    sub-folder that could not be listed. Hidden files and folders, and names listed in a
    folder's `.trimodal-ignore`, are skipped; directory
    symlinks are not followed (they can form loops)."""
    stack = [root]
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
            if entry.name.startswith(".") or any(fnmatch.fnmatch(entry.name, p) for p in ignored):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    subfolders.append(entry.path)
                    continue
            except OSError:
                pass
            kind = kind_of(entry.name)
            if kind is None:
                continue
            try:
                info = os.stat(entry.path)  # follows file symlinks on purpose
            except OSError as exc:
                yield ScannedFile(entry.path, kind, None, None, _describe_stat_error(entry.path, exc))
                continue
            if stat.S_ISDIR(info.st_mode):
                continue  # a link to a folder, or a folder named like a file
            if not stat.S_ISREG(info.st_mode):
                # Never open a FIFO or device: reading it can block forever.
                yield ScannedFile(entry.path, kind, None, info.st_mtime, "not a regular file (pipe, socket or device)")
                continue
            if not os.access(entry.path, os.R_OK):
                yield ScannedFile(entry.path, kind, info.st_size, info.st_mtime, "cannot read: permission denied")
                continue
            yield ScannedFile(entry.path, kind, info.st_size, info.st_mtime)
        stack.extend(reversed(subfolders))
