"""Each library folder as `folders list` and the window show it: its patterns, how many of its
items are done, pending and failed, and its state (missing, sub-folders not checked, pending)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from core.store import LibraryStore


@dataclass(frozen=True)
class FolderInfo:
    path: str
    include: tuple[str, ...]
    exclude: tuple[str, ...]
    items: dict[str, int]  # {"done": n, "pending": n, "failed": n}
    state: str  # "ok", or what is off, in words


def describe_folders(store: LibraryStore) -> list[FolderInfo]:
    counts = store.folder_counts()
    not_checked: dict[str, int] = {}
    for problem in store.folder_problems():
        not_checked[problem.root] = not_checked.get(problem.root, 0) + 1
    infos = []
    for folder in store.folders():
        items = counts.get(folder, {"pending": 0, "done": 0, "failed": 0})
        if not os.path.isdir(folder):
            state = "missing (unplugged drive?): its items are kept"
        elif not_checked.get(folder):
            n = not_checked[folder]
            state = f"{n} sub-folder{'s' if n > 1 else ''} could not be checked (`status` says why)"
        elif items["pending"]:
            state = f"{items['pending']} waiting to be embedded"
        else:
            state = "ok"
        infos.append(FolderInfo(folder, *store.folder_patterns(folder), items, state))
    return infos
