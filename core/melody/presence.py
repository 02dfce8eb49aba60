"""Whether a recording carries a tune at all. An instrument or a voice holding a tune steps between
notes by whole semitones; speech glides, so the steps between its pitch plateaus land anywhere, and
noise or an effect leaves too few notes to tell.

Measured on the hum-to-search set (docs/experiments/hum-to-search.md): the mean distance of a
step from a whole number of semitones is 0.04 for the median rendered tune (0.13 at the 90th
percentile) against 0.25 for the median spoken memo (0.19 at the 10th percentile, 0.15 the lowest)."""

from __future__ import annotations

import numpy as np

from core.melody.notes import Notes

FEWEST_NOTES = 5
_MOST_OFF_GRID = 0.15  # semitones, mean over the steps


def off_grid(notes: Notes) -> float:
    """Mean distance of the steps between notes from whole semitones (0 .. 0.5)."""
    steps = notes.intervals()
    return float(np.mean(np.abs(steps - np.rint(steps)))) if len(steps) else 0.5


def has_melody(notes: Notes) -> bool:
    return len(notes) >= FEWEST_NOTES and off_grid(notes) <= _MOST_OFF_GRID
