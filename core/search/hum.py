"""Search by a hummed, sung or whistled tune: the melody channel's nearest vectors are the
candidates, an alignment that forgives key, tempo, wrong notes and gaps ranks them (core.melody),
and each hit brings its companions: the photos and notes from the same folder and day.

The alignment score is the share of the query's steps found in order in the recording (0..1). On
the hum-to-search set (docs/experiments/hum-to-search.md) the right recording scored 0.86 for the
median query and 0.62 at the 5th percentile, while a wrong one reached 0.64 for the median query,
so the default cut of 0.6 keeps 97 % of right answers with about 7 wrong ones above it in a
library of 200 tunes; results are ordered, and the first is the answer 86 % of the time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from core.kinds import MELODY
from core.melody import Notes, best_alignment, melody_of, melody_vector
from core.model.audio import decode_file
from core.model.preprocess import UnreadableInput
from core.search.query import Filters, QueryError
from core.store import LibraryStore, MediaItem, printable

CANDIDATES = 50
QUERY_SECONDS = 60.0  # a hummed query longer than this is cut
MIN_SCORE = 0.6
_DAY = 24 * 3600.0


@dataclass(frozen=True)
class TuneHit:
    item: MediaItem
    score: float  # share of the hummed steps found in order in the recording (0..1)
    at_seconds: float  # where in the recording the matching stretch starts
    companions: tuple[MediaItem, ...] = ()  # photos and notes from the same folder and day


def _day(item: MediaItem) -> float | None:
    return item.taken_at or item.mtime


def companions_of(store: LibraryStore, item: MediaItem, most: int = 6) -> tuple[MediaItem, ...]:
    """Photos and notes in the recording's own folder, taken within a day of it, nearest first."""
    folder = os.path.dirname(item.path)
    when = _day(item)
    near = [other for other in store.items_under(folder)
            if other.kind != item.kind and os.path.dirname(other.path) == folder and other.status == "done"
            and when is not None and _day(other) is not None and abs(_day(other) - when) <= _DAY]
    return tuple(sorted(near, key=lambda other: abs(_day(other) - when))[:most])


def hummed_notes(recording, rate: int | None = None) -> Notes:
    """The notes of a query: an audio file's path, or samples (mono or (n, channels)) at `rate` Hz."""
    if rate is None:
        try:
            waveform = decode_file(recording, max_seconds=QUERY_SECONDS)
        except UnreadableInput as exc:
            raise QueryError(f"cannot hear a tune in {printable(str(recording))}: {exc}") from None
        return melody_of(waveform.samples, waveform.rate)
    return melody_of(np.asarray(recording, dtype=np.float32)[: int(QUERY_SECONDS * rate)], int(rate))


def search_tune(store: LibraryStore, query: Notes, limit: int = 10, min_score: float | None = None,
                candidates: int = CANDIDATES, filters: Filters = Filters()) -> list[TuneHit]:
    """Recordings whose tune the `query` notes hum, best first; `filters` (date, folder) apply
    inside the channel's KNN (a sub-folder after it, with more candidates asked for)."""
    vector = melody_vector(query)
    if vector is None:
        raise QueryError(f"no tune heard in the recording ({len(query)} notes): hum, sing or whistle "
                         "at least five notes, a few seconds long")
    if store.channel(MELODY) is None:
        return []
    wanted = max(candidates, limit) * (4 if filters.under else 1)
    neighbours = store.nearest(MELODY, vector, wanted, folder=filters.root, after=filters.after,
                               before=filters.before)
    stored = {i: Notes.from_rows(rows) for i, rows in store.melody_notes(n.item_id for n in neighbours).items()}
    items = store.items_by_ids(stored)
    cut = MIN_SCORE if min_score is None else min_score
    scored = []
    for item_id, notes in stored.items():
        score, end = best_alignment(query, notes)
        if score >= cut and item_id in items and filters.admits_path(items[item_id].path):
            start = max(0, min(end - len(query) + 1, len(notes) - 1))
            scored.append((score, item_id, float(notes.starts[start]) if len(notes) else 0.0))
    scored.sort(key=lambda hit: -hit[0])
    return [TuneHit(items[i], s, at, companions_of(store, items[i])) for s, i, at in scored[:limit]]
