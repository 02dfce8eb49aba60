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
leaves a search short of `k` while at least `k` items pass. Candidates are re-scored with the
exact float vectors from the database (the lists hold 8-bit codes). Chosen by measurement:
docs/experiments/search-scale.md.
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
from core.store.vectors import JournalPosition, Neighbour, VectorRows

EXACT_BELOW = 20_000  # fewer vectors than this: one list of exact float vectors (a flat scan)
TRAIN_PER_LIST = 40  # k-means training sample per inverted list
NPROBE = 24  # lists probed by an unfiltered search (recall@10 >= 0.99 on the benchmark's clusters)
RESCORE = 4  # candidates re-scored exactly per neighbour wanted
SAVE_AFTER = 5_000  # journal changes caught up with before the index file is written again
FORMAT = 1


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
    """One list (an exact scan) for a small library, about sqrt(n) lists above that."""
    return 1 if count < EXACT_BELOW else int(2 ** round(math.log2(math.sqrt(count))))


class ChannelIndex:
    """Nearest neighbours of one vector channel of `store`, with filters inside the search."""

    def __init__(self, store, channel: str, path: Path | None, *, nprobe: int = NPROBE):
        self.store, self.channel, self.path, self.nprobe = store, channel, path, nprobe
        self.index = None
        self.lists = 0
        self.position = JournalPosition("", 0)
        self.revision = None
        self.build_seconds = 0.0
        self.unsaved = 0
        self.model_id = ""
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
        codec = "flat" if self.lists <= 1 else "sq8"
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
        elif position.seq > self.position.seq:
            self._catch_up(position)
        if self._outgrown():
            self.build()
        self.revision = self.store.revision()

    def _outgrown(self) -> bool:
        """Grown far past what the lists were made for: a flat scan past twice its bound, or four
        times the lists' size."""
        if self.lists <= 1:
            return self.count >= 2 * EXACT_BELOW
        return lists_for(self.count) >= 4 * self.lists

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
        self.lists = lists_for(count)
        index = _new_index(binding.dim, self.lists, blocks)
        for rows in blocks:
            index.add_with_ids(rows.vectors, rows.ids)
        self.index, self.position, self.model_id = index, position, binding.model_id
        self.build_seconds = time.perf_counter() - started
        self.unsaved = 0
        self.save()

    def _catch_up(self, position: JournalPosition) -> None:
        changed = np.array(self.store.changed_since(self.channel, self.position.seq), np.int64)
        known = changed[changed < len(self.present)]
        gone = known[self.present[known]]
        if len(gone):
            self.index.remove_ids(faiss.IDSelectorBatch(gone))
            self.present[gone] = False
        for rows in self.store.vector_rows(self.channel, changed.tolist()):
            self.index.add_with_ids(rows.vectors, rows.ids)
            self._remember(rows)
        self.position = position
        self.unsaved += len(changed)
        if self.unsaved >= SAVE_AFTER:
            self.save()
            self.unsaved = 0

    # -- the index file --------------------------------------------------------------------------
    def save(self) -> None:
        if self.path is None or self.index is None or getattr(self.store, "read_only", False):
            return
        buffer = io.BytesIO()
        np.savez(buffer, format=np.array(FORMAT), index=faiss.serialize_index(self.index),
                 epoch=np.array(self.position.epoch), seq=np.array(self.position.seq),
                 model_id=np.array(self.model_id), lists=np.array(self.lists),
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
        except (OSError, ValueError, KeyError, RuntimeError, EOFError):
            return False
        if index.d != binding.dim:
            return False
        self.index, self.position, self.model_id = index, position, binding.model_id
        if current.seq > position.seq:
            self._catch_up(current)
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
        mask = self.admitted(**filters)
        passing = int(mask.sum())
        if passing == 0:
            return []
        wanted = min(k * (RESCORE if self.lists > 1 else 1), passing)
        probes = min(self.lists, math.ceil(self.nprobe * self.count / passing))
        scores, ids = self._candidates(query, wanted, mask, probes)
        if len(ids) < wanted and probes < self.lists:
            scores, ids = self._candidates(query, wanted, mask, self.lists)  # every list: exact on the codes
        if self.lists <= 1:  # the lists hold the float vectors: the scores are exact already
            return [Neighbour(int(i), float(s)) for s, i in zip(scores[:k], ids[:k])]
        vectors = self.store.vectors_of(self.channel, ids.tolist())
        scored = sorted(((float(vector @ query), item_id) for item_id, vector in vectors.items()), reverse=True)
        return [Neighbour(item_id, similarity) for similarity, item_id in scored[:k]]

    def _candidates(self, query: np.ndarray, wanted: int, mask: np.ndarray,
                    probes: int) -> tuple[np.ndarray, np.ndarray]:
        bitmap = np.packbits(mask, bitorder="little")
        selector = faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(bitmap))
        params = faiss.SearchParametersIVF(sel=selector, nprobe=max(1, probes))
        scores, ids = self.index.search(np.ascontiguousarray(query, np.float32).reshape(1, -1), wanted, params=params)
        found = ids[0] >= 0
        return scores[0][found], ids[0][found]

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
    """One list of float vectors (exact, needs no training), or `lists` lists of 8-bit codes trained
    on a sample."""
    if lists <= 1:
        quantizer = faiss.IndexFlatIP(dim)
        quantizer.add(np.zeros((1, dim), np.float32))  # the one list's centroid: nothing to train
        index = faiss.IndexIVFFlat(quantizer, dim, 1, faiss.METRIC_INNER_PRODUCT)
        index.own_fields = True
        quantizer.this.disown()
        return index
    index = faiss.index_factory(dim, f"IVF{lists},SQ8", faiss.METRIC_INNER_PRODUCT)
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
