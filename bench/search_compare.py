"""The alternatives bench/search.py's `--compare` measures on the same database and queries:
sqlite-vec's own KNN over float vectors (today's search before the index), int8 and bit first
passes in vec0 tables re-scored with the exact floats from a plain table, and hnswlib. Each is
timed for one kind (recordings, a quarter of the items) with recall@k against numpy exact top-k.
"""

from __future__ import annotations

import time

import numpy as np

from core.kinds import SEMANTIC
from core.store import LibraryStore

KIND = "audio"


def _fill_alternatives(store: LibraryStore, corpus) -> None:
    dim = corpus.dim
    rows = list(range(len(corpus.vectors)))
    store.conn.execute(f"CREATE VIRTUAL TABLE cmp_int8 USING vec0(item_id INTEGER PRIMARY KEY, "
                       f"embedding int8[{dim}], kind TEXT)")
    store.conn.execute(f"CREATE VIRTUAL TABLE cmp_bit USING vec0(item_id INTEGER PRIMARY KEY, "
                       f"embedding bit[{dim}], kind TEXT)")
    store.conn.execute("CREATE TABLE cmp_float (item_id INTEGER PRIMARY KEY, embedding BLOB)")
    codes = np.clip(np.round(corpus.vectors * 127 / np.abs(corpus.vectors).max()), -127, 127).astype(np.int8)
    bits = np.packbits(corpus.vectors > 0, axis=1)
    with store.transaction():
        store.conn.executemany("INSERT INTO cmp_int8 VALUES (?, vec_int8(?), ?)",
                               [(r + 1, codes[r].tobytes(), str(corpus.kinds[r])) for r in rows])
        store.conn.executemany("INSERT INTO cmp_bit VALUES (?, vec_bit(?), ?)",
                               [(r + 1, bits[r].tobytes(), str(corpus.kinds[r])) for r in rows])
        store.conn.executemany("INSERT INTO cmp_float VALUES (?, ?)",
                               [(r + 1, corpus.vectors[r].tobytes()) for r in rows])


def _timed(name: str, run, queries, truths, k: int, percentiles, numpy_p50: float) -> str:
    times, recalls = [], []
    for query, truth in zip(queries, truths):
        started = time.perf_counter()
        found = run(query)
        times.append(time.perf_counter() - started)
        recalls.append(len(set(found) & truth) / k)
    p50, p95 = percentiles(times)
    return (f"  {name:<34} p50 {p50:8.2f} ms  p95 {p95:8.2f} ms  recall@{k} {np.mean(recalls):.3f}  "
            f"ratio {p50 / numpy_p50:6.2f}")


def compare(db, corpus, queries, k: int, exact_top, percentiles, numpy_percentiles,
            most_queries: int = 40) -> list[str]:
    queries = queries[:most_queries]
    mask = corpus.kinds == KIND
    truths = [exact_top(corpus, query, mask, k) for query in queries]
    numpy_p50, _ = numpy_percentiles(corpus, queries, mask, k)
    lines = [f"  -- alternatives, kind={KIND} ({int(mask.sum())} pass), {len(queries)} queries, "
             f"numpy exact {numpy_p50:.2f} ms"]
    with LibraryStore(db) as store:
        started = time.perf_counter()
        _fill_alternatives(store, corpus)
        lines.append(f"  (int8, bit and plain float tables written in {time.perf_counter() - started:.0f} s)")
        lines.append(_timed("sqlite-vec float (exact)", lambda q: [
            n.item_id for n in store.nearest(SEMANTIC, q, k, kind=KIND)], queries, truths, k, percentiles, numpy_p50))
        scale = 127 / np.abs(corpus.vectors).max()
        for first in (40, 100):
            lines.append(_timed(f"sqlite-vec int8 {first} + float rescore", lambda q, first=first: _int8(
                store, q, scale, k, first), queries, truths, k, percentiles, numpy_p50))
        for first in (100, 400):
            lines.append(_timed(f"sqlite-vec bit {first} + float rescore", lambda q, first=first: _bit(
                store, q, k, first), queries, truths, k, percentiles, numpy_p50))
    lines += _hnswlib(corpus, queries, truths, k, percentiles, numpy_p50)
    return lines


def _int8(store, query, scale, k, first):
    code = np.clip(np.round(query * scale), -127, 127).astype(np.int8).tobytes()
    return _rescored(store, "cmp_int8", "vec_int8(?)", code, query, k, first)


def _bit(store, query, k, first):
    return _rescored(store, "cmp_bit", "vec_bit(?)", np.packbits(query > 0).tobytes(), query, k, first)


def _rescored(store, table, encode, code, query, k, first):
    candidates = [row[0] for row in store.conn.execute(
        f"SELECT item_id FROM {table} WHERE embedding MATCH {encode} AND k = ? AND kind = ?", (code, first, KIND))]
    marks = ",".join("?" * len(candidates))
    rows = store.conn.execute(f"SELECT item_id, embedding FROM cmp_float WHERE item_id IN ({marks})",
                              candidates).fetchall()
    scored = sorted(((float(np.frombuffer(blob, np.float32) @ query), item_id) for item_id, blob in rows), reverse=True)
    return [item_id for _, item_id in scored[:k]]


def _hnswlib(corpus, queries, truths, k, percentiles, numpy_p50) -> list[str]:
    import hnswlib

    started = time.perf_counter()
    index = hnswlib.Index(space="ip", dim=corpus.dim)
    index.init_index(max_elements=len(corpus.vectors), M=16, ef_construction=100)
    index.add_items(corpus.vectors, np.arange(1, len(corpus.vectors) + 1))
    lines = [f"  hnswlib M16 efC100: build {time.perf_counter() - started:.0f} s"]
    allowed = set((np.flatnonzero(corpus.kinds == KIND) + 1).tolist())
    for ef in (64, 256):
        index.set_ef(ef)

        def run(query):
            labels, _ = index.knn_query(query, k=k, filter=lambda label: label in allowed)
            return labels[0].tolist()

        lines.append(_timed(f"hnswlib ef{ef}, filter callback", run, queries, truths, k, percentiles, numpy_p50))
    return lines
