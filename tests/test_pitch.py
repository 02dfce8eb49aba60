"""The pitch tracker (core/melody/pitch.py, pYIN in numpy) on signals whose pitch is known: tones
across the range it covers, a voice with vibrato, a glide, noise, silence and a low voice whose
second harmonic is the louder one (where YIN slips an octave). Where librosa is installed (the
dev set-up) the tracker also agrees with librosa's pYIN on a sung phrase.

Above about E6 (1.3 kHz, a period of six samples at the tracker's 8 kHz) a tone can read an octave
low, as it does with librosa's pYIN at the same settings; the tones here stop there. The synthetic
singing voice puts a formant on some notes' second harmonic, and then both trackers read it an
octave up; the melody channel compares steps modulo the octave, so those checks do too."""

from __future__ import annotations

import numpy as np
import pytest

from core.melody.pitch import FRAMES_PER_SECOND, pitch_track
from tools.hum_set import RATE, voice

SECONDS = 1.5


def semitones_apart(a, b):
    """|a - b| in semitones, an octave counting as none."""
    return np.abs((np.asarray(a) - np.asarray(b) + 6) % 12 - 6)


def tone(midi: float, harmonics=(1.0, 0.5, 0.33, 0.25), rate=RATE, seconds=SECONDS) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    f0 = 440.0 * 2 ** ((midi - 69) / 12)
    return sum(a * np.sin(2 * np.pi * f0 * (k + 1) * t) for k, a in enumerate(harmonics)).astype(np.float32)


@pytest.mark.parametrize("midi", [38, 45, 57, 62.5, 69, 76, 84, 88])
def test_a_steady_tone_reads_at_its_pitch_in_every_frame(midi):
    track = pitch_track(tone(midi), RATE)
    assert len(track) == int(SECONDS * FRAMES_PER_SECOND) + 1
    inner = track[10:-10]
    assert np.isfinite(inner).all()
    assert np.max(np.abs(inner - midi)) < 0.25, np.unique(np.round(inner, 2))  # within one bin


def test_the_sample_rate_and_channels_of_the_input_do_not_change_the_pitch():
    mono = tone(64, rate=44100)
    stereo = np.stack([mono, 0.5 * mono], axis=1)
    assert abs(np.nanmedian(pitch_track(stereo, 44100)) - 64) < 0.1
    assert abs(np.nanmedian(pitch_track(tone(64, rate=8000), 8000)) - 64) < 0.1


def test_a_low_voice_with_a_strong_second_harmonic_keeps_its_octave():
    track = pitch_track(tone(43, harmonics=(0.4, 1.0, 0.6, 0.3)), RATE)
    assert abs(np.nanmedian(track) - 43) < 0.2
    assert np.mean(np.abs(track[10:-10] - 43) < 0.5) > 0.95


def test_a_sung_note_with_vibrato_reads_at_its_centre():
    sung = voice([60.0, 64.0, 67.0], [0.8, 0.8, 0.8], "sing", np.random.default_rng(3))
    track = pitch_track(sung, RATE)
    for k, expected in enumerate((60, 64, 67)):
        middle = track[k * 80 + 25: k * 80 + 55]  # the steady middle of each 0.8 s note
        assert semitones_apart(np.nanmedian(middle), expected) < 0.3, (expected, np.round(middle, 2))


def test_a_glide_is_followed_upwards():
    t = np.arange(int(RATE * 2.0)) / RATE
    midi = 55 + 12 * t / 2.0  # an octave in two seconds
    phase = 2 * np.pi * np.cumsum(440.0 * 2 ** ((midi - 69) / 12)) / RATE
    track = pitch_track((np.sin(phase) + 0.4 * np.sin(2 * phase)).astype(np.float32), RATE)
    voiced = np.flatnonzero(np.isfinite(track))
    assert len(voiced) > 0.9 * len(track)
    expected = 55 + 12 * (voiced / FRAMES_PER_SECOND) / 2.0
    assert np.median(np.abs(track[voiced] - expected)) < 0.3


def test_noise_and_silence_have_no_pitch():
    noise = np.random.default_rng(0).standard_normal(RATE * 2).astype(np.float32)
    assert np.mean(np.isfinite(pitch_track(noise, RATE))) < 0.1
    assert len(pitch_track(np.zeros(RATE, dtype=np.float32), RATE)) == 0
    assert len(pitch_track(np.ones(100, dtype=np.float32), RATE)) == 0  # shorter than one frame


def test_it_agrees_with_librosa_pyin_on_a_sung_phrase():
    librosa = pytest.importorskip("librosa")  # the training extras bring it; the app does without
    import soxr

    sung = voice([57.0, 59.0, 60.0, 62.0, 64.0, 62.0, 60.0], [0.4] * 7, "sing", np.random.default_rng(5))
    mono = soxr.resample(sung, RATE, 8000)
    f0, voiced, _ = librosa.pyin(mono / np.max(np.abs(mono)), fmin=65.4, fmax=2000.0, sr=8000, frame_length=1024,
                                 hop_length=80, resolution=0.25, center=True)
    theirs = np.where(voiced, 69 + 12 * np.log2(np.where(voiced, f0, 440.0) / 440.0), np.nan)
    ours = pitch_track(sung, RATE)
    both = np.isfinite(ours) & np.isfinite(theirs)
    assert both.mean() > 0.8
    assert np.mean(semitones_apart(ours[both], theirs[both]) < 0.5) > 0.9
