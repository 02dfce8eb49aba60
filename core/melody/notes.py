"""From a pitch track to the notes of a tune: where the pitch holds steady, one note; a jump that
lasts, a new one. Vibrato and slow drift stay inside a note, and a note repeated without a break
(legato humming cannot mark it) is folded into one, in the reference and the query alike, so the
two are compared on the same terms."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.melody.pitch import FRAMES_PER_SECOND

_JUMP = 0.7  # semitones away from the current note's pitch ...
_HOLD = 4  # ... for this many frames (40 ms) starts a new note
_SHORTEST = 6  # frames: a shorter note is a glide or a glitch, not a note
_SAME = 0.5  # semitones: neighbours closer than this are one (repeated or legato) note
_SMOOTH = 5  # frames of the median filter that removes single-frame octave slips


@dataclass(frozen=True)
class Notes:
    """A tune as its notes: pitch in MIDI semitones, start and length in seconds."""

    pitches: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray

    def __len__(self) -> int:
        return len(self.pitches)

    def rows(self) -> np.ndarray:
        """(n, 3) float32 rows of (pitch, start, length): how the store keeps them."""
        return np.stack([self.pitches, self.starts, self.lengths], axis=1).astype(np.float32).reshape(-1, 3)

    @classmethod
    def from_rows(cls, rows: np.ndarray) -> "Notes":
        rows = np.asarray(rows, dtype=np.float64).reshape(-1, 3)
        return cls(rows[:, 0], rows[:, 1], rows[:, 2])

    def intervals(self) -> np.ndarray:
        """Semitone steps between neighbouring notes: the same whatever the key and the tempo."""
        return np.diff(self.pitches)


def _smoothed(track: np.ndarray) -> np.ndarray:
    out = track.copy()
    half = _SMOOTH // 2
    for i in range(len(track)):
        if np.isnan(track[i]):
            continue
        window = track[max(0, i - half): i + half + 1]
        out[i] = np.nanmedian(window)
    return out


def _voiced_runs(track: np.ndarray):
    voiced = ~np.isnan(track)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], voiced.astype(np.int8), [0]])))
    return zip(edges[::2], edges[1::2])


def _split_run(track: np.ndarray, start: int, stop: int) -> list[tuple[int, int]]:
    """Cut one voiced stretch where the pitch leaves the current note for `_HOLD` frames."""
    pieces, note_start, away = [], start, 0
    for i in range(start, stop):
        centre = np.median(track[max(note_start, i - 50): max(i, note_start + 1)])  # the note so far (its last 0.5 s)
        away = away + 1 if abs(track[i] - centre) > _JUMP else 0
        if away >= _HOLD:
            cut = i - _HOLD + 1
            if cut > note_start:
                pieces.append((note_start, cut))
            note_start, away = cut, 0
    pieces.append((note_start, stop))
    return pieces


def notes_of(track: np.ndarray) -> Notes:
    """The notes in a pitch track (core.melody.pitch's frames)."""
    track = _smoothed(np.asarray(track, dtype=np.float32))
    found: list[list[float]] = []  # [pitch, first frame, frame count]
    for run_start, run_stop in _voiced_runs(track):
        for a, b in _split_run(track, run_start, run_stop):
            if b - a < _SHORTEST:
                continue
            trim = (b - a) // 5  # from the note's middle: glides at its ends pull it off
            pitch = float(np.median(track[a + trim:b - trim]))
            if found and abs(found[-1][0] - pitch) < _SAME:
                last = found[-1]
                last[2] = b - last[1]  # one note, held or repeated: it lasts until this one ends
                continue
            found.append([pitch, a, b - a])
    table = np.array(found, dtype=np.float64).reshape(-1, 3)
    return Notes(table[:, 0], table[:, 1] / FRAMES_PER_SECOND, table[:, 2] / FRAMES_PER_SECOND)
