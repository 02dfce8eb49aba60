"""File names as the database keeps them, and as people read them.

POSIX file names are bytes. Python hands a name that is not valid UTF-8 over as a str with lone
surrogates (PEP 383), which SQLite's UTF-8 text cannot hold. Such a name is stored as the raw
bytes (a BLOB in the same column), so it round-trips exactly and the real file can be opened
again; every valid name stays plain text, so existing libraries need no change.
"""

from __future__ import annotations

import os


def to_db(path: str) -> str | bytes:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(path)
    return path


def from_db(value: str | bytes) -> str:
    return os.fsdecode(value) if isinstance(value, bytes) else value


def printable(text: str) -> str:
    """A readable form of a name or message that any UTF-8 output can show: the bytes that are
    not UTF-8 are written as \\xNN escapes (the real name is kept unchanged elsewhere)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return text


def is_inside(path: str, folder: str) -> bool:
    """Whether `path` lies strictly below `folder` (both absolute and normalised)."""
    if path == folder:
        return False
    try:
        return os.path.commonpath([path, folder]) == folder
    except ValueError:  # different drives on Windows
        return False
