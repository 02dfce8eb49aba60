"""Database failures (disk full, read-only media, locked file) turned into sentences for users."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

from core.store.driver import get_driver

LOW_DISK_BYTES = 64 * 1024 * 1024


def database_errors() -> tuple[type[BaseException], ...]:
    """The exception classes a store operation can raise, whichever binding is in use."""
    return tuple({sqlite3.DatabaseError, get_driver().module.DatabaseError})


def _out_of_space(db_path: object, conn) -> bool:
    """sqlite-vec reports a full disk as a generic "could not insert" error, so look for the
    cause: little free space next to the database, or SQLite's own page limit reached."""
    try:
        if shutil.disk_usage(Path(str(db_path)).parent).free < LOW_DISK_BYTES:
            return True
    except OSError:
        pass
    if conn is not None:
        try:
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            limit = conn.execute("PRAGMA max_page_count").fetchone()[0]
            return pages >= limit - 16
        except Exception:
            return False
    return False


def _read_only_place(db_path: Path) -> bool:
    """The database, its folder or the file system under them cannot be written."""
    folder = db_path.parent
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return True
    except (OSError, AttributeError):  # AttributeError: no statvfs on Windows
        pass
    if db_path.exists() and not os.access(db_path, os.W_OK):
        return True
    return folder.is_dir() and not os.access(folder, os.W_OK | os.X_OK)


def _why_it_cannot_open(db_path: Path) -> str:
    folder = db_path.parent
    if db_path.is_dir():
        return "it is a folder, not a database file: give a file name with --db PATH"
    if not folder.exists():
        return f"its folder {folder} does not exist"
    if not os.access(folder, os.W_OK | os.X_OK):
        return (f"its folder {folder} cannot be written (permission denied): choose a writable "
                "location with --db PATH")
    if db_path.exists() and not os.access(db_path, os.R_OK):
        return "it cannot be read (permission denied)"
    return "SQLite could not open the file"


def explain_database_error(exc: BaseException, db_path: object, conn=None) -> str:
    message = str(exc).lower()
    path = Path(str(db_path))
    # Read-only first: a read-only file system also reports no free space.
    if "readonly" in message or "read-only" in message or (
            "full" not in message and _read_only_place(path)):
        reason = ("it is read-only (a read-only file, folder or file system): searching and `status` "
                  "still work; to index, choose a writable location with --db PATH")
    elif "unable to open" in message or "cannot open" in message:
        reason = _why_it_cannot_open(path)
    elif "full" in message or _out_of_space(db_path, conn):
        reason = "the disk that holds it is full: free some space, then run the same command again"
    elif "locked" in message or "busy" in message:
        reason = "another Trimodal-Bind is writing to it: wait for it to finish, then try again"
    elif "malformed" in message or "not a database" in message:
        reason = "it is damaged or not a Trimodal-Bind database: move it aside and index again"
    else:
        reason = f"SQLite said: {exc}"
    return (f"the library database {db_path} could not be used, because {reason}. "
            "Everything saved before this point is intact.")
