"""A fixed-length melody vector for the melody channel's nearest-neighbour search: counts of the
tune's short interval patterns (hashed), so two renditions of one tune share most of their patterns
whatever their key and tempo. It only picks candidates; core.melody.align decides."""

from __future__ import annotations

import numpy as np

from core.melody.align import folded
from core.melody.notes import Notes

MELODY_DIM = 256


def _contour_class(step: int) -> int:
    """-2 leap down, -1 step down, 0 repeat, +1 step up, +2 leap up (a wrong note often keeps its class)."""
    return int(np.sign(step)) * (1 if abs(step) <= 2 else 2)


def _grams(steps: list[int], n: int):
    return (tuple(steps[i: i + n]) for i in range(len(steps) - n + 1))


def _slot(gram: tuple, salt: int) -> int:
    value = salt
    for part in gram:
        value = (value * 1_000_003 + part + 64) % 2_147_483_647
    return value % MELODY_DIM


def melody_vector(notes: Notes) -> np.ndarray | None:
    """The unit vector of a tune, or None when it has too few notes to be told apart (fewer than
    five: a beep, a word, a single held tone)."""
    if len(notes) < 5:
        return None
    steps = [int(s) for s in folded(notes.intervals())]  # as the alignment compares them
    classes = [_contour_class(s) for s in steps]
    vector = np.zeros(MELODY_DIM, dtype=np.float32)
    for gram in _grams(steps, 3):
        vector[_slot(gram, 1)] += 1.0
    for gram in _grams(classes, 4):
        vector[_slot(gram, 2)] += 0.5
    vector = np.sqrt(vector)  # a pattern repeated in every chorus should not drown the rest
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else None
