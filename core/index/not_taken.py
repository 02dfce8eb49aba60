"""Files of types the library does not take, counted by extension per library folder.

A full scan of a library folder counts them (core.index.scan's `not_taken`) and the count replaces
the last one, kept in the store's meta table (one JSON object per folder, no schema change);
reconciling single paths does not touch it. Status shows it, so a user whose phone photos or voice
memos are in a format the app cannot read sees "37 .mov, 4 .xcf" instead of nothing.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable

from core.store import printable

KEY_PREFIX = "not_taken:"


def _key(root: str) -> str:
    return KEY_PREFIX + printable(root)


def record_not_taken(store, root: str, counts: Counter) -> None:
    """What a full scan of `root` found and left out: {".mov": 37, ".xcf": 4}, most first."""
    ordered = dict(sorted(counts.items(), key=lambda pair: (-pair[1], pair[0])))
    store.set_meta(_key(root), json.dumps(ordered))


def forget_not_taken(store, root: str) -> None:
    """A folder removed from the library: its count goes with it."""
    if store.get_meta(_key(root)) is not None:
        store.set_meta(_key(root), "{}")


def not_taken(store, roots: Iterable[str]) -> dict[str, dict[str, int]]:
    """Per library folder (printable), the types left out by its last full scan; folders with
    none are left out."""
    found = {}
    for root in roots:
        try:
            counts = json.loads(store.get_meta(_key(root)) or "{}")
        except ValueError:
            counts = {}
        if counts:
            found[printable(root)] = {str(ext): int(n) for ext, n in counts.items()}
    return found

