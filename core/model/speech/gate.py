"""A second opinion on "is this short clip speech?" for clips the VAD turns away.

Silero VAD misses many isolated words shorter than half a second, more so at 8 kHz: they then get
no transcript and no speech head, only the acoustic embedding, which knows sounds, not words.
Whisper's own encoder hears them: a logistic regression over its pooled states of the clip
(`Transcriber.encoder_features`, mean ‖ max, 768-d) tells speech from other sounds. It is trained
by training.speech_gate on training sources only (human words in Spanish and French, espeak-ng
words, the training sound effects and short cuts of them) and stored in the model folder as
`speech_gate.npz` (the scaler's mean and scale, the weights and the bias).

Only clips of at most `max_seconds` get the second opinion: a longer clip whose speech the VAD
finds shorter than that is left as it was (the VAD is reliable there). Its cost is one Whisper
encoder pass over the clip, a few ms for a short one; decoding follows only when it says speech.
numpy only: the runtime has no scikit-learn.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

FILE = "speech_gate.npz"
# The decision boundary of a class-balanced logistic regression, not tuned on any evaluation set.
THRESHOLD = 0.5
# Clips up to this long get the second opinion; the VAD rule's "≥ 2 s of speech" clause can never
# hold for them, so it is where the VAD alone decides on too little.
MAX_SECONDS = 2.0


class SpeechGateError(ValueError):
    """The gate file is missing, unreadable or of the wrong shape."""


@dataclass(frozen=True)
class SpeechGate:
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float
    threshold: float = THRESHOLD
    max_seconds: float = MAX_SECONDS

    @classmethod
    def load(cls, path: Path, threshold: float = THRESHOLD, max_seconds: float = MAX_SECONDS) -> "SpeechGate":
        try:
            with np.load(path) as saved:
                gate = cls(saved["mean"].astype(np.float32), saved["scale"].astype(np.float32),
                           saved["weights"].astype(np.float32), float(saved["bias"]), float(threshold),
                           float(max_seconds))
        except (OSError, KeyError, ValueError) as exc:
            raise SpeechGateError(f"unusable speech gate {path}: {exc}") from None
        if not (gate.mean.shape == gate.scale.shape == gate.weights.shape and gate.weights.ndim == 1):
            raise SpeechGateError(f"speech gate {path}: mean, scale and weights differ in shape")
        return gate

    def save(self, path: Path) -> None:
        np.savez(path, mean=self.mean, scale=self.scale, weights=self.weights, bias=np.float32(self.bias))

    def probability(self, features: np.ndarray) -> np.ndarray:
        """P(speech) per row of encoder features (n, 768) or for one row (768,)."""
        features = np.asarray(features, np.float32)
        logits = ((features - self.mean) / self.scale) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(logits, -60, 60)))

    def applies_to(self, seconds: float) -> bool:
        return seconds <= self.max_seconds
