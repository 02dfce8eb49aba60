"""The nearest neighbours of a vector channel, fast at a million items: a faiss inverted-file index
kept in memory and in a file beside the library database.

The database stays the source of truth. The index file records the channel's model, width and
journal position (core/store/vectors.py); opened, it catches up with the journal's changes since
then, and a missing, unreadable or foreign file (another model, another epoch, a journal that went
backwards, a different row count) is rebuilt from the database. Before each search the index
catches up with whatever was committed meanwhile (by this connection or another process), so a
search during indexing sees the new items without a rebuild.

Filters are applied inside the candidate search: the items that pass (kind, date, folder, an
allowed set of ids) become a bitmap that faiss checks while it scans the inverted lists, and the
number of lists probed grows as the filter gets narrower, up to all of them; so a filter never
leaves a search short of `k` while at least `k` items pass. The lists hold 16-bit floats, so the
scores are the cosines to about 1e-3 and need no second pass (sqlite-vec reads a whole chunk of
1,024 vectors to return one: re-scoring 40 candidates from the database cost 30-140 ms at 100k).
Chosen by measurement: docs/experiments/search-scale.md.
"""

from __future__ import annotations

import io
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from core.store import printable
from core.store.vectors import JOURNAL_PAYLOADS, JournalPosition, Neighbour, VectorRows

EXACT_BELOW = 20_000  # fewer vectors than this: one list of exact float vectors (a flat scan)
MOST_LISTS = 2048  # k-means over more lists costs minutes at 1M items on two cores
TRAIN_PER_LIST = 40  # k-means training sample per inverted list (faiss asks for at least 39)
NPROBE = 48  # lists probed by an unfiltered search (docs/experiments/search-scale.md)
# Changes caught up with before the file is written again: a tenth of the index above 50k items
# (writing 800 MB at 1M takes seconds), but at most half the journal's vectors, so a file reopened
# after a crash still finds the vectors it lacks in the journal.
SAVE_AFTER = 5_000
UNREAD_MOST = 2_000  # changes whose vectors left the journal, read from the table before a rebuild is cheaper
FORMAT = 1
CLOSE_PROBES = 8  # lists probed per item when looking for near copies (cosine >= 0.9)
SEARCH_THREADS = 1  # one query at a time: OpenMP's spinning workers only add latency when the cores are busy


@dataclass(frozen=True)
class IndexStats:
    items: int
    lists: int
    codec: str
    build_seconds: float
    memory_bytes: int


def index_path(db_path: str | Path, channel: str) -> Path | None:
    """Where a channel's index lives beside the database (None for an in-memory database)."""
    if str(db_path) == ":memory:":
        return None
    db_path = Path(db_path)
    return db_path.with_name(f"{db_path.name}.{channel}.ann")


def lists_for(count: int) -> int:
    """One list (an exact scan) for a small library, about 4·sqrt(n) lists above that."""
    return 1 if count < EXACT_BELOW else min(MOST_LISTS, int(2 ** round(math.log2(4 * math.sqrt(count)))))


