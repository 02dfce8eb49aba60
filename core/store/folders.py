"""What the library keeps about each library folder besides its items: the include and exclude
patterns the user gave it, and how many of its items are done, pending or failed (for `folders
list`). A mixin of LibraryStore, which owns the connection and the transactions."""

from __future__ import annotations

from collections.abc import Sequence

from core.store.pathcodec import from_db, to_db


def _lines(patterns: Sequence[str]) -> str:
    return "\n".join(patterns)


def _patterns(text: str) -> tuple[str, ...]:
    return tuple(line for line in text.split("\n") if line)


class FolderSettings:
    conn: object

    def set_folder_patterns(self, path: str, include: Sequence[str], exclude: Sequence[str]) -> None:
        """Replace a library folder's include and exclude patterns (shell patterns, no newlines)."""
        with self.transaction():
            self.conn.execute("UPDATE folders SET include_patterns = ?, exclude_patterns = ? WHERE path = ?",
                              (_lines(include), _lines(exclude), to_db(path)))

    def folder_patterns(self, path: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(include, exclude) patterns of a library folder; empty for one not recorded."""
        row = self.conn.execute("SELECT include_patterns, exclude_patterns FROM folders WHERE path = ?",
                                (to_db(path),)).fetchone()
        return (_patterns(row[0]), _patterns(row[1])) if row else ((), ())

    def folder_counts(self) -> dict[str, dict[str, int]]:
        """{library folder: {status: n}} for every library folder (zeros where empty)."""
        result = {from_db(row[0]): {"pending": 0, "done": 0, "failed": 0}
                  for row in self.conn.execute("SELECT path FROM folders")}
        for folder, status, n in self.conn.execute("SELECT folder, status, count(*) FROM items GROUP BY folder, status"):
            result.setdefault(from_db(folder), {"pending": 0, "done": 0, "failed": 0})[status] = n
        return result
