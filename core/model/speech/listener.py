"""What was said in a recording, as parts of its embedding.

For a recording that is mostly speech (the VAD, or for a short clip the speech gate, decides),
Whisper's n best readings are embedded by the text tower and weighted by their likelihood, and the
speech head maps Whisper's encoder states over the voiced span into the shared space. The audio
embedding is then normalise(acoustic + w_t · readings + w_p · speech head); the acoustic head knows
sounds, not words.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable

import numpy as np

from core.model.folder import ModelError, ModelFolder
from core.model.modality import Modality
from core.model.preprocess import l2_normalise
from core.model.speech.decode import AudioDecodeError, load_audio
from core.model.speech.errors import SpeechUnavailable
from core.model.speech.numbers import spoken_form
from core.model.towers import LazySessions, run_session


@dataclass(frozen=True)
class SpeechWeights:
    transcript: float  # text embedding of the Whisper readings
    phonetic: float  # speech head over Whisper's encoder states


@dataclass
class SpeechParts:
    """Per audio row: the acoustic embedding, the readings' text embedding and the speech
    head's embedding (zero rows where a part is absent: not speech, nothing said, no head)."""

    acoustic: np.ndarray
    said: np.ndarray
    phonetic: np.ndarray
    transcripts: list[str | None]
    errors: list[str | None]

    def combine(self, weights: SpeechWeights) -> np.ndarray:
        vectors = self.acoustic.copy()
        spoken = np.abs(self.said).sum(1) + np.abs(self.phonetic).sum(1) > 0
        if spoken.any():
            vectors[spoken] = l2_normalise(self.acoustic[spoken] + weights.transcript * self.said[spoken]
                                           + weights.phonetic * self.phonetic[spoken])
        return vectors


class Listener:
    """The speech parts of audio embeddings. `embed_text` gives gap-corrected text rows and
    `close_gap` applies a modality's correction (the speech head lands near text, so it shares
    the text offset). The Transcriber is built once, on first use, and shared by every thread."""

    def __init__(self, folder: ModelFolder, embed_text: Callable, close_gap: Callable, threads: int | None,
                 enabled: bool = True):
        speech = folder.section("speech")
        self.enabled = enabled
        self._embed_text, self._close_gap = embed_text, close_gap
        self._head = folder.file(speech.get("head")) if enabled else None
        self._sessions = LazySessions(threads)
        self._gate = self._load_gate(folder) if enabled else None
        self.weights = SpeechWeights(
            float(speech.get("transcript_weight", 0.0)) if enabled else 0.0,
            float(speech.get("phonetic_weight", 0.0)) if enabled and self._head is not None else 0.0)
        self._transcriber = None
        self._error: str | None = None
        self._lock = threading.Lock()

    @staticmethod
    def _load_gate(folder: ModelFolder):
        """The second opinion for short clips the VAD turns away, or None for a model without one."""
        gate = folder.section("speech").get("gate")
        if not gate:
            return None
        from core.model.speech.gate import SpeechGate

        try:
            return SpeechGate.load(folder.file(gate["file"]), float(gate["threshold"]), float(gate["max_seconds"]))
        except (KeyError, TypeError, ValueError) as exc:  # SpeechGateError is a ValueError
            raise ModelError(f"{folder.path / 'model.json'}: unusable speech gate ({exc})") from None

    @property
    def listens(self) -> bool:
        return bool(self.weights.transcript or self.weights.phonetic)

    def transcriber(self):
        """The Whisper transcriber, or None (with `status` saying why) when unavailable."""
        with self._lock:
            if self._transcriber is None and self._error is None:
                from core.model.speech.whisper import Transcriber

                try:
                    self._transcriber = Transcriber(encoder_features=self._head is not None,
                                                    second_opinion=self._gate)
                except SpeechUnavailable as exc:
                    self._error = str(exc)
            return self._transcriber

    @property
    def status(self) -> str:
        if not self.listens:
            return "transcripts off"
        return self._error or "transcripts on (Whisper, offline)"

    def parts(self, sources: list, acoustic: np.ndarray, errors: list[str | None], listen: bool = True) -> SpeechParts:
        """The three parts for recordings whose acoustic rows are `acoustic` (gap-corrected)."""
        said, phonetic = np.zeros_like(acoustic), np.zeros_like(acoustic)
        transcripts: list[str | None] = [None] * len(sources)
        transcriber = self.transcriber() if listen and self.enabled else None
        if transcriber is not None:
            decoded = {i: self._transcript(transcriber, source) for i, source in enumerate(sources) if errors[i] is None}
            for i, transcript in decoded.items():
                transcripts[i] = transcript.text
            self._add_readings(said, decoded)
            self._add_speech_head(phonetic, decoded)
        return SpeechParts(acoustic, said, phonetic, transcripts, errors)

    def _add_speech_head(self, phonetic: np.ndarray, decoded: dict) -> None:
        """One head call for every view of every heard clip; a clip's views are averaged."""
        heard = [i for i, t in decoded.items() if t.encoder_features is not None]
        if not heard or self._head is None:
            return
        views = [np.atleast_2d(decoded[i].encoder_features) for i in heard]
        session = self._sessions.get(self._head)
        outputs = l2_normalise(run_session(session, {"features": np.concatenate(views)})["embedding"])
        owner = np.repeat(np.arange(len(heard)), [len(v) for v in views])
        pooled = np.zeros((len(heard), phonetic.shape[1]), np.float32)
        np.add.at(pooled, owner, outputs)
        phonetic[heard] = self._close_gap(Modality.TEXT, l2_normalise(pooled))

    def _add_readings(self, said: np.ndarray, decoded: dict) -> None:
        """said[i] ← the weighted mean of clip i's readings' text embeddings (left zero where nothing
        was said). It is not renormalised: readings that disagree average to a shorter vector, so
        the speech head counts relatively more where Whisper is unsure (on the speech-weight choice
        words, R@1 0.843 → 0.847 at the chosen weights). All readings go through one text call."""
        rows, texts, weights = [], [], []
        for i, transcript in decoded.items():
            for text, weight in transcript.hypotheses or [(transcript.text, 1.0)]:
                if text.strip():
                    rows.append(i), texts.append(spoken_form(text)), weights.append(weight)
        if not texts:
            return
        np.add.at(said, rows, self._embed_text(texts) * np.array(weights, np.float32)[:, None])

    @staticmethod
    def _transcript(transcriber, source):
        from core.model.speech.whisper import Transcript

        try:
            return transcriber.transcribe(load_audio(source))
        except (AudioDecodeError, OSError, ValueError):
            return Transcript("", None, 0.0, 0.0)
