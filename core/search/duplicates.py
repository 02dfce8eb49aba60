"""Duplicates, kept apart from "similar": files with the same content, and photos that are copies of
one photo (re-encoded, resized, cropped a little).

The semantic vector alone cannot tell a copy from another photo of the same scene: measured on the
demo and coco-mini dev photos (bench/duplicates.py, docs/experiments/search-scale.md), a JPEG
re-encode at quality 50 keeps a cosine of only 0.66 to its original and a quarter-size copy 0.37,
while two distinct photos reach 0.93. A 64-bit difference hash of the picture separates re-encodes
and resizes (at most 3 bits differ) from distinct photos (at least 14); a 10 % crop moves the hash
up to 20 bits but keeps the cosine at 0.90 or more, so a crop counts when both agree.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from PIL import Image

from core.kinds import KINDS
from core.model.modality import Modality
from core.store import MediaItem

HASH_BITS_COPY = 6  # a re-encode or resize: <= 3 bits measured, distinct photos >= 14
HASH_BITS_CROP = 22  # a small crop: <= 20 bits measured ...
COSINE_CROP = 0.90  # ... when the meaning agrees too (10 % crops >= 0.90; distinct photos rarely)
NEIGHBOURS = 10  # photos compared by meaning with each photo
IDENTICAL, NEAR = "identical", "near"


@dataclass(frozen=True)
class DuplicateGroup:
    reason: str  # IDENTICAL (same content hash) or NEAR (copies of one photo)
    items: tuple[MediaItem, ...]  # the largest file first: the one most worth keeping


def picture_hash(path: str) -> int | None:
    """The 64-bit difference hash of a picture file (None when it cannot be read)."""
    try:
        with Image.open(path) as image:
            image.draft("L", (64, 64))  # let the JPEG decoder scale down first
            return image_hash(image)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def image_hash(image: Image.Image) -> int:
    """Each bit says whether a pixel of a 9×8 grey thumbnail is brighter than its left neighbour."""
    small = np.asarray(image.convert("L").resize((9, 8), Image.Resampling.BILINEAR), dtype=np.int16)
    return int.from_bytes(np.packbits((small[:, 1:] > small[:, :-1]).ravel()).tobytes(), "big")


def hash_distance(first: int, second: int) -> int:
    return (first ^ second).bit_count()


def _identical(items: list[MediaItem]) -> list[DuplicateGroup]:
    by_hash: dict[str, list[MediaItem]] = {}
    for item in items:
        if item.content_hash:
            by_hash.setdefault(item.content_hash, []).append(item)
    return [DuplicateGroup(IDENTICAL, _ordered(group)) for group in by_hash.values() if len(group) > 1]


def _ordered(items) -> tuple[MediaItem, ...]:
    return tuple(sorted(items, key=lambda item: (-(item.size or 0), item.path)))


class _Groups:
    """Union-find over item ids."""

    def __init__(self):
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def join(self, a: int, b: int) -> None:
        self.parent[self.find(a)] = self.find(b)


def _copy_pairs(ids: np.ndarray, hashes: np.ndarray) -> list[tuple[int, int]]:
    """Pairs whose hashes differ in at most HASH_BITS_COPY bits (all pairs, a block at a time)."""
    pairs = []
    bits = np.unpackbits(hashes.view(np.uint8).reshape(len(hashes), 8), axis=1).astype(np.uint8)
    for start in range(0, len(ids), 1024):
        block = bits[start:start + 1024]
        differing = (block[:, None, :] != bits[None, :, :]).sum(axis=2)
        rows, columns = np.nonzero(differing <= HASH_BITS_COPY)
        pairs += [(int(ids[start + r]), int(ids[c])) for r, c in zip(rows, columns) if start + r < c]
    return pairs


def find_duplicates(store, index, read_hash: Callable[[str], int | None] = picture_hash) -> list[DuplicateGroup]:
    """Identical files of any kind, then photos that are copies of one another (see the module's
    note); a file in an identical group takes part in the near search once, by its first copy."""
    items = store.all_items(status="done")
    groups = _identical(items)
    repeated = {item.id for group in groups for item in group.items[1:]}
    photo_kinds = {name for name, kind in KINDS.items() if kind.modality == Modality.IMAGE}
    photos = {item.id: item for item in items if item.kind in photo_kinds and item.id not in repeated}
    with ThreadPoolExecutor(max_workers=4) as pool:  # decoding releases the GIL
        hashes = dict(zip(photos, pool.map(read_hash, [item.path for item in photos.values()])))
    hashed = {i: h for i, h in hashes.items() if h is not None}
    ids = np.array(list(hashed), np.int64)
    near = _Groups()
    for a, b in _copy_pairs(ids, np.array([hashed[i] for i in ids], dtype=">u8")):
        near.join(a, b)
    for kind in photo_kinds:
        for a, b, cosine in index.close_pairs(kind, NEIGHBOURS, COSINE_CROP):
            if a in hashed and b in hashed and hash_distance(hashed[a], hashed[b]) <= HASH_BITS_CROP:
                near.join(a, b)
    members: dict[int, list[MediaItem]] = {}
    for item_id in near.parent:
        members.setdefault(near.find(item_id), []).append(photos[item_id])
    groups += [DuplicateGroup(NEAR, _ordered(group)) for group in members.values() if len(group) > 1]
    return groups
