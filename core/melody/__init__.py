"""The melody channel: what tune a recording carries, in a form that survives humming it.

A recording's pitch track (pitch.py) becomes notes (notes.py); their interval patterns give a
fixed-length vector for the channel's nearest-neighbour search (vector.py), and an alignment that
tolerates transposition, tempo, wrong notes and gaps ranks the candidates (align.py). Nothing here
knows about the store or the library; the indexer and the search engine call it.
"""

from core.melody.align import alignment_score, best_alignment
from core.melody.notes import Notes, notes_of
from core.melody.pitch import pitch_track
from core.melody.vector import MELODY_DIM, melody_vector

__all__ = ["MELODY_DIM", "Notes", "alignment_score", "best_alignment", "melody_vector", "notes_of", "pitch_track", "melody_of"]


def melody_of(samples, rate: int) -> Notes:
    """The notes of a recording (mono or multi-channel float samples at `rate` Hz)."""
    return notes_of(pitch_track(samples, rate))
