"""The second opinion on short clips the VAD turns away: core.model.speech.gate at run time,
training.speech_gate for training."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("faster_whisper")

from core.model import Embedder  # noqa: E402
from core.model.speech import SAMPLE_RATE, is_mostly_speech, load_audio  # noqa: E402
from core.model.speech.gate import SpeechGate, SpeechGateError  # noqa: E402
from core.paths import BUNDLED_MODEL_DIR  # noqa: E402

from .conftest import SHARED_DATA  # noqa: E402

# An Art4Apps English word said by a person (a training-source recording), as a short 8 kHz clip
# trimmed to its voiced core: Silero VAD hears no speech in it.
SHORT_WORD = SHARED_DATA / "art4apps" / "audio" / "en" / "top.ogg"


@pytest.fixture(scope="module")
def transcriber():
    embedder = Embedder(BUNDLED_MODEL_DIR)
    transcriber = embedder.transcriber()
    if transcriber is None:
        pytest.skip(embedder.speech_status)
    return transcriber


@pytest.fixture(scope="module")
def short_word():
    librosa = pytest.importorskip("librosa")
    if not SHORT_WORD.is_file():
        pytest.skip(f"{SHORT_WORD} is not here")
    from training.speech_head import telephone_band

    narrow = telephone_band(load_audio(SHORT_WORD))
    return librosa.effects.trim(narrow, top_db=25)[0].astype(np.float32)


def short_sounds() -> dict[str, np.ndarray]:
    t = np.arange(int(0.6 * SAMPLE_RATE)) / SAMPLE_RATE
    rng = np.random.default_rng(0)
    return {
        "bell": (0.5 * np.sin(2 * np.pi * 880 * t) * np.exp(-6 * t)).astype(np.float32),
        "noise burst": (0.2 * rng.standard_normal(t.size) * np.exp(-4 * t)).astype(np.float32),
        "clicks": np.where((np.arange(t.size) % 1600) < 40, 0.8, 0.0).astype(np.float32),
        "chirp": (0.3 * np.sin(2 * np.pi * (400 * t + 2000 * t ** 2))).astype(np.float32),
    }


def test_bundled_model_has_a_gate(transcriber):
    gate = transcriber.second_opinion
    assert isinstance(gate, SpeechGate)
    assert gate.weights.shape == (768,) and gate.threshold == 0.5 and gate.max_seconds == 2.0


def test_short_word_the_vad_misses_is_transcribed(transcriber, short_word):
    assert short_word.size < 1.0 * SAMPLE_RATE
    assert not is_mostly_speech(short_word), "the VAD now hears this word; pick a harder clip"
    gate = transcriber.second_opinion
    try:
        transcriber.second_opinion = None
        assert transcriber.transcribe(short_word).text == ""
    finally:
        transcriber.second_opinion = gate
    result = transcriber.transcribe(short_word)
    assert result.speech_probability >= gate.threshold
    assert result.text.strip(), "the gate let the word through, so Whisper should read something"


@pytest.mark.parametrize("name", sorted(short_sounds()))
def test_short_sounds_stay_untranscribed(transcriber, name):
    waveform = short_sounds()[name]
    assert not is_mostly_speech(waveform)
    result = transcriber.transcribe(waveform)
    assert result.text == "" and result.language is None
    assert result.speech_probability is not None and result.speech_probability < 0.5


def test_long_clips_get_no_second_opinion(transcriber, short_word):
    silence = np.zeros(2 * SAMPLE_RATE, np.float32)
    long = np.concatenate([silence, short_word, silence])  # > 2 s, with the same word inside
    result = transcriber.transcribe(long)
    assert result.text == "" and result.speech_probability is None


def test_gate_file_errors_are_clear(tmp_path):
    with pytest.raises(SpeechGateError, match="unusable speech gate"):
        SpeechGate.load(tmp_path / "missing.npz")
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a numpy archive")
    with pytest.raises(SpeechGateError):
        SpeechGate.load(broken)
    odd = tmp_path / "odd.npz"
    np.savez(odd, mean=np.zeros(768), scale=np.ones(768), weights=np.zeros(10), bias=0.0)
    with pytest.raises(SpeechGateError, match="shape"):
        SpeechGate.load(odd)


def test_trained_gate_matches_scikit_learn_and_round_trips(tmp_path, espeak_ng):
    """training.speech_gate.fit on a small real sample: Whisper encoder features of espeak-ng
    words against synthetic sounds. The numpy gate gives scikit-learn's probabilities, separates
    the two kinds, and survives saving."""
    import subprocess

    pytest.importorskip("sklearn")
    from core.model.speech import Transcriber, speech_segments
    from training.speech_gate import fit

    transcriber = Transcriber(threads=2)
    features, speech, groups = [], [], []
    for k, word in enumerate(["apple", "seven", "garden", "yes", "rocket", "window"]):
        path = tmp_path / f"{word}.wav"
        subprocess.run([espeak_ng, "-v", ["en-us", "en-gb+f3"][k % 2], "-w", str(path), word], check=True,
                       capture_output=True)
        waveform = load_audio(path)
        features.append(transcriber.encoder_features(waveform, speech_segments(waveform)))
        speech.append(True), groups.append(word)
    for name, waveform in short_sounds().items():
        for gain in (1.0, 0.3):
            features.append(transcriber.encoder_features(gain * waveform, []))
            speech.append(False), groups.append(f"{name} ×{gain}")
    features, speech, groups = np.stack(features), np.array(speech), np.array(groups)
    gate, choice = fit(features, speech, groups, np.ones(len(speech), bool), log=lambda *_: None)
    assert choice["C"] in [float(c) for c in choice["cross_validated_log_loss"]]

    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    reference = make_pipeline(StandardScaler(), LogisticRegression(C=choice["C"], max_iter=5000,
                                                                   class_weight="balanced")).fit(features, speech)
    assert np.allclose(gate.probability(features), reference.predict_proba(features)[:, 1], atol=1e-4)
    assert ((gate.probability(features) >= 0.5) == speech).all()
    gate.save(tmp_path / "gate.npz")
    again = SpeechGate.load(tmp_path / "gate.npz")
    assert np.allclose(again.probability(features), gate.probability(features), atol=1e-6)
