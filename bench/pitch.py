"""The melody channel's pitch tracker (core/melody/pitch.py, pYIN in numpy) against librosa's pYIN
with the settings the app used before (8 kHz, 0.25-semitone bins, 20 thresholds), in one run on
the same recordings: CPU time as a multiple of real time, and how often the two agree.

Run by hand in the dev set-up (librosa comes with the training extras):

    python bench/pitch.py [FOLDER ...]   # default: the demo library's recordings

Agreement: frames both call voiced (of frames either calls voiced), and of those the share within
half a semitone. Octave slips (librosa's common error on low voices) count as disagreement.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from core.kinds import kind_of  # noqa: E402
from core.melody import pitch  # noqa: E402
from core.model.audio import decode_file  # noqa: E402


def librosa_track(samples: np.ndarray, rate: int) -> np.ndarray:
    import librosa
    import soxr

    mono = soxr.resample(samples, rate, pitch.TRACK_RATE)
    f0, voiced, _ = librosa.pyin(
        mono / np.max(np.abs(mono)), fmin=pitch._FMIN, fmax=pitch._FMAX, sr=pitch.TRACK_RATE, frame_length=1024,
        hop_length=pitch._HOP, resolution=0.25, n_thresholds=20, max_transition_rate=35.0, center=True)
    midi = np.full(f0.shape, np.nan)
    ok = voiced & np.isfinite(f0)
    midi[ok] = 69.0 + 12.0 * np.log2(f0[ok] / 440.0)
    return midi


def main() -> int:
    folders = [Path(a) for a in sys.argv[1:]] or [REPO / "resources" / "demo"]
    files = sorted(p for folder in folders for p in folder.rglob("*") if kind_of(p) == "audio")
    librosa_track(np.random.default_rng(0).standard_normal(16000).astype(np.float32), 16000)  # numba compiles
    seconds, cpu = 0.0, {"numpy": 0.0, "librosa": 0.0}
    both_voiced = either_voiced = close = 0
    for path in files:
        wave = decode_file(str(path))
        samples = wave.samples.mean(axis=1) if wave.samples.ndim == 2 else wave.samples
        seconds += len(samples) / wave.rate
        tracks = {}
        for name, track in (("numpy", pitch.pitch_track), ("librosa", librosa_track)):
            start = time.process_time()
            tracks[name] = np.asarray(track(samples, wave.rate), dtype=np.float64)
            cpu[name] += time.process_time() - start
        a, b = tracks["numpy"], tracks["librosa"]
        n = min(len(a), len(b))
        a, b = a[:n], b[:n]
        both = np.isfinite(a) & np.isfinite(b)
        both_voiced += int(both.sum())
        either_voiced += int((np.isfinite(a) | np.isfinite(b)).sum())
        close += int((np.abs(a[both] - b[both]) < 0.5).sum())
    print(f"{len(files)} recordings, {seconds:.0f} s of audio")
    for name, used in cpu.items():
        print(f"{name:8s} {used:7.2f} s CPU  {seconds / used:6.1f}x real time")
    print(f"numpy is {cpu['librosa'] / cpu['numpy']:.2f}x librosa's speed")
    print(f"voiced by both: {both_voiced / max(either_voiced, 1):.3f} of frames either calls voiced; "
          f"within 0.5 semitone there: {close / max(both_voiced, 1):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
