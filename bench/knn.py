"""KNN through the library store (sqlite-vec) versus exact numpy top-k on the same vectors.

Run by hand: `python bench/knn.py [--sizes 10000 100000] [--dim 384] [--queries 50]`.
Prints per-size timings and the store/numpy ratio measured in the same run (machines are noisy).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, no install

from core.kinds import KIND_NAMES as KINDS, SEMANTIC  # noqa: E402
from core.store import LibraryStore  # noqa: E402


def unit_rows(rng, n: int, dim: int) -> np.ndarray:
    rows = rng.normal(size=(n, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def fill(store: LibraryStore, vectors: np.ndarray) -> float:
    started = time.perf_counter()
    with store.transaction():
        for i, vector in enumerate(vectors):
            item_id = store.record_scanned(f"/bench/{i}.jpg", "/bench", KINDS[i % 3], 1, 1.0, f"h{i}")
            store.mark_done(item_id, {SEMANTIC: vector}, taken_at=1_600_000_000 + i)
    return time.perf_counter() - started


def numpy_top_k(matrix: np.ndarray, query: np.ndarray, k: int) -> np.ndarray:
    scores = matrix @ query
    top = np.argpartition(-scores, k)[:k]
    return top[np.argsort(-scores[top])]


def time_per_query(run, queries) -> float:
    run(queries[0])  # warm caches
    started = time.perf_counter()
    for query in queries:
        run(query)
    return (time.perf_counter() - started) * 1000 / len(queries)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"dim {args.dim}, k {args.k}, {args.queries} queries per size")
    print(f"{'rows':>8} {'insert/s':>9} {'store ms':>9} {'store+kind ms':>14} {'numpy ms':>9} "
          f"{'ratio':>6} {'recall':>6}")
    for size in args.sizes:
        vectors = unit_rows(rng, size, args.dim)
        queries = unit_rows(rng, args.queries, args.dim)
        with tempfile.TemporaryDirectory() as folder, LibraryStore(Path(folder) / "bench.db") as store:
            store.bind_channel(SEMANTIC, "bench", args.dim)
            insert_seconds = fill(store, vectors)
            ids_by_row = {row: row + 1 for row in range(size)}  # item ids follow insertion order
            store_ms = time_per_query(lambda q: store.nearest(SEMANTIC, q, args.k), queries)
            filtered_ms = time_per_query(lambda q: store.nearest(SEMANTIC, q, args.k, kind="image"), queries)
            numpy_ms = time_per_query(lambda q: numpy_top_k(vectors, q, args.k), queries)
            agree = np.mean([
                {n.item_id for n in store.nearest(SEMANTIC, q, args.k)}
                == {ids_by_row[r] for r in numpy_top_k(vectors, q, args.k)}
                for q in queries[:10]
            ])
        print(f"{size:>8} {size / insert_seconds:>9.0f} {store_ms:>9.2f} {filtered_ms:>14.2f} "
              f"{numpy_ms:>9.2f} {store_ms / numpy_ms:>6.1f} {agree:>6.2f}")
    print("ratio = store ms / numpy ms (same data, same run); recall = top-k sets identical")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
