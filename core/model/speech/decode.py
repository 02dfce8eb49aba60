"""Audio for the speech parts: mono float32 at 16 kHz, from a file or a waveform in memory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Union

import numpy as np

from core.model.preprocess import FileContent, UnreadableInput, Waveform

SAMPLE_RATE = 16000
# Transcripts cover the first ten minutes: enough for a voice memo, and a two-hour recording
# is not decoded into memory whole.
MAX_TRANSCRIBED_SECONDS = 600.0


class AudioDecodeError(ValueError):
    """The file could not be read or decoded as audio."""


def load_audio(path: Union[str, os.PathLike, Waveform]) -> np.ndarray:
    """Mono float32 at 16 kHz from a file or a Waveform in memory, through the audio tower's
    decoder (soundfile + soxr), with faster-whisper's PyAV decoder as a fallback for other file
    formats (m4a, …). Raises AudioDecodeError."""
    from core.model.audio import load_waveform

    if isinstance(path, (Waveform, FileContent)):
        try:
            return load_waveform(path, SAMPLE_RATE, MAX_TRANSCRIBED_SECONDS)
        except UnreadableInput as exc:
            raise AudioDecodeError(str(exc)) from None
    path = Path(path)
    if not path.is_file():
        raise AudioDecodeError(f"cannot read audio {path}: not a readable file")
    try:
        return load_waveform(path, SAMPLE_RATE, MAX_TRANSCRIBED_SECONDS)
    except UnreadableInput as first_error:
        try:
            from faster_whisper.audio import decode_audio
        except ImportError:
            raise AudioDecodeError(f"cannot decode audio {path}: {first_error}") from None
        try:
            waveform = decode_audio(str(path), sampling_rate=SAMPLE_RATE)
        except Exception as second_error:  # noqa: BLE001 - PyAV raises many kinds
            raise AudioDecodeError(
                f"cannot decode audio {path}: {first_error}; PyAV: {second_error}"
            ) from None
        if waveform.size == 0:
            raise AudioDecodeError(f"cannot decode audio {path}: no audio samples") from None
        return waveform[: int(MAX_TRANSCRIBED_SECONDS * SAMPLE_RATE)].astype(np.float32)


def as_waveform(audio) -> np.ndarray:
    if isinstance(audio, (str, os.PathLike)):
        return load_audio(audio)
    waveform = np.asarray(audio, dtype=np.float32)
    if waveform.ndim == 2:  # (samples, channels) or (channels, samples)
        waveform = waveform.mean(axis=1 if waveform.shape[0] > waveform.shape[1] else 0)
    if waveform.ndim != 1:
        raise AudioDecodeError(f"expected a mono 16 kHz waveform, got shape {waveform.shape}")
    return np.ascontiguousarray(waveform)

