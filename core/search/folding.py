"""Copies folded into one result: the same file twice (same content hash), or one photo saved again,
resized or re-encoded (picture hashes within HASH_BITS_COPY, core.search.duplicates' measured
bound). The first hit of a group stays where it ranked and carries the others as `copies`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from core.kinds import KINDS
from core.model.modality import Modality
from core.search.duplicates import HASH_BITS_COPY, hash_distance, picture_hash


def fold_copies(hits: Sequence, read_hash: Callable[[str], int | None] = picture_hash) -> list:
    """`hits` (each with an `.item` and a `copies` field) in their order, copies folded into the
    first of their group. Pictures are hashed here (a small decode each), so pass one page of hits."""
    kept: list[list] = []  # [hit, [copies], content hash, picture hash]
    for hit in hits:
        item = hit.item
        picture = read_hash(item.path) if KINDS[item.kind].modality is Modality.IMAGE else None
        for group in kept:
            same_bytes = item.content_hash is not None and item.content_hash == group[2]
            same_picture = picture is not None and group[3] is not None and \
                hash_distance(picture, group[3]) <= HASH_BITS_COPY
            if same_bytes or same_picture:
                group[1].append(item)
                break
        else:
            kept.append([hit, [], item.content_hash, picture])
    return [replace(hit, copies=tuple(copies)) if copies else hit for hit, copies, _, _ in kept]
