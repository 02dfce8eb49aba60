"""How well a hummed query matches a stretch of a recorded tune: local alignment (Smith-Waterman)
of their interval sequences. Intervals make it deaf to key, ignoring durations makes it deaf to
tempo, the local form lets the query start anywhere in the tune, and the scoring forgives what
goes wrong in practice:
- a wrong note, or a note the pitch tracker added or lost: two steps on one side may match one
  step on the other (a -> x -> b against a -> b), for a small price;
- an octave slip of the tracker (a clarinet's or a hum's fundamental is easily lost): steps are
  compared modulo the octave;
- anything else is a mismatch or a gap."""

from __future__ import annotations

import numpy as np

from core.melody.notes import Notes

_EXACT, _NEAR, _WRONG = 1.0, 0.4, -0.9  # step equal, off by a semitone, else
_MERGE = 0.35  # the price of matching two steps to one (an extra or a wrong note)
_GAP = -0.7


def folded(steps: np.ndarray) -> np.ndarray:
    """Steps in semitones folded into -6 .. +5: an octave slip changes nothing."""
    return (np.rint(steps) + 6) % 12 - 6


def _substitution(query: np.ndarray, reference: np.ndarray) -> np.ndarray:
    off = np.abs(folded(query[:, None] - reference[None, :]))
    return np.where(off < 0.5, _EXACT, np.where(off < 1.5, _NEAR, _WRONG))


def alignment_score(query: Notes, reference: Notes) -> float:
    """The best local alignment of the query's steps within the reference's, divided by the
    query's step count: 1.0 when every step of the query is found in order, 0 for nothing."""
    return best_alignment(query, reference)[0]


def best_alignment(query: Notes, reference: Notes) -> tuple[float, int]:
    """(alignment_score, the reference note where the best alignment ends)."""
    q, r = np.rint(query.intervals()), np.rint(reference.intervals())
    if len(q) == 0 or len(r) == 0:
        return 0.0, 0
    one = _substitution(q, r)
    # two reference steps for one query step: the reference has a note the query lacks
    two_ref = _substitution(q, r[:-1] + r[1:]) - _MERGE if len(r) > 1 else None
    # two query steps for one reference step: the query has an extra or a wrong note
    two_query = _substitution(q[:-1] + q[1:], r) - _MERGE if len(q) > 1 else None
    width = len(r) + 1
    gaps = np.arange(width) * _GAP
    before, previous = np.zeros(width), np.zeros(width)
    best, end = 0.0, 0
    for i in range(len(q)):
        row = np.zeros(width)
        row[1:] = np.maximum(previous[:-1] + one[i], previous[1:] + _GAP)
        if two_ref is not None:
            row[2:] = np.maximum(row[2:], previous[:-2] + two_ref[i])
        if two_query is not None and i > 0:
            row[1:] = np.maximum(row[1:], before[:-1] + two_query[i - 1])
        row = np.maximum(row, 0.0)
        # a gap in the query (a reference note it lacks) runs along the row: a running maximum
        row = np.maximum(row, np.maximum.accumulate(row - gaps) + gaps)
        if row.max() > best:
            best, end = float(row.max()), int(row.argmax())
        before, previous = previous, row
    return best / len(q), end
