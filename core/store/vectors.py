"""Vector channels: one sqlite-vec table per channel, each bound to its own (model id, width).

The semantic channel holds the trimodal model's vectors; a second channel (the melody channel of
hum-to-search) has its own space and width and so its own table. Channel names come from the
caller (core.kinds defines them); this module only keeps their tables.

Each table has metadata columns that filter inside the KNN (kind, taken_at, folder).

Every change to a channel's vectors is noted in a journal (`vector_changes`: per channel and item,
the sequence number of its last change and the new metadata; `vector_change_vectors`: the new
vector, for the latest JOURNAL_PAYLOADS changes), so an index kept outside the database (core/search/ann.py) can tell it is stale and
catch up with only what changed, without reading vec0's chunks (which costs a whole chunk per row). Like the channels' tables, the journal is
created by the first write that needs it rather than by a numbered migration; a channel rebuilt for
a new model starts a new journal epoch.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from core.store.pathcodec import printable

_CHANNEL_NAME = re.compile(r"^[a-z][a-z0-9_]{0,30}$")


@dataclass(frozen=True)
class Neighbour:
    item_id: int
    similarity: float  # cosine similarity, from the L2 distance of unit vectors


@dataclass(frozen=True)
class ChannelBinding:
    model_id: str
    dim: int


def vector_table(channel: str) -> str:
    if not _CHANNEL_NAME.match(channel):
        raise ValueError(f"bad vector channel name {channel!r}")
    return f"vectors_{channel}"


def create_vector_table(conn, channel: str, dim: int) -> None:
    conn.execute(
        f"""CREATE VIRTUAL TABLE {vector_table(channel)} USING vec0(
                item_id INTEGER PRIMARY KEY,
                embedding float[{int(dim)}],
                kind TEXT,
                taken_at INTEGER,
                folder TEXT
            )"""
    )


JOURNAL_PAYLOADS = 20_000  # the latest changes keep their vector in the journal; older ones only their id
# The log's rows stay small; the vectors of the latest changes live in a table of their own, so
# dropping old ones frees whole pages (a row shrunk in place keeps its half-empty page).
_JOURNAL = ("""CREATE TABLE IF NOT EXISTS vector_changes (
                   channel   TEXT NOT NULL,
                   item_id   INTEGER NOT NULL,
                   seq       INTEGER NOT NULL,
                   state     TEXT NOT NULL,  -- 'vector' (added or replaced), 'folder' (moved), 'gone'
                   kind      TEXT,
                   taken_at  INTEGER,
                   folder    TEXT,
                   PRIMARY KEY (channel, item_id)
               )""",
            "CREATE INDEX IF NOT EXISTS vector_changes_seq ON vector_changes(seq)",
            """CREATE TABLE IF NOT EXISTS vector_change_vectors (
                   channel   TEXT NOT NULL,
                   item_id   INTEGER NOT NULL,
                   seq       INTEGER NOT NULL,
                   embedding BLOB NOT NULL,
                   PRIMARY KEY (channel, item_id)
               )""",
            "CREATE INDEX IF NOT EXISTS vector_change_vectors_seq ON vector_change_vectors(seq)")
_NOTE = """INSERT INTO vector_changes(channel, item_id, seq, state, kind, taken_at, folder)
           VALUES (?, ?, (SELECT coalesce(max(seq), 0) + 1 FROM vector_changes), ?, ?, ?, ?)
           ON CONFLICT(channel, item_id) DO UPDATE SET
               seq = excluded.seq, folder = excluded.folder,
               state = CASE WHEN excluded.state = 'folder' AND state = 'vector' THEN 'vector' ELSE excluded.state END,
               kind = CASE WHEN excluded.state = 'folder' THEN kind ELSE excluded.kind END,
               taken_at = CASE WHEN excluded.state = 'folder' THEN taken_at ELSE excluded.taken_at END"""


@dataclass(frozen=True)
class JournalChanges:
    """What changed in a channel after a journal position."""

    rows: "VectorRows | None"  # items added or replaced, with their vectors
    gone: list[int]  # items whose vector was removed
    moved: list[tuple[int, str]]  # items whose folder changed (vector unchanged)
    unread: list[int]  # items changed whose vector the journal no longer holds: read them from the table


@dataclass(frozen=True)
class JournalPosition:
    """Where a channel's journal stands: an index built at this position is up to date."""

    epoch: str  # changes when the channel's table is rebuilt (a new model)
    seq: int  # the last change's sequence number (0: none yet)