class ChannelIndex:
    """Nearest neighbours of one vector channel of `store`, with filters inside the search."""

    def __init__(self, store, channel: str, path: Path | None, *, nprobe: int = NPROBE):
        faiss.omp_set_num_threads(SEARCH_THREADS)
        self.store, self.channel, self.path, self.nprobe = store, channel, path, nprobe
        self.index = None
        self.lists = 0
        self.trained_on = 0  # how many vectors the lists were made for
        self.position = JournalPosition("", 0)
        self.revision = None
        self.build_seconds = 0.0
        self.unsaved = 0
        self.model_id = ""
        self._bitmaps: dict[tuple, tuple[np.ndarray, int]] = {}
        self._new_metadata(0)

    # -- metadata per item id, for the filters ----------------------------------------------------
    def _new_metadata(self, size: int) -> None:
        self.present = np.zeros(size, bool)
        self.kind_codes = np.zeros(size, np.int8)
        self.taken_at = np.zeros(size, np.int64)
        self.folder_codes = np.zeros(size, np.int32)
        self.kinds: list[str] = [""]
        self.folders: list[str] = [""]

    def _grow(self, largest_id: int) -> None:
        if largest_id < len(self.present):
            return
        size = max(largest_id + 1, int(len(self.present) * 1.5))
        for name in ("present", "kind_codes", "taken_at", "folder_codes"):
            old = getattr(self, name)
            grown = np.zeros(size, old.dtype)
            grown[:len(old)] = old
            setattr(self, name, grown)

    @staticmethod
    def _codes(names: list[str], values: list[str]) -> np.ndarray:
        known = {name: code for code, name in enumerate(names)}
        for value in values:
            if value not in known:
                known[value] = len(names)
                names.append(value)
        return np.array([known[value] for value in values], np.int32)

    def _remember(self, rows: VectorRows) -> None:
        if not len(rows.ids):
            return
        self._grow(int(rows.ids.max()))
        self.present[rows.ids] = True
        self.kind_codes[rows.ids] = self._codes(self.kinds, rows.kinds)
        self.taken_at[rows.ids] = rows.taken_at
        self.folder_codes[rows.ids] = self._codes(self.folders, rows.folders)

    # -- keeping in step with the database -------------------------------------------------------
    @property
    def count(self) -> int:
        return 0 if self.index is None else int(self.index.ntotal)

    def stats(self) -> IndexStats:
        codec = "flat" if self.lists <= 1 else "fp16"
        memory = 0 if self.index is None else int(faiss.serialize_index(self.index).nbytes) + self.present.nbytes * 14
        return IndexStats(self.count, self.lists, codec, self.build_seconds, memory)

    def refresh(self) -> None:
        """Catch up with the database: cheap when nothing was committed since the last call."""
        revision = self.store.revision()
        if self.index is not None and revision == self.revision:
            return
        binding = self.store.channel(self.channel)
        if binding is None:
            self.index, self.revision = None, revision
            self._new_metadata(0)
            return
        if self.index is None and not self._load(binding):
            self.build()
        position = self.store.journal_position(self.channel)
        if (position.epoch != self.position.epoch or position.seq < self.position.seq
                or binding.model_id != self.model_id):
            self.build()
        elif position.seq > self.position.seq and not self._catch_up(position):
            self.build()
        if self._outgrown():
            self.build()
        self.revision = self.store.revision()
        self._bitmaps.clear()

    def _outgrown(self) -> bool:
        """Grown far past what the lists were made for: a flat scan past twice its bound, or eight
        times the vectors the lists were trained for (lists eight times longer to scan)."""
        if self.lists <= 1:
            return self.count >= 2 * EXACT_BELOW
        return self.count >= 8 * max(self.trained_on, 1)

    def build(self) -> None:
        """Rebuild from the database: read every vector, train the lists on a sample, add all."""
        started = time.perf_counter()
        binding = self.store.channel(self.channel)
        position = self.store.journal_position(self.channel)
        self._new_metadata(0)
        blocks = list(self.store.vector_rows(self.channel))
        for rows in blocks:
            self._remember(rows)
        count = sum(len(rows.ids) for rows in blocks)
        self.lists, self.trained_on = lists_for(count), count
        faiss.omp_set_num_threads(os.cpu_count() or 1)
        try:
            index = _new_index(binding.dim, self.lists, blocks)
            index.set_direct_map_type(faiss.DirectMap.Hashtable)  # vectors by id, and removals
            for rows in blocks:
                index.add_with_ids(rows.vectors, rows.ids)
        finally:
            faiss.omp_set_num_threads(SEARCH_THREADS)
        self.index, self.position, self.model_id = index, position, binding.model_id
        self.build_seconds = time.perf_counter() - started
        self.unsaved = 0
        self.save()

    def _catch_up(self, position: JournalPosition) -> bool:
        """Apply the journal's changes since the index's position; False when they are too many to
        read one by one (the caller rebuilds)."""
        changes = self.store.changes_since(self.channel, self.position.seq)
        if len(changes.unread) > UNREAD_MOST:
            return False
        replaced = [] if changes.rows is None else changes.rows.ids.tolist()
        stale = np.array(changes.gone + replaced + changes.unread, np.int64)
        stale = stale[stale < len(self.present)]
        stale = stale[self.present[stale]]
        if len(stale):
            self.index.remove_ids(faiss.IDSelectorArray(len(stale), faiss.swig_ptr(stale)))
            self.present[stale] = False
        blocks = ([changes.rows] if changes.rows is not None else []) + list(
            self.store.vector_rows(self.channel, changes.unread))
        for rows in blocks:
            self.index.add_with_ids(rows.vectors, rows.ids)
            self._remember(rows)
        for item_id, folder in changes.moved:
            if item_id < len(self.present) and self.present[item_id]:
                self.folder_codes[item_id] = self._codes(self.folders, [folder])[0]
        self.position = position
        self.unsaved += len(stale) + sum(len(rows.ids) for rows in blocks) + len(changes.moved)
        if self.unsaved >= min(JOURNAL_PAYLOADS // 2, max(SAVE_AFTER, self.count // 10)):
            self.save()
            self.unsaved = 0
        return True

    # -- the index file --------------------------------------------------------------------------
    def save(self) -> None:
        if self.path is None or self.index is None or getattr(self.store, "read_only", False):
            return
        buffer = io.BytesIO()
        np.savez(buffer, format=np.array(FORMAT), index=faiss.serialize_index(self.index),
                 epoch=np.array(self.position.epoch), seq=np.array(self.position.seq),
                 model_id=np.array(self.model_id), lists=np.array(self.lists), trained_on=np.array(self.trained_on),
                 build_seconds=np.array(self.build_seconds), present=self.present, kind_codes=self.kind_codes,
                 taken_at=self.taken_at, folder_codes=self.folder_codes, kinds=np.array(self.kinds, dtype=object),
                 folders=np.array(self.folders, dtype=object))
        temporary = self.path.with_name(self.path.name + f".{os.getpid()}.tmp")
        try:
            temporary.write_bytes(buffer.getbuffer())
            os.replace(temporary, self.path)
        except OSError:
            temporary.unlink(missing_ok=True)  # a full disk or read-only folder: the index lives in memory

    def _load(self, binding) -> bool:
        """Open the index file when it belongs to this channel as it is now (else False)."""
        if self.path is None or not self.path.is_file():
            return False
        try:
            with np.load(self.path, allow_pickle=True) as saved:
                if int(saved["format"]) != FORMAT or str(saved["model_id"]) != binding.model_id:
                    return False
                position = JournalPosition(str(saved["epoch"]), int(saved["seq"]))
                current = self.store.journal_position(self.channel)
                if position.epoch != current.epoch or position.seq > current.seq:
                    return False
                index = faiss.deserialize_index(saved["index"])
                self.present, self.kind_codes = saved["present"], saved["kind_codes"]
                self.taken_at, self.folder_codes = saved["taken_at"], saved["folder_codes"]
                self.kinds, self.folders = list(saved["kinds"]), list(saved["folders"])
                self.lists, self.build_seconds = int(saved["lists"]), float(saved["build_seconds"])
                self.trained_on = int(saved["trained_on"])
        except (OSError, ValueError, KeyError, RuntimeError, EOFError):
            return False
        if index.d != binding.dim:
            return False
        self.index, self.position, self.model_id = index, position, binding.model_id
        if current.seq > position.seq and not self._catch_up(current):
            return False
        if self.count != self.store.vector_count(self.channel):
            return False  # the database was changed some other way: do not trust the file
        return True

    # -- search ----------------------------------------------------------------------------------
    def admitted(self, kind: str | None = None, folder: str | None = None, after: float | None = None,
                 before: float | None = None, allowed: np.ndarray | None = None) -> np.ndarray:
        """A mask over item ids of the items that pass the filters."""
        mask = self.present.copy()
        if kind is not None:
            mask &= self.kind_codes == (self.kinds.index(kind) if kind in self.kinds else -1)
        if folder is not None:
            shown = printable(folder)
            mask &= self.folder_codes == (self.folders.index(shown) if shown in self.folders else -1)
        if after is not None:
            mask &= self.taken_at >= int(after)
        if before is not None:
            mask &= self.taken_at < int(before)
        if allowed is not None:
            keep = np.zeros_like(mask)
            allowed = allowed[(allowed >= 0) & (allowed < len(mask))]
            keep[allowed] = True
            mask &= keep
        return mask

    def nearest(self, query: np.ndarray, k: int, **filters) -> list[Neighbour]:
        """The k nearest items that pass `filters` (see `admitted`), nearest first, with exact cosines."""
        self.refresh()
        if self.index is None or k <= 0 or not self.count:
            return []
        bitmap, passing = self._bitmap(filters)
        if passing == 0:
            return []
        wanted = min(k, passing)
        probes = min(self.lists, math.ceil(self.nprobe * self.count / passing))
        scores, ids = self._candidates(query, wanted, bitmap, probes)
        if len(ids) < wanted and probes < self.lists:
            scores, ids = self._candidates(query, wanted, bitmap, self.lists)  # every list: exact on the codes
        return [Neighbour(int(i), float(s)) for s, i in zip(scores, ids)]

    def close_pairs(self, kind: str, k: int, min_similarity: float) -> list[tuple[int, int, float]]:
        """Pairs of items of `kind` (smaller id first) where one is among the other's k nearest
        with a cosine of at least `min_similarity`."""
        self.refresh()
        bitmap, passing = self._bitmap({"kind": kind})
        if passing < 2:
            return []
        selector = faiss.IDSelectorBitmap(len(self.present), faiss.swig_ptr(bitmap))
        # Close pairs share a list or a neighbouring one: a few probes find them.
        probes = min(self.lists, math.ceil(CLOSE_PROBES * self.count / passing))
        params = faiss.SearchParametersIVF(sel=selector, nprobe=max(1, probes))
        pairs: dict[tuple[int, int], float] = {}
        faiss.omp_set_num_threads(os.cpu_count() or 1)  # many queries at once: worth the threads
        try:
            for rows in self.store.vector_rows(self.channel):
                self._close_in(rows, kind, k, min_similarity, params, pairs)
        finally:
            faiss.omp_set_num_threads(SEARCH_THREADS)
        return [(a, b, score) for (a, b), score in pairs.items()]

    def _close_in(self, rows: VectorRows, kind: str, k: int, min_similarity: float, params, pairs) -> None:
        mine = np.array([row_kind == kind for row_kind in rows.kinds], bool)
        if mine.any():
            scores, found = self.index.search(np.ascontiguousarray(rows.vectors[mine]), k + 1, params=params)
            for item_id, row_scores, row_found in zip(rows.ids[mine].tolist(), scores, found):
                for score, other in zip(row_scores.tolist(), row_found.tolist()):
                    if other >= 0 and other != item_id and score >= min_similarity:
                        pairs[(min(item_id, other), max(item_id, other))] = score

    def _candidates(self, query: np.ndarray, wanted: int, bitmap: np.ndarray,
                    probes: int) -> tuple[np.ndarray, np.ndarray]:
        selector = faiss.IDSelectorBitmap(len(self.present), faiss.swig_ptr(bitmap))
        params = faiss.SearchParametersIVF(sel=selector, nprobe=max(1, probes))
        scores, ids = self.index.search(np.ascontiguousarray(query, np.float32).reshape(1, -1), wanted, params=params)
        found = ids[0] >= 0
        return scores[0][found], ids[0][found]

    def _bitmap(self, filters: dict) -> tuple[np.ndarray, int]:
        """The filters' bitmap over item ids and how many pass, kept until the index changes."""
        key = tuple(sorted((name, value if not isinstance(value, np.ndarray) else value.tobytes())
                           for name, value in filters.items()))
        if key not in self._bitmaps:
            if len(self._bitmaps) > 32:
                self._bitmaps.clear()
            mask = self.admitted(**filters)
            self._bitmaps[key] = (np.packbits(mask, bitorder="little"), int(np.count_nonzero(mask)))
        return self._bitmaps[key]

    def vectors_of(self, item_ids) -> np.ndarray:
        """The index's copies of these items' vectors (16-bit precision above EXACT_BELOW), one row
        each: no vec0 chunk is read, unlike the store's vectors_of."""
        self.refresh()
        rows = [self.index.reconstruct(int(item_id)) for item_id in item_ids]
        return np.array(rows, np.float32).reshape(len(rows), self.index.d)

    def count_of(self, kind: str) -> int:
        self.refresh()
        return int(np.count_nonzero(self.admitted(kind=kind)))

    def sample_ids(self, kind: str, size: int, seed: int = 0) -> np.ndarray:
        """Up to `size` ids of items of `kind`, drawn at random (the same draw for the same library)."""
        self.refresh()
        ids = np.flatnonzero(self.admitted(kind=kind))
        if len(ids) <= size:
            return ids
        return np.sort(np.random.default_rng(seed).choice(ids, size, replace=False))


def _new_index(dim: int, lists: int, blocks: list[VectorRows]):
    """One list of float vectors (exact, needs no training), or `lists` lists of 16-bit floats
    around centroids trained on a sample."""
    if lists <= 1:
        quantizer = faiss.IndexFlatIP(dim)
        quantizer.add(np.zeros((1, dim), np.float32))  # the one list's centroid: nothing to train
        index = faiss.IndexIVFFlat(quantizer, dim, 1, faiss.METRIC_INNER_PRODUCT)
        index.own_fields = True
        quantizer.this.disown()
        return index
    index = faiss.index_factory(dim, f"IVF{lists},SQfp16", faiss.METRIC_INNER_PRODUCT)
    index.cp.niter = 10
    index.train(_training_sample(blocks, max(lists * TRAIN_PER_LIST, 10_000)))
    return index


def _training_sample(blocks: list[VectorRows], size: int) -> np.ndarray:
    total = sum(len(rows.ids) for rows in blocks)
    if total <= size:
        return np.concatenate([rows.vectors for rows in blocks])
    rng = np.random.default_rng(0)
    chosen = np.sort(rng.choice(total, size, replace=False))
    parts, start = [], 0
    for rows in blocks:
        local = chosen[(chosen >= start) & (chosen < start + len(rows.ids))] - start
        parts.append(rows.vectors[local])
        start += len(rows.ids)
    return np.ascontiguousarray(np.concatenate(parts))
