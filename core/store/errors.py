"""Database failures (disk full, read-only media, locked file) turned into sentences for users."""

from __future__ import annotations

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


def explain_database_error(exc: BaseException, db_path: object, conn=None) -> str:
    message = str(exc).lower()
    if "full" in message or _out_of_space(db_path, conn):
        reason = "the disk that holds it is full: free some space, then run the same command again"
    elif "readonly" in message or "read-only" in message:
        reason = "it is read-only: choose a writable location with --db PATH"
    elif "locked" in message or "busy" in message:
        reason = "another Trimodal-Bind is writing to it: wait for it to finish, then try again"
    elif "malformed" in message or "not a database" in message:
        reason = "it is damaged or not a Trimodal-Bind database: move it aside and index again"
    else:
        reason = f"SQLite said: {exc}"
    return (f"the library database {db_path} could not be used, because {reason}. "
            "Everything saved before this point is intact.")
