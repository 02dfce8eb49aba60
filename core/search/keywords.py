"""The keyword retriever: the items whose name or words (note text, transcript) match a query's
words, best first by BM25 (core/store/keywords.py keeps the FTS5 index and makes the user's words
safe for MATCH). Filters apply as in the vector KNN: kind, library folder and dates inside the
query, a sub-folder and excluded paths on its answer."""

from __future__ import annotations

from core.search.query import Filters
from core.store import LibraryStore, MediaItem
from core.store.keywords import KeywordMatch


def keyword_hits(store: LibraryStore, text: str, k: int, filters: Filters = Filters(),
                 exclude: frozenset[str] = frozenset()) -> list[tuple[MediaItem, KeywordMatch]]:
    """Up to k (item, match) pairs, best BM25 first."""
    fetch = k + len(exclude)
    while True:
        matches = store.keyword_matches(text, fetch, kinds=filters.kinds, folder=filters.root,
                                        after=filters.after, before=filters.before)
        items = store.items_by_ids(m.item_id for m in matches)
        kept = [(items[m.item_id], m) for m in matches
                if m.item_id in items and items[m.item_id].path not in exclude
                and filters.admits_path(items[m.item_id].path)]
        if len(kept) >= k or len(matches) < fetch:
            return kept[:k]
        fetch *= 4