@dataclass(frozen=True)
class VectorRows:
    """A block of a channel's rows: ids, their vectors and the metadata the KNN filters on."""

    ids: np.ndarray  # int64
    vectors: np.ndarray  # float32, (len(ids), dim)
    kinds: list[str]
    taken_at: np.ndarray  # int64 seconds
    folders: list[str]


class VectorChannels:
    """The vector side of LibraryStore (mixed into it: same connection, same transactions)."""

    conn: object

    def _has_journal(self) -> bool:
        return self.conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = "
                                 "'vector_change_vectors'").fetchone() is not None

    def _note_change(self, channel: str, item_id: int, state: str, vector: bytes | None = None,
                     kind: str | None = None, taken_at: int | None = None, folder: str | None = None) -> None:
        """Journal a change of an item's vector (inside the caller's transaction)."""
        if not self._has_journal():
            for statement in _JOURNAL:
                self.conn.execute(statement)
        self.conn.execute(_NOTE, (channel, int(item_id), state, kind, taken_at, folder))
        seq = self.conn.execute("SELECT max(seq) FROM vector_changes").fetchone()[0]
        if state == "vector":
            self.conn.execute("INSERT OR REPLACE INTO vector_change_vectors(channel, item_id, seq, embedding) "
                              "VALUES (?, ?, ?, ?)", (channel, int(item_id), seq, vector))
        elif state == "gone":
            self.conn.execute("DELETE FROM vector_change_vectors WHERE channel = ? AND item_id = ?",
                              (channel, int(item_id)))
        if seq % 1024 == 0:  # keep the journal's vectors to the latest changes
            self.conn.execute("DELETE FROM vector_change_vectors WHERE seq <= ?", (seq - JOURNAL_PAYLOADS,))

    def journal_position(self, channel: str) -> JournalPosition:
        epoch = self.conn.execute("SELECT value FROM meta WHERE key = ?", (f"journal_epoch:{channel}",)).fetchone()
        seq = 0
        if self._has_journal():
            # The sequence is shared by the channels: its maximum is one look into the seq index.
            seq = self.conn.execute("SELECT coalesce(max(seq), 0) FROM vector_changes").fetchone()[0]
        return JournalPosition(epoch[0] if epoch else "", int(seq))

    def changes_since(self, channel: str, seq: int) -> JournalChanges:
        """What changed in `channel` after journal position `seq` (each item's latest change). The
        `+` keeps SQLite on the seq index: by the channel it would read every row of the channel."""
        binding = self.channel(channel)
        if binding is None or not self._has_journal():
            return JournalChanges(None, [], [], [])
        found = self.conn.execute(
            "SELECT c.item_id, c.state, v.embedding, c.kind, c.taken_at, c.folder FROM vector_changes c "
            "LEFT JOIN vector_change_vectors v ON v.channel = c.channel AND v.item_id = c.item_id "
            "WHERE c.seq > ? AND +c.channel = ?", (int(seq), channel)).fetchall()
        with_vectors = [(i, b, k, t, f) for i, state, b, k, t, f in found if state == "vector" and b is not None]
        return JournalChanges(
            _rows(with_vectors, binding.dim) if with_vectors else None,
            [row[0] for row in found if row[1] == "gone"],
            [(row[0], row[5]) for row in found if row[1] == "folder"],
            [row[0] for row in found if row[1] == "vector" and row[2] is None])

    def vector_count(self, channel: str) -> int:
        if self.channel(channel) is None:
            return 0
        return self.conn.execute(f"SELECT count(*) FROM {vector_table(channel)}").fetchone()[0]

    def vector_rows(self, channel: str, item_ids: Iterable[int] | None = None,
                    block: int = 50_000) -> Iterator[VectorRows]:
        """A channel's rows with their metadata, in blocks: all of them, or those of `item_ids`
        that have a vector."""
        binding = self.channel(channel)
        if binding is None:
            return
        sql = f"SELECT item_id, embedding, kind, taken_at, folder FROM {vector_table(channel)}"
        if item_ids is None:
            cursor = self.conn.execute(sql)
            while rows := cursor.fetchmany(block):
                yield _rows(rows, binding.dim)
            return
        ids = [int(i) for i in item_ids]
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            rows = self.conn.execute(f"{sql} WHERE item_id IN ({','.join('?' * len(chunk))})", chunk).fetchall()
            if rows:
                yield _rows(rows, binding.dim)

    def channel(self, channel: str) -> ChannelBinding | None:
        row = self.conn.execute("SELECT model_id, dim FROM channels WHERE name = ?", (channel,)).fetchone()
        return ChannelBinding(row[0], int(row[1])) if row else None

    def channels(self) -> list[str]:
        return [row[0] for row in self.conn.execute("SELECT name FROM channels ORDER BY name")]

    def bind_channel(self, channel: str, model_id: str, dim: int, same_vectors_as: Iterable[str] = ()) -> int:
        """Bind `channel` to a model. A different model invalidates the channel's vectors: its
        table is rebuilt at the new width and every item goes back to pending. Returns how many
        items must be re-embedded. A channel bound to one of `same_vectors_as` (earlier ids of the
        same model) is only renamed."""
        current = self.channel(channel)
        if current == ChannelBinding(model_id, int(dim)):
            return 0
        vector_table(channel)  # a bad channel name fails here, before anything changes
        if current is not None and current.dim == int(dim) and current.model_id in set(same_vectors_as):
            with self.transaction():
                self.conn.execute("UPDATE channels SET model_id = ? WHERE name = ?", (model_id, channel))
            return 0
        with self.transaction():
            self._rebuild_channel(channel, model_id, dim)
            return self.conn.execute(
                "UPDATE items SET status = 'pending', has_vector = 0, model_id = NULL, error = NULL "
                "WHERE status IN ('done', 'failed')"
            ).rowcount

    def _rebuild_channel(self, channel: str, model_id: str, dim: int) -> None:
        """An empty table for `channel` at `dim`, bound to `model_id` (inside a transaction)."""
        self.conn.execute(f"DROP TABLE IF EXISTS {vector_table(channel)}")
        create_vector_table(self.conn, channel, dim)
        if self._has_journal():
            self.conn.execute("DELETE FROM vector_changes WHERE channel = ?", (channel,))
            self.conn.execute("DELETE FROM vector_change_vectors WHERE channel = ?", (channel,))
        self.conn.execute("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE "
                          "SET value = excluded.value", (f"journal_epoch:{channel}", uuid.uuid4().hex))
        self.conn.execute(
            "INSERT INTO channels(name, model_id, dim) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE "
            "SET model_id = excluded.model_id, dim = excluded.dim", (channel, model_id, int(dim)))

    def _insert_vector(self, channel: str, item_id: int, vector, kind: str, taken_at, folder: str) -> None:
        binding = self.channel(channel)
        data = np.ascontiguousarray(vector, dtype=np.float32)
        if binding is None or data.shape != (binding.dim,):
            raise ValueError(f"vector of shape {data.shape} does not fit channel {channel!r} ({binding})")
        self.conn.execute(
            f"INSERT INTO {vector_table(channel)}(item_id, embedding, kind, taken_at, folder) VALUES (?, ?, ?, ?, ?)",
            (item_id, data.tobytes(), kind, int(taken_at or 0), printable(folder)),
        )
        self._note_change(channel, item_id, "vector", data.tobytes(), kind, int(taken_at or 0), printable(folder))

    def _delete_vectors(self, item_id: int, channels: Iterable[str] | None = None) -> None:
        """The item's vectors in `channels` (all channels when None)."""
        for channel in self.channels() if channels is None else channels:
            if self.conn.execute(f"DELETE FROM {vector_table(channel)} WHERE item_id = ?", (item_id,)).rowcount:
                self._note_change(channel, item_id, "gone")

    def _set_vector_folder(self, item_ids: Iterable[int], folder: str) -> None:
        ids = list(item_ids)
        for channel in self.channels():
            self.conn.executemany(f"UPDATE {vector_table(channel)} SET folder = ? WHERE item_id = ?",
                                  [(printable(folder), item_id) for item_id in ids])
            for item_id in ids:
                self._note_change(channel, item_id, "folder", folder=printable(folder))

    def nearest(self, channel: str, query: np.ndarray, k: int, *, kind: str | None = None,
                folder: str | None = None, after: float | None = None,
                before: float | None = None) -> list[Neighbour]:
        """Exact KNN through sqlite-vec, filtered on the metadata columns inside the KNN (the k
        nearest of the rows that pass): kind, library folder, date in [after, before)."""
        if self.channel(channel) is None or k <= 0:
            return []
        sql = f"SELECT item_id, distance FROM {vector_table(channel)} WHERE embedding MATCH ? AND k = ?"
        params: list = [np.ascontiguousarray(query, dtype=np.float32).tobytes(), int(k)]
        if kind:
            sql += " AND kind = ?"
            params.append(kind)
        if folder:
            sql += " AND folder = ?"
            params.append(printable(folder))
        if after is not None:
            sql += " AND taken_at >= ?"
            params.append(int(after))
        if before is not None:
            sql += " AND taken_at < ?"
            params.append(int(before))
        rows = self.conn.execute(sql, params).fetchall()
        # Unit vectors: squared L2 distance = 2 - 2·cos.
        return [Neighbour(item_id, 1.0 - (distance * distance) / 2.0) for item_id, distance in rows]

    def vectors(self, channel: str, kind: str | None = None,
                limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(ids, matrix) of a channel's vectors, a random sample of `limit` when given."""
        binding = self.channel(channel)
        if binding is None:
            return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
        sql = f"SELECT item_id, embedding FROM {vector_table(channel)}"
        params: list = []
        if kind:
            sql += " WHERE kind = ?"
            params.append(kind)
        if limit:
            sql += f" ORDER BY random() LIMIT {int(limit)}"
        rows = self.conn.execute(sql, params).fetchall()
        ids = np.array([row[0] for row in rows], dtype=np.int64)
        matrix = np.frombuffer(b"".join(row[1] for row in rows), dtype=np.float32)
        return ids, matrix.reshape(len(rows), binding.dim)

    def vectors_of(self, channel: str, item_ids: Iterable[int]) -> dict[int, np.ndarray]:
        """The vectors of these items that have one in the channel."""
        ids = [int(i) for i in item_ids]
        if self.channel(channel) is None or not ids:
            return {}
        found: dict[int, np.ndarray] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            rows = self.conn.execute(
                f"SELECT item_id, embedding FROM {vector_table(channel)} WHERE item_id IN "
                f"({','.join('?' * len(chunk))})", chunk).fetchall()
            found.update((row[0], np.frombuffer(row[1], dtype=np.float32)) for row in rows)
        return found


def _rows(rows: list, dim: int) -> VectorRows:
    return VectorRows(
        np.array([row[0] for row in rows], dtype=np.int64),
        np.frombuffer(b"".join(row[1] for row in rows), dtype=np.float32).reshape(len(rows), dim),
        [row[2] for row in rows],
        np.array([row[3] or 0 for row in rows], dtype=np.int64),
        [row[4] for row in rows],
    )
