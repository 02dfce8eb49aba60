"""The melody channel's core (core.melody) on real synthesised audio: notes come out of a sung tune,
a hummed rendition with the usual faults finds its tune among others, and speech has no melody.

The voices are tools.hum_set's (harmonic sources with vibrato, drift and glides; no soundfont
needed), so these tests run wherever the dev set-up does."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
import soundfile as sf

from core.melody import alignment_score, melody_of, melody_vector
from core.melody.align import folded
from core.melody.notes import Notes
from core.melody.presence import has_melody
from tests.conftest import required_tool
from tools.hum_set import RATE, voice, with_noise

TWINKLE = [60, 60, 67, 67, 69, 69, 67, 65, 65, 64, 64, 62, 62, 60, 67, 67, 65, 65, 64, 64, 62]
ODE = [64, 64, 65, 67, 67, 65, 64, 62, 60, 60, 62, 64, 64, 62, 62, 64, 64, 65, 67, 67, 65, 64]


def sung(pitches, seconds_each=0.4, timbre="sing", seed=0):
    rng = np.random.default_rng(seed)
    return voice([float(p) for p in pitches], [seconds_each] * len(pitches), timbre, rng)


def collapsed(pitches):
    return [p for i, p in enumerate(pitches) if i == 0 or p != pitches[i - 1]]


def random_tune(rng, length=24):
    steps = rng.choice([-5, -4, -3, -2, -1, 1, 2, 3, 4, 5, 7], size=length - 1)
    return list(np.clip(62 + np.cumsum(np.concatenate([[0], steps])), 50, 80))


def test_notes_of_a_hummed_tune_are_its_notes_with_repeats_folded():
    notes = melody_of(sung(ODE, 0.3, "hum"), RATE)
    expected = np.diff(collapsed(ODE))
    assert np.array_equal(folded(notes.intervals()), folded(expected)), np.rint(notes.intervals())


def test_a_hummed_rendition_with_faults_finds_its_tune_first():
    rng = np.random.default_rng(3)
    tunes = {"twinkle": TWINKLE, "ode": ODE, **{f"other{i}": random_tune(rng, 20) for i in range(8)}}
    library = {name: melody_of(sung(p, 0.3, seed=i), RATE) for i, (name, p) in enumerate(tunes.items())}
    # Ode to Joy from its 5th note, 5 semitones down, 25 % faster, one wrong note, under noise
    pitches = [p - 5 - 12 for p in ODE[4:18]]
    pitches[6] += 2
    hummed = voice([float(p) for p in pitches], [0.3] * len(pitches), "hum", np.random.default_rng(9))
    query = melody_of(with_noise(hummed, np.random.default_rng(1), []), RATE)
    scores = {name: alignment_score(query, notes) for name, notes in library.items()}
    assert max(scores, key=scores.get) == "ode", scores
    assert scores["ode"] > 0.6


def test_the_melody_vector_ranks_the_right_tune_among_candidates():
    rng = np.random.default_rng(5)
    tunes = [random_tune(rng, 24) for _ in range(10)]
    matrix = np.stack([melody_vector(melody_of(sung(t, 0.25, seed=i), RATE)) for i, t in enumerate(tunes)])
    query = melody_vector(melody_of(sung([p + 3 for p in tunes[7][4:22]], 0.2, "whistle", seed=2), RATE))
    assert np.isclose(np.linalg.norm(query), 1.0)
    assert int(np.argmax(matrix @ query)) == 7


def test_an_octave_slip_in_the_reference_is_forgiven():
    reference = Notes(np.array(ODE, float), np.zeros(len(ODE)), np.ones(len(ODE)))
    slipped = np.array(ODE, float)
    slipped[[3, 9]] -= 12  # a tracker that lost the fundamental twice
    query = Notes(slipped[:16] + 2, np.zeros(16), np.ones(16))
    assert alignment_score(query, reference) > 0.9
    assert list(folded(np.array([12, -12, 7, -5, 13]))) == [0, 0, -5, -5, 1]


def test_speech_and_silence_have_no_melody_but_a_tune_does(tmp_path):
    spoken = tmp_path / "memo.wav"
    subprocess.run([required_tool("espeak-ng"), "-w", str(spoken),
                    "Remember to call the plumber about the kitchen sink before the weekend, and buy milk."],
                   check=True, capture_output=True)
    audio, rate = sf.read(spoken, dtype="float32")
    assert not has_melody(melody_of(audio, rate))
    assert not has_melody(melody_of(np.zeros(RATE * 3, np.float32), RATE))
    assert has_melody(melody_of(sung(TWINKLE), RATE))


@pytest.mark.parametrize("samples", [np.zeros(10, np.float32), np.zeros((RATE, 2), np.float32)])
def test_too_short_or_silent_audio_gives_no_notes(samples):
    notes = melody_of(samples, RATE)
    assert len(notes) == 0 and melody_vector(notes) is None
