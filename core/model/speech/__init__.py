"""Speech → text and speech → vector for recordings that are mostly speech, CPU-only and offline:
`decode` (audio at 16 kHz), `vad` (Silero: is it speech, and where), `gate` (a second opinion on
short clips), `whisper` (transcription and encoder states), `numbers` (numbers spelled out as
said) and `listener` (the speech parts of an audio embedding). No torch anywhere."""

from core.model.speech.decode import MAX_TRANSCRIBED_SECONDS, SAMPLE_RATE, AudioDecodeError, as_waveform, load_audio
from core.model.speech.errors import INSTALL_HINT, SpeechUnavailable
from core.model.speech.numbers import spoken_form
from core.model.speech.vad import (
    ENCODER_MARGIN_SECONDS, ENCODER_MAX_SECONDS, MIN_SEGMENT_MS, MIN_SPEECH_FRACTION, MIN_SPEECH_SECONDS,
    VAD_PAD_SECONDS, VAD_THRESHOLD, covered, is_mostly_speech, speech_fraction, speech_segments, voiced_span,
)
from core.model.speech.whisper import (
    DEFAULT_DECODE, ENCODER_MAX_FRAMES, HYPOTHESES, HYPOTHESIS_SHARPNESS, MAX_HYPOTHESIS_TOKENS, PAD_TO_SECONDS,
    SPEECH_VIEW_RATES, SPEECH_VIEWS_MAX_SECONDS, Transcriber, Transcript, bundled_model_dir,
)

__all__ = [
    "DEFAULT_DECODE", "ENCODER_MARGIN_SECONDS", "ENCODER_MAX_FRAMES", "ENCODER_MAX_SECONDS", "HYPOTHESES",
    "HYPOTHESIS_SHARPNESS", "INSTALL_HINT", "MAX_HYPOTHESIS_TOKENS", "MAX_TRANSCRIBED_SECONDS", "MIN_SEGMENT_MS",
    "MIN_SPEECH_FRACTION", "MIN_SPEECH_SECONDS", "PAD_TO_SECONDS", "SAMPLE_RATE", "SPEECH_VIEW_RATES",
    "SPEECH_VIEWS_MAX_SECONDS", "VAD_PAD_SECONDS", "VAD_THRESHOLD", "AudioDecodeError", "SpeechUnavailable",
    "Transcriber", "Transcript", "as_waveform", "bundled_model_dir", "covered", "is_mostly_speech", "load_audio",
    "speech_fraction", "speech_segments", "spoken_form", "voiced_span",
]
