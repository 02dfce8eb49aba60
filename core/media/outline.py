"""A recording's outline for a thumbnail: the peak level of each of `points` equal slices, 0..1."""

from __future__ import annotations

import math

import numpy as np

MOST_SECONDS = 600  # a longer recording's outline covers its first ten minutes


def _peaks_by_libsndfile(path: str, points: int) -> np.ndarray | None:
    """Reads a slice at a time; None when libsndfile cannot open the file."""
    import soundfile

    peaks = np.zeros(points, dtype=np.float64)
    try:
        with soundfile.SoundFile(path) as sound:
            frames = min(sound.frames, sound.samplerate * MOST_SECONDS)
            if frames < points:
                return peaks
            step = math.ceil(frames / points)
            for i in range(points):
                block = sound.read(min(step, frames - i * step), dtype="float32", always_2d=True)
                if not block.size:
                    break
                peaks[i] = float(np.abs(block).max())
    except (RuntimeError, soundfile.LibsndfileError, OSError, ValueError, TypeError):
        return None
    return peaks


def _peaks_by_av(path: str, points: int) -> np.ndarray:
    """For what only FFmpeg reads (.m4a, .aac): decoded whole (at most MOST_SECONDS), then sliced."""
    from core.model.av_decode import av_decode
    from core.model.preprocess import UnreadableInput

    peaks = np.zeros(points, dtype=np.float64)
    try:
        samples = np.abs(av_decode(path, MOST_SECONDS).samples).max(axis=1)
    except UnreadableInput:
        return peaks
    if samples.size < points:
        return peaks
    step = math.ceil(samples.size / points)
    for i in range(points):
        block = samples[i * step : (i + 1) * step]
        peaks[i] = float(block.max()) if block.size else 0.0
    return peaks


def waveform_outline(path: str, points: int = 120) -> list[float]:
    """Peaks of `points` slices of the recording (channels mixed), scaled so the loudest is 1;
    empty when the file cannot be decoded. Safe to call from any thread."""
    peaks = _peaks_by_libsndfile(path, points)
    if peaks is None:
        peaks = _peaks_by_av(path, points)
    loudest = peaks.max()
    return [] if loudest <= 0 else (peaks / loudest).round(3).tolist()
