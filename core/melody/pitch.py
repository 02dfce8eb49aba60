"""The pitch of a recording over time: librosa's pYIN fundamental-frequency tracker, run at a low
sample rate and coarse settings, which keep it near 20x real time on one core while still following
a voice or an instrument within a tenth of a semitone."""

from __future__ import annotations

import numpy as np
import soxr

TRACK_RATE = 8000  # Hz: a tune's fundamental lies below 2 kHz
FRAMES_PER_SECOND = 100
_HOP = TRACK_RATE // FRAMES_PER_SECOND
# C2 (a low hum) to about B6 (a high whistle). fmin is C2 exactly: pYIN's pitch bins step up from
# it by `resolution`, so whole semitones fall on bins and an in-tune note reads as in tune.
_FMIN, _FMAX = 440.0 * 2 ** ((36 - 69) / 12), 2000.0


def pitch_track(samples: np.ndarray, rate: int) -> np.ndarray:
    """Pitch in (fractional) MIDI semitones, one value per 10 ms frame; NaN where unvoiced.
    `samples` is mono or (n, channels) float audio at `rate` Hz."""
    import librosa  # imported here: it is slow to import and only melody work needs it

    mono = np.asarray(samples, dtype=np.float32)
    if mono.ndim == 2:
        mono = mono.mean(axis=1)
    if rate != TRACK_RATE:
        mono = soxr.resample(mono, rate, TRACK_RATE)
    if mono.size < 1024 or not np.any(mono):
        return np.full(0, np.nan, dtype=np.float32)
    peak = float(np.max(np.abs(mono)))
    f0, voiced, _ = librosa.pyin(
        mono / peak, fmin=_FMIN, fmax=_FMAX, sr=TRACK_RATE, frame_length=1024, hop_length=_HOP,
        resolution=0.25, n_thresholds=20, max_transition_rate=35.0, center=True,
    )
    midi = np.full(f0.shape, np.nan, dtype=np.float32)
    ok = voiced & np.isfinite(f0)
    midi[ok] = 69.0 + 12.0 * np.log2(f0[ok] / 440.0)
    return midi
