"""The keyword index: an SQLite FTS5 table apart from the vectors (calibre keeps its full-text
index apart too), one row per item, rowid = the item's id.

Columns: `name`, the file name's stem with `_` and `-` read as spaces, and `body`, the words the
item holds (a note's text, a recording's transcript: `items.extracted_text`). The porter stemmer
over unicode61 (diacritics folded) matches "cats" to "cat" and "café" to "cafe". Rows are written
inside the same transactions as the items they describe (LibraryStore's record_scanned,
move_item, mark_done, mark_failed, delete_items), so the index never disagrees with `items`.

A user's words are never handed to FTS5's query syntax: each word becomes a quoted string, and
the words are OR-ed, so quotes, `*`, `:`, `^`, `NEAR`, `AND`/`OR`/`NOT` and brackets are plain text.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass

from core.store.pathcodec import from_db, printable, to_db

KEYWORD_TABLE = "keywords"
_WORD = re.compile(r"\w+", re.UNICODE)
_OPEN, _CLOSE = "\x02", "\x03"  # around matched words in a snippet; never in a user's text
_MARKED = re.compile(f"{_OPEN}(.*?){_CLOSE}", re.S)
MAX_QUERY_WORDS = 32
_UNDECODED = re.compile("[\udc80-\udcff]")
# In a library of photos and recordings few items hold text, so "a" or "the" would look rare to
# BM25's idf and weigh like real words.
STOPWORDS = frozenset("""
a an the and or but nor of in on at to for from by with without into onto over under about as is are
was were be been being am it its this that these those there here he she they we you i me my our your
his her their them us do does did has have had not no so if then than too very can will just some any
""".split())


def _marked_words(text: str) -> tuple[str, ...]:
    """The words between the highlight marks, each once (case-insensitively), in order."""
    found: dict[str, str] = {}
    for word in _MARKED.findall(text):
        found.setdefault(word.strip().lower(), word.strip())
    return tuple(word for word in found.values() if word)


def create_keyword_table(conn) -> None:
    conn.execute(f"CREATE VIRTUAL TABLE {KEYWORD_TABLE} USING fts5(name, body, "
                 "tokenize = 'porter unicode61 remove_diacritics 2')")


def name_words(path: str) -> str:
    """What the keyword index reads from a file's name: its stem, `_` and `-` as spaces. A name
    that is not UTF-8 has its stray bytes read as Latin-1 (most such names are: `caf\\xe9` is
    "café")."""
    stem = os.path.splitext(os.path.basename(path))[0]
    stem = _UNDECODED.sub(lambda m: chr(ord(m.group()) - 0xDC00), stem)  # PEP 383 byte → Latin-1
    return re.sub(r"[_\-]+", " ", stem).strip()


def query_words(text: str) -> list[str]:
    """A user's words, lower-cased, each once (lone surrogates of undecodable input → U+FFFD),
    without English function words ("a cat" looks for "cat"), unless that leaves none."""
    clean = text.encode("utf-8", "replace").decode("utf-8", "replace")
    words = list(dict.fromkeys(w.lower() for w in _WORD.findall(clean)))
    content = [w for w in words if w not in STOPWORDS]
    return (content or words)[:MAX_QUERY_WORDS]


def _quoted(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def match_expression(text: str) -> str | None:
    """A safe FTS5 MATCH expression for a user's words (each one quoted, OR-ed); None when the
    text holds no word at all."""
    words = query_words(text)
    return " OR ".join(map(_quoted, words)) if words else None


@dataclass(frozen=True)
class KeywordMatch:
    item_id: int
    score: float  # BM25, higher is better (FTS5's bm25() negated)
    share: float  # how much of the query's words (idf-weighted) the item holds: 0..1, comparable across queries
    snippet: str  # the best matching passage, matched words between \x02 and \x03
    terms: tuple[str, ...] = ()  # the item's words that matched, as written (name first, then text)

    def readable_snippet(self, open_mark: str = "[", close_mark: str = "]") -> str:
        text = self.snippet.replace(_OPEN, open_mark).replace(_CLOSE, close_mark)
        return " ".join(text.split())


class KeywordIndex:
    """The keyword side of LibraryStore (mixed into it: same connection, same transactions)."""

    conn: object

    def _set_keywords(self, item_id: int, path: str, text: str | None) -> None:
        self.conn.execute(f"DELETE FROM {KEYWORD_TABLE} WHERE rowid = ?", (item_id,))
        self.conn.execute(f"INSERT INTO {KEYWORD_TABLE}(rowid, name, body) VALUES (?, ?, ?)",
                          (item_id, name_words(path), printable(text) if text else ""))

    def _rename_keywords(self, item_id: int, path: str) -> None:
        row = self.conn.execute(f"SELECT body FROM {KEYWORD_TABLE} WHERE rowid = ?", (item_id,)).fetchone()
        self._set_keywords(item_id, path, row[0] if row else None)

    def _delete_keywords(self, item_ids: Iterable[int]) -> None:
        self.conn.executemany(f"DELETE FROM {KEYWORD_TABLE} WHERE rowid = ?", [(i,) for i in item_ids])

    def keyword_row(self, item_id: int) -> tuple[str, str] | None:
        """(name words, body) as indexed for an item; None when it has no row."""
        row = self.conn.execute(f"SELECT name, body FROM {KEYWORD_TABLE} WHERE rowid = ?", (item_id,)).fetchone()
        return (row[0], row[1]) if row else None

    def keyword_matches(self, text: str, k: int, *, kinds: Iterable[str] | None = None,
                        folder: str | None = None, after: float | None = None,
                        before: float | None = None) -> list[KeywordMatch]:
        """The k indexed items (status done) that best match `text`'s words, best first by BM25,
        filtered on kind, library folder and date [after, before) like the vector KNN."""
        expression = match_expression(text)
        if expression is None or k <= 0:
            return []
        sql = (f"SELECT k.rowid, bm25({KEYWORD_TABLE}), snippet({KEYWORD_TABLE}, -1, ?, ?, '…', 10), "
               f"highlight({KEYWORD_TABLE}, 0, ?, ?), highlight({KEYWORD_TABLE}, 1, ?, ?) "
               f"FROM {KEYWORD_TABLE} AS k JOIN items AS i ON i.id = k.rowid "
               f"WHERE {KEYWORD_TABLE} MATCH ? AND i.status = 'done'")
        params: list = [_OPEN, _CLOSE] * 3 + [expression]
        kinds = list(kinds) if kinds is not None else None
        if kinds is not None:
            sql += f" AND i.kind IN ({','.join('?' * len(kinds))})"
            params += kinds
        if folder:
            sql += " AND i.folder = ?"
            params.append(to_db(folder))
        if after is not None:
            sql += " AND CAST(coalesce(i.taken_at, 0) AS INTEGER) >= ?"
            params.append(int(after))
        if before is not None:
            sql += " AND CAST(coalesce(i.taken_at, 0) AS INTEGER) < ?"
            params.append(int(before))
        sql += f" ORDER BY bm25({KEYWORD_TABLE}) LIMIT ?"
        params.append(int(k))
        rows = self.conn.execute(sql, params).fetchall()
        shares = self._shares(query_words(text), [row[0] for row in rows]) if rows else {}
        return [KeywordMatch(item_id, -float(score), shares.get(item_id, 0.0), snippet or "",
                             _marked_words(name + "\n" + body)) for item_id, score, snippet, name, body in rows]

    def _shares(self, words: list[str], item_ids: list[int]) -> dict[int, float]:
        """{item id: Σ idf of the query words it holds / Σ idf of all of them}: how much of what
        the query says (rare words weigh most, FTS5's idf, a word no item holds as if one did) the
        item matched, whatever its length or the other items' scores."""
        total = self.conn.execute(f"SELECT count(*) FROM {KEYWORD_TABLE}").fetchone()[0]
        marks = ",".join("?" * len(item_ids))
        held: dict[int, float] = dict.fromkeys(item_ids, 0.0)
        whole = 0.0
        for word in words:
            hits = self.conn.execute(f"SELECT count(*) FROM {KEYWORD_TABLE} WHERE {KEYWORD_TABLE} MATCH ?",
                                     (_quoted(word),)).fetchone()[0]
            idf = max(math.log((total - max(hits, 1) + 0.5) / (max(hits, 1) + 0.5)), 1e-6)
            whole += idf
            for (item_id,) in self.conn.execute(f"SELECT rowid FROM {KEYWORD_TABLE} WHERE {KEYWORD_TABLE} "
                                                f"MATCH ? AND rowid IN ({marks})", [_quoted(word), *item_ids]):
                held[item_id] += idf
        return {item_id: value / whole for item_id, value in held.items()} if whole > 0 else {}


def backfill_keywords(conn) -> None:
    """Index every item already in the library (the migration that adds the table)."""
    rows = conn.execute("SELECT id, path, extracted_text FROM items").fetchall()
    conn.executemany(f"INSERT INTO {KEYWORD_TABLE}(rowid, name, body) VALUES (?, ?, ?)",
                     [(item_id, name_words(from_db(path)), printable(text) if text else "")
                      for item_id, path, text in rows])
