"""A recording's outline for a thumbnail: the peak level of each of `points` equal slices, 0..1."""

from __future__ import annotations

import math

import numpy as np

MOST_SECONDS = 600  # a longer recording's outline covers its first ten minutes


def waveform_outline(path: str, points: int = 120) -> list[float]:
    """Peaks of `points` slices of the recording (channels mixed), scaled so the loudest is 1;
    empty when the file cannot be decoded. Reads a slice at a time; safe to call from any thread."""
    import soundfile

    peaks = np.zeros(points, dtype=np.float64)
    try:
        with soundfile.SoundFile(path) as sound:
            frames = min(sound.frames, sound.samplerate * MOST_SECONDS)
            if frames < points:
                return []
            step = math.ceil(frames / points)
            for i in range(points):
                block = sound.read(min(step, frames - i * step), dtype="float32", always_2d=True)
                if not block.size:
                    break
                peaks[i] = float(np.abs(block).max())
    except (RuntimeError, soundfile.LibsndfileError, OSError, ValueError, TypeError):
        return []
    loudest = peaks.max()
    return [] if loudest <= 0 else (peaks / loudest).round(3).tolist()
