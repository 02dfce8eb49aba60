"""Search at scale, end to end through the door, against exact numpy top-k in the same run.

Run by hand (heavy at 1M: `nice -n 10`):
    python bench/search.py [--sizes 10000 100000 1000000] [--queries 200] [--compare] [--during-indexing]

For each size it writes a real library database of synthetic items at the model's width: 1,000
clusters of uneven size and spread (an item's cosine to its cluster's centre 0.55-0.8, queries
further out than items), three kinds (60 % photos, 25 % recordings, 15 % notes), dates over ten
years and 20 library folders. It times `Library.search_vector` (embedding aside: a text query adds
the text tower's ~8 ms) unfiltered and with filters, and prints p50/p95, recall@10 against numpy's
exact top-k of the same filter, and the ratio to numpy's time. `--compare` also times sqlite-vec's
own KNN (float, and int8 / bit first passes re-scored with the floats) and hnswlib on the same data;
`--during-indexing` times queries while another process adds items in indexer-sized transactions.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, no install

from core.kinds import KIND_NAMES, SEMANTIC  # noqa: E402
from core.library import Library, load_model  # noqa: E402

KIND_SHARE = {"image": 0.60, "audio": 0.25, "text": 0.15}
FOLDERS = [f"/bench/folder{i:02d}" for i in range(20)]
FIRST_DAY = dt.datetime(2015, 1, 1).timestamp()
TEN_YEARS = 10 * 365 * 86400


class Corpus:
    """Clustered unit vectors with kinds, dates and folders; `extra` rows come from the same clusters."""

    def __init__(self, size: int, dim: int, clusters: int = 1000, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.dim, self.rng = dim, rng
        centres = rng.normal(size=(clusters, dim)).astype(np.float32)
        self.centres = centres / np.linalg.norm(centres, axis=1, keepdims=True)
        weights = 1.0 / np.arange(1, clusters + 1) ** 0.8  # a few big clusters, many small ones
        self.weights = weights / weights.sum()
        self.spread = rng.uniform(0.75, 1.5, clusters)  # noise norm relative to the centre's
        self.vectors = self.draw(size)
        self.kinds = rng.choice(KIND_NAMES, size, p=[KIND_SHARE[k] for k in KIND_NAMES])
        self.taken_at = (FIRST_DAY + rng.uniform(0, TEN_YEARS, size)).astype(np.int64)
        folder_weights = 1.0 / np.arange(1, len(FOLDERS) + 1)
        self.folders = rng.choice(len(FOLDERS), size, p=folder_weights / folder_weights.sum())

    def draw(self, n: int, further: float = 1.0) -> np.ndarray:
        cluster = self.rng.choice(len(self.centres), n, p=self.weights)
        noise = self.rng.normal(size=(n, self.dim)).astype(np.float32)
        noise *= (self.spread[cluster] * further / np.sqrt(self.dim))[:, None].astype(np.float32)
        rows = self.centres[cluster] + noise
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def fill(db: Path, corpus: Corpus, model) -> float:
    """Write the corpus into a library database through the store, as the indexer does."""
    library = Library(db, embedder=model)
    library.bind_model()
    store = library.store
    for folder in FOLDERS:
        store.add_folder(folder)
    started = time.perf_counter()
    batch = 5000
    for start in range(0, len(corpus.vectors), batch):
        with store.transaction():
            for row in range(start, min(start + batch, len(corpus.vectors))):
                folder = FOLDERS[corpus.folders[row]]
                kind = str(corpus.kinds[row])
                item_id = store.record_scanned(f"{folder}/item{row}.{kind}", folder, kind, 1, 1.0, f"h{row}")
                store.mark_done(item_id, {SEMANTIC: corpus.vectors[row]}, taken_at=int(corpus.taken_at[row]))
    seconds = time.perf_counter() - started
    library.close()
    return seconds


def exact_top(corpus: Corpus, query: np.ndarray, mask: np.ndarray | None, k: int) -> set[int]:
    scores = corpus.vectors @ query
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    top = np.argpartition(-scores, k)[:k]
    return {int(row) + 1 for row in top if np.isfinite(scores[row])}  # item ids follow insertion order


def percentiles(times: list[float]) -> tuple[float, float]:
    return float(np.percentile(times, 50)) * 1000, float(np.percentile(times, 95)) * 1000


def filter_cases(corpus: Corpus) -> dict[str, tuple[dict, np.ndarray | None]]:
    """name -> (the door's filter arguments, the rows they admit)."""
    day = lambda stamp: dt.date.fromtimestamp(stamp).isoformat()  # noqa: E731
    after, before = FIRST_DAY + TEN_YEARS * 0.3, FIRST_DAY + TEN_YEARS * 0.5
    after_day, before_day = day(after), day(before)
    lo = dt.datetime.fromisoformat(after_day).timestamp()
    hi = (dt.datetime.fromisoformat(before_day) + dt.timedelta(days=1)).timestamp()
    folder = 5
    return {
        "none": ({"kinds": ("image",)}, corpus.kinds == "image"),
        "kind=audio": ({"kinds": ("audio",)}, corpus.kinds == "audio"),
        "audio+folder+2y": ({"kinds": ("audio",), "folder": FOLDERS[folder], "after": after_day,
                             "before": before_day},
                            (corpus.kinds == "audio") & (corpus.folders == folder)
                            & (corpus.taken_at >= lo) & (corpus.taken_at < hi)),
    }


def numpy_percentiles(corpus: Corpus, queries: np.ndarray, mask, k: int) -> tuple[float, float]:
    """p50 and p95 of numpy's exact top-k over the rows `mask` keeps (all when None): the baseline."""
    times = []
    for query in queries:
        started = time.perf_counter()
        exact_top(corpus, query, mask, k)
        times.append(time.perf_counter() - started)
    return percentiles(times)


def time_door(library: Library, corpus: Corpus, queries: np.ndarray, k: int) -> list[str]:
    lines = []
    engine = library.search_engine
    started = time.perf_counter()
    engine.index.refresh()  # builds it (the file was not there yet)
    lines.append(f"  index: build {time.perf_counter() - started:.1f} s, {engine.index.stats()}")
    numpy_p50, _ = numpy_percentiles(corpus, queries, None, k)
    recalls = [len({n.item_id for n in engine.index.nearest(query, k)} & exact_top(corpus, query, None, k)) / k
               for query in queries]
    lines.append(f"  the index alone, no filter: recall@{k} {np.mean(recalls):.3f}")
    times = []
    for query in queries:
        started = time.perf_counter()
        library.search_vector(query, limit=k)
        times.append(time.perf_counter() - started)
    p50, p95 = percentiles(times)
    lines.append(f"  {'all kinds, merged':<22} p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  (numpy exact {numpy_p50:.2f} ms, "
                 f"ratio {p50 / numpy_p50:.2f})")
    for name, (arguments, mask) in filter_cases(corpus).items():
        label = "kind=image" if name == "none" else name
        times, recalls = [], []
        for query in queries:
            started = time.perf_counter()
            hits = library.search_vector(query, limit=k, **arguments)
            times.append(time.perf_counter() - started)
            truth = exact_top(corpus, query, mask, k)
            recalls.append(len({hit.item.id for hit in hits} & truth) / max(1, min(k, len(truth))))
            if len(truth) >= k and len(hits) < k:
                lines.append(f"  !! {label}: {len(hits)} hits though {int(mask.sum())} items pass")
        p50, p95 = percentiles(times)
        lines.append(f"  {label:<22} p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  recall@{k} {np.mean(recalls):.3f}  "
                     f"ratio {p50 / numpy_p50:5.2f}  ({int(mask.sum())} pass)")
    return lines


def writer(db: str, corpus_seed: int, dim: int, seconds: float, per_batch: int, pause: float, done) -> None:
    """Another process adding items the way the indexer does: small transactions, one after another."""
    from core.store import LibraryStore

    rng = np.random.default_rng(corpus_seed)
    store = LibraryStore(db)
    stop_at = time.time() + seconds
    n = 0
    while time.time() < stop_at:
        rows = rng.normal(size=(per_batch, dim)).astype(np.float32)
        rows /= np.linalg.norm(rows, axis=1, keepdims=True)
        with store.transaction():
            for vector in rows:
                item_id = store.record_scanned(f"{FOLDERS[0]}/new{n}.image", FOLDERS[0], "image", 1, 1.0, f"n{n}")
                store.mark_done(item_id, {SEMANTIC: vector}, taken_at=int(FIRST_DAY))
                n += 1
        time.sleep(pause)
    done.value = n
    store.close()


def time_during_indexing(db: Path, model, corpus: Corpus, queries: np.ndarray, k: int) -> str:
    done = multiprocessing.Value("i", 0)
    process = multiprocessing.Process(target=writer, args=(str(db), 7, corpus.dim, 20.0, 32, 0.1, done))
    with Library(db, embedder=model) as library:
        library.search_vector(queries[0], limit=k)
        process.start()
        times = []
        stop_at = time.time() + 18
        while time.time() < stop_at:
            for query in queries[:20]:
                started = time.perf_counter()
                library.search_vector(query, limit=k, kinds=("image",), folder=FOLDERS[0])
                times.append(time.perf_counter() - started)
        process.join()
    p50, p95 = percentiles(times)
    return (f"  during indexing (another process adds {done.value} items, 32 a transaction): "
            f"kind+folder p50 {p50:.2f} ms  p95 {p95:.2f} ms over {len(times)} queries")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--compare", action="store_true", help="also sqlite-vec float/int8/bit and hnswlib")
    parser.add_argument("--during-indexing", action="store_true")
    parser.add_argument("--keep", type=Path, help="write the databases into this folder and keep them")
    args = parser.parse_args()
    model = load_model()
    print(f"model {model.model_id}, dim {model.dim}, k {args.k}, {args.queries} queries per case; "
          f"times end to end through Library.search_vector")
    for size in args.sizes:
        corpus = Corpus(size, model.dim)
        queries = corpus.draw(args.queries, further=1.3)
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(tempfile.mkdtemp(dir=args.keep)) if args.keep else Path(scratch)
            db = folder / "library.db"
            fill_seconds = fill(db, corpus, model)
            print(f"\n{size:,} items: filled in {fill_seconds:.0f} s; database {db.stat().st_size / size:.0f} B/item")
            with Library(db, embedder=model) as library:
                for line in time_door(library, corpus, queries, args.k):
                    print(line, flush=True)
            ann = db.with_name(db.name + f".{SEMANTIC}.ann")
            started = time.perf_counter()
            with Library(db, embedder=model) as library:
                library.search_vector(queries[0], limit=args.k)
                print(f"  index file {ann.stat().st_size / size:.0f} B/item; a new process opens it and answers "
                      f"in {time.perf_counter() - started:.2f} s", flush=True)
            if args.during_indexing:
                print(time_during_indexing(db, model, corpus, queries, args.k), flush=True)
            if args.compare:
                from bench.search_compare import compare

                for line in compare(db, corpus, queries, args.k, exact_top, percentiles, numpy_percentiles):
                    print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
