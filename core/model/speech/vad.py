"""Is a recording mostly speech? Silero VAD (the ONNX model that ships inside faster-whisper, run
through onnxruntime; a few ms per second of audio), and the span of a clip that holds the speech."""

from __future__ import annotations

import numpy as np

from core.model.speech.decode import SAMPLE_RATE, as_waveform
from core.model.speech.errors import INSTALL_HINT, SpeechUnavailable

# The rule for "run ASR on this clip": Silero speech probability ≥ VAD_THRESHOLD per 32 ms frame,
# frames merged into segments (faster-whisper's get_speech_timestamps: min 250 ms speech, 300 ms
# silence, 100 ms pad), and the segments cover ≥ MIN_SPEECH_FRACTION of the clip *or* ≥
# MIN_SPEECH_SECONDS of it (a long recording with a short spoken note still counts).
# Measured (bench/asr.py): speech fractions of 623 Art4Apps words are ≥ 0.41 except one (0.0);
# espeak-ng sentences and demo memos ≈ 0.9; 67 non-speech sounds (animals, event sounds, alarms,
# tones, noise) are ≤ 0.15 and ≤ 0.84 s. The thresholds sit between the two groups.
VAD_THRESHOLD = 0.5
MIN_SPEECH_FRACTION = 0.3
MIN_SPEECH_SECONDS = 2.0
# Isolated words can be shorter than half a second, which Silero's defaults (segments ≥ 250 ms,
# no context before the first frame) often miss. Segments ≥ 100 ms count, and the clip gets 0.5 s
# of silence on both sides before VAD. Chosen on Art4Apps words resampled to 8 kHz and trimmed to
# their voiced core (median 0.46 s, 104 clips) against 150 of the training sound effects:
# speech passed 0.875 → 0.971, sounds 0.027 → 0.033.
MIN_SEGMENT_MS = 100
VAD_PAD_SECONDS = 0.5
# The speech head's input: encoder states over the voiced span plus this margin, at most 30 s
# (Whisper's window).
ENCODER_MARGIN_SECONDS = 0.1
ENCODER_MAX_SECONDS = 30.0

def _vad():
    try:
        from faster_whisper.vad import VadOptions, get_speech_timestamps, get_vad_model
    except ImportError as exc:
        raise SpeechUnavailable(f"{INSTALL_HINT} ({exc})") from None
    return VadOptions, get_speech_timestamps, get_vad_model


def speech_segments(waveform_16k: np.ndarray, threshold: float = VAD_THRESHOLD) -> list[dict]:
    """Speech segments [{'start': sample, 'end': sample}, …] found by Silero VAD."""
    VadOptions, get_speech_timestamps, _ = _vad()
    waveform = as_waveform(waveform_16k)
    if waveform.size == 0:
        return []
    options = VadOptions(
        threshold=threshold,
        min_speech_duration_ms=MIN_SEGMENT_MS,
        min_silence_duration_ms=300,
        speech_pad_ms=100,
    )
    pad = int(VAD_PAD_SECONDS * SAMPLE_RATE)
    segments = get_speech_timestamps(np.pad(waveform, (pad, pad)), options, sampling_rate=SAMPLE_RATE)
    # back to the clip's own sample positions
    return [{"start": max(0, s["start"] - pad), "end": min(waveform.size, s["end"] - pad)}
            for s in segments if s["end"] > pad and s["start"] < pad + waveform.size]


def speech_fraction(waveform_16k: np.ndarray, threshold: float = VAD_THRESHOLD) -> float:
    """Fraction (0–1) of the clip that Silero VAD marks as speech."""
    waveform = as_waveform(waveform_16k)
    if waveform.size == 0:
        return 0.0
    return covered(speech_segments(waveform, threshold), waveform.size)


def covered(segments: list[dict], samples: int) -> float:
    return float(min(1.0, sum(s["end"] - s["start"] for s in segments) / samples)) if samples else 0.0


def is_mostly_speech(
    waveform_16k: np.ndarray,
    fraction: float | None = None,
    min_fraction: float = MIN_SPEECH_FRACTION,
    min_seconds: float = MIN_SPEECH_SECONDS,
) -> bool:
    """The rule for running ASR: speech covers ≥ min_fraction of the clip or ≥ min_seconds of it.
    Pass `fraction` if speech_fraction() was already computed for this waveform."""
    waveform = as_waveform(waveform_16k)
    if fraction is None:
        fraction = speech_fraction(waveform)
    seconds = waveform.size / SAMPLE_RATE
    return fraction >= min_fraction or (fraction * seconds >= min_seconds)


def voiced_span(waveform_16k: np.ndarray, segments: list[dict] | None = None) -> np.ndarray:
    """The clip from the first to the last VAD speech segment (`segments`, found here if not
    given), with ENCODER_MARGIN_SECONDS on each side, at most ENCODER_MAX_SECONDS long; the whole
    clip (capped) when VAD finds nothing."""
    if segments is None:
        segments = speech_segments(waveform_16k)
    margin = int(ENCODER_MARGIN_SECONDS * SAMPLE_RATE)
    start = max(0, segments[0]["start"] - margin) if segments else 0
    end = min(waveform_16k.size, segments[-1]["end"] + margin) if segments else waveform_16k.size
    return waveform_16k[start: min(end, start + int(ENCODER_MAX_SECONDS * SAMPLE_RATE))]

