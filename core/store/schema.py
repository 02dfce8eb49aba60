"""Versioned schema. Each migration moves the database from version N-1 to N inside one transaction.

The version lives in `PRAGMA user_version`. Migrations are append-only: never edit a shipped one,
add the next. Vector tables are created when a channel is bound to a model (their width is the
model's): `LibraryStore.bind_channel`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from core.store.jobs import backfill_jobs, create_jobs_table
from core.store.keywords import backfill_keywords, create_keyword_table
from core.store.melodies import create_melody_table
from core.store.parts import create_parts_table
from core.store.pathcodec import from_db, is_inside, printable
from core.store.vectors import create_vector_table

Migration = Callable[[object], None]  # receives an open connection inside a transaction


def _execute_each(conn, script: str) -> None:
    # Not executescript(): it commits any open transaction first, which would break atomicity.
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _v1_initial(conn) -> None:
    _execute_each(
        conn,
        """
        CREATE TABLE meta (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        CREATE TABLE folders (
            id       INTEGER PRIMARY KEY,
            path     TEXT NOT NULL UNIQUE,
            added_at REAL NOT NULL
        );
        CREATE TABLE items (
            id             INTEGER PRIMARY KEY,
            path           TEXT NOT NULL UNIQUE,
            folder         TEXT NOT NULL,
            kind           TEXT NOT NULL CHECK (kind IN ('image', 'audio', 'text')),
            size           INTEGER,
            mtime          REAL,
            content_hash   TEXT,
            status         TEXT NOT NULL DEFAULT 'pending'
                               CHECK (status IN ('pending', 'done', 'failed')),
            error          TEXT,
            has_vector     INTEGER NOT NULL DEFAULT 0,
            model_id       TEXT,
            taken_at       REAL,
            width          INTEGER,
            height         INTEGER,
            duration       REAL,
            extracted_text TEXT,
            added_at       REAL NOT NULL,
            updated_at     REAL NOT NULL,
            indexed_at     REAL
        );
        CREATE INDEX items_status ON items(status);
        CREATE INDEX items_folder ON items(folder);
        CREATE INDEX items_hash ON items(content_hash);
        """
    )


def _v2_trust(conn) -> None:
    """Per-item warnings (e.g. a truncated recording indexed from what decodes), the folders a
    scan could not check, and one library folder per file: a folder nested in another one is
    merged into it (before this, both claimed the same files and re-embedded them every run)."""
    _execute_each(
        conn,
        """
        ALTER TABLE items ADD COLUMN warning TEXT;
        CREATE TABLE folder_problems (
            path    TEXT PRIMARY KEY,
            root    TEXT NOT NULL,
            reason  TEXT NOT NULL,
            seen_at REAL NOT NULL
        );
        CREATE INDEX folder_problems_root ON folder_problems(root)
        """
    )
    folders = [row[0] for row in conn.execute("SELECT path FROM folders")]  # as stored
    has_vectors = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'item_vectors'").fetchone()
    for child in folders:
        parent = next((p for p in folders if is_inside(from_db(child), from_db(p))), None)
        if parent is None:
            continue
        if has_vectors:
            conn.execute("UPDATE item_vectors SET folder = ? WHERE item_id IN "
                         "(SELECT id FROM items WHERE folder = ?)", (printable(from_db(parent)), child))
        conn.execute("UPDATE items SET folder = ? WHERE folder = ?", (parent, child))
        conn.execute("DELETE FROM folders WHERE path = ?", (child,))


def _v3_channels(conn) -> None:
    """Vector channels: one vector table per channel, each bound to its own (model id, dim) in
    `channels` (the one `item_vectors` table and the meta table's model_id/dim become the
    `semantic` channel, vectors kept). The kinds of media are no longer spelled out in a CHECK
    constraint (core.kinds is their one list), so `items` is rebuilt without it."""
    conn.execute("CREATE TABLE channels (name TEXT PRIMARY KEY, model_id TEXT NOT NULL, dim INTEGER NOT NULL)")
    meta = dict(conn.execute("SELECT key, value FROM meta WHERE key IN ('model_id', 'dim')").fetchall())
    old_table = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'item_vectors'").fetchone()
    if old_table and "model_id" in meta and "dim" in meta:
        conn.execute("INSERT INTO channels(name, model_id, dim) VALUES ('semantic', ?, ?)",
                     (meta["model_id"], int(meta["dim"])))
        create_vector_table(conn, "semantic", int(meta["dim"]))
        conn.execute("INSERT INTO vectors_semantic(item_id, embedding, kind, taken_at, folder) "
                     "SELECT item_id, embedding, kind, taken_at, folder FROM item_vectors")
    if old_table:
        conn.execute("DROP TABLE item_vectors")
    conn.execute("DELETE FROM meta WHERE key IN ('model_id', 'dim')")
    columns = ", ".join(row[1] for row in conn.execute("PRAGMA table_info(items)"))
    _execute_each(
        conn,
        f"""
        CREATE TABLE items_new (
            id             INTEGER PRIMARY KEY,
            path           TEXT NOT NULL UNIQUE,
            folder         TEXT NOT NULL,
            kind           TEXT NOT NULL,
            size           INTEGER,
            mtime          REAL,
            content_hash   TEXT,
            status         TEXT NOT NULL DEFAULT 'pending'
                               CHECK (status IN ('pending', 'done', 'failed')),
            error          TEXT,
            has_vector     INTEGER NOT NULL DEFAULT 0,
            model_id       TEXT,
            taken_at       REAL,
            width          INTEGER,
            height         INTEGER,
            duration       REAL,
            extracted_text TEXT,
            added_at       REAL NOT NULL,
            updated_at     REAL NOT NULL,
            indexed_at     REAL,
            warning        TEXT
        );
        INSERT INTO items_new({columns}) SELECT {columns} FROM items;
        DROP TABLE items;
        ALTER TABLE items_new RENAME TO items;
        CREATE INDEX items_status ON items(status);
        CREATE INDEX items_folder ON items(folder);
        CREATE INDEX items_hash ON items(content_hash);
        CREATE INDEX items_kind ON items(kind)
        """
    )


def _v4_folder_patterns(conn) -> None:
    """Per-folder include and exclude patterns (shell patterns, one per line; empty: none)."""
    _execute_each(
        conn,
        """
        ALTER TABLE folders ADD COLUMN include_patterns TEXT NOT NULL DEFAULT '';
        ALTER TABLE folders ADD COLUMN exclude_patterns TEXT NOT NULL DEFAULT ''
        """
    )


def _v5_keywords(conn) -> None:
    """The keyword index (core/store/keywords.py): an FTS5 table of each item's name words and
    text (note text, transcripts), filled from the items already there."""
    create_keyword_table(conn)
    backfill_keywords(conn)


def _v6_jobs(conn) -> None:
    """The durable job queue (core/store/jobs.py): one row per (item, task), an "embed" job for
    every item already there in the state its status says."""
    create_jobs_table(conn)
    backfill_jobs(conn)


def _v7_photo_facts(conn) -> None:
    """A photo's camera (EXIF make and model) and where it was taken (EXIF GPS, decimal degrees);
    items indexed before keep NULLs until their file changes (core/media/exif.py reads them)."""
    _execute_each(
        conn,
        """
        ALTER TABLE items ADD COLUMN camera TEXT;
        ALTER TABLE items ADD COLUMN latitude REAL;
        ALTER TABLE items ADD COLUMN longitude REAL
        """
    )


def _v8_melodies(conn) -> None:
    """The notes of each recording that carries a tune (core/store/melodies.py), for hum-to-search.
    Recordings already there get their "melody" job when the melody channel is first bound."""
    create_melody_table(conn)


def _v9_parts(conn) -> None:
    """Long notes' passages and long recordings' segments (core/store/parts.py); their vectors'
    table is made when the parts are first bound to the semantic model."""
    create_parts_table(conn)


MIGRATIONS: Sequence[Migration] = (_v1_initial, _v2_trust, _v3_channels, _v4_folder_patterns, _v5_keywords,
                                   _v6_jobs, _v7_photo_facts, _v8_melodies, _v9_parts)
SCHEMA_VERSION = len(MIGRATIONS)


class SchemaTooNew(RuntimeError):
    """The database was written by a newer Trimodal-Bind; opening it could lose data."""


def schema_version(conn) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def prepare(conn, operational_error: type[Exception], tries: int = 50) -> None:
    """WAL, then the schema, on a connection that may write. Two connections preparing one new
    database at once can get "database is locked" at once (SQLite skips the busy handler where
    waiting could deadlock): they retry."""
    for attempt in range(tries):
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            migrate(conn)
            return
        except operational_error as exc:
            if "locked" not in str(exc) or attempt == tries - 1:
                raise
            time.sleep(0.2)


def migrate(conn, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Bring the database up to `len(migrations)`; return the number of migrations applied."""
    current = schema_version(conn)
    target = len(migrations)
    if current > target:
        raise SchemaTooNew(
            f"database schema version {current} is newer than this app understands ({target}); "
            "update Trimodal-Bind or open another database with --db"
        )
    for version in range(current + 1, target + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-read inside the write lock: another process may have migrated meanwhile.
            if schema_version(conn) >= version:
                conn.execute("ROLLBACK")
                continue
            migrations[version - 1](conn)
            conn.execute(f"PRAGMA user_version = {version}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # SQLite may have rolled back by itself already
                conn.execute("ROLLBACK")
            raise
    return max(0, target - current)
