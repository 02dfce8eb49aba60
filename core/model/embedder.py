"""The runtime model: per-modality towers (preprocess → ONNX trunk → optional ONNX head → unit vector).

Only onnxruntime, numpy, Pillow and tokenizers are used here; torch never is. A model is a folder
with `model.json` (see resources/model/MODEL_CARD.md) and the files it names. The model id is
derived from the files' bytes, so any change to a tower changes the id and the store re-embeds.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.hashing import file_sha256
from core.model.audio import AudioTower
from core.model.modality import Modality
from core.model.preprocess import l2_normalise
from core.model.speech import spoken_form
from core.model.towers import VIEW_POOLINGS, ImageTower, LazySessions, TextTower, run_session
from core.paths import BUNDLED_MODEL_DIR


# model.json "audio" keys passed to AudioTower (the rest describe files).
AUDIO_SETTINGS = ("sample_rate", "block_samples", "hop_samples", "keep_tail", "pooling", "max_blocks")


class ModelError(RuntimeError):
    """The model folder is missing, incomplete or corrupt."""


class ModalityUnavailable(RuntimeError):
    """This model has no tower for the requested modality."""


@dataclass
class Embeddings:
    """(n, dim) unit rows; a row whose input failed is all zeros and `errors[i]` says why."""

    vectors: np.ndarray
    errors: list[str | None] = field(default_factory=list)
    # Audio only: what was said, for recordings that are mostly speech ("" for none, None if not tried).
    transcripts: list[str | None] = field(default_factory=list)

    @property
    def ok(self) -> np.ndarray:
        return np.array([error is None for error in self.errors], dtype=bool)

    def __len__(self) -> int:
        return len(self.errors)


@dataclass(frozen=True)
class SpeechWeights:
    transcript: float  # text embedding of the Whisper transcript
    phonetic: float  # speech head over Whisper's encoder states


@dataclass
class SpeechParts:
    """Per audio row: the acoustic embedding, the transcript's text embedding and the speech
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


class Embedder:
    """A model folder as {modality: tower}. Each `embed_*` returns an `Embeddings` whose rows are
    unit vectors of the model's dimension; one unreadable input never fails the batch."""

    def __init__(self, model_dir: str | Path = BUNDLED_MODEL_DIR, threads: int | None = None,
                 transcribe: bool = True):
        self.model_dir = Path(model_dir)
        self.transcribe = transcribe
        self._transcriber = None
        self._transcriber_error: str | None = None
        config_path = self.model_dir / "model.json"
        try:
            self.config = json.loads(config_path.read_text())
        except FileNotFoundError:
            raise ModelError(f"no model.json in {self.model_dir}: not a Trimodal-Bind model folder") from None
        except json.JSONDecodeError as exc:
            raise ModelError(f"{config_path} is not valid JSON: {exc}") from None
        try:
            self.name: str = self.config["name"]
            self.dim: int = int(self.config["dim"])
        except (KeyError, TypeError, ValueError):
            raise ModelError(f"{config_path} lacks a name or dim") from None
        self.model_id = self._verify_files()
        try:
            self.towers: dict[Modality, object] = self._build_towers(threads)
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{config_path}: unusable tower settings ({exc})") from None
        self._gap_offsets = self._load_gap_offsets()
        head = (self.config.get("speech") or {}).get("head")
        # Loaded on first use, like the towers' sessions: start-up stays fast.
        self._speech_head = self._file(head) if head and transcribe else None
        self._speech_sessions = LazySessions(threads)
        self._speech_gate = self._load_speech_gate() if transcribe else None

    def _file(self, name: str | None) -> Path | None:
        return self.model_dir / name if name else None

    def _build_towers(self, threads: int | None) -> dict:
        towers: dict[Modality, object] = {}
        text = self.config.get("text")
        if text:
            towers[Modality.TEXT] = TextTower(
                self._file(text["trunk"]), self._file(text["tokenizer"]), int(text.get("max_tokens", 256)),
                self._file(text.get("head")), threads,
            )
        image = self.config.get("image")
        if image:
            towers[Modality.IMAGE] = ImageTower(
                self._file(image["trunk"]), self._file(image.get("head")), int(image["resize"]),
                int(image["crop"]), tuple(image.get("pixel_range", (-1.0, 1.0))),
                image.get("resize_mode", "crop"), threads,
                image.get("end_views_from"), image.get("view_pooling", VIEW_POOLINGS[0]),
            )
        audio = self.config.get("audio")
        if audio:
            settings = {k: audio[k] for k in AUDIO_SETTINGS if k in audio}
            towers[Modality.AUDIO] = AudioTower(self._file(audio["trunk"]), self._file(audio.get("head")),
                                                threads=threads, **settings)
        return towers

    def _load_gap_offsets(self) -> dict[Modality, np.ndarray]:
        """strength × each modality's mean training embedding (core.train.modality_gap); empty
        for a model without them."""
        gap = self.config.get("modality_gap")
        if not gap:
            return {}
        try:
            with np.load(self._file(gap["file"])) as means:
                offsets = {Modality(m): float(gap["strength"]) * means[m].astype(np.float32) for m in means.files}
        except (KeyError, ValueError, OSError) as exc:
            raise ModelError(f"{self.model_dir / 'model.json'}: unusable modality_gap ({exc})") from None
        if any(v.shape != (self.dim,) for v in offsets.values()):
            raise ModelError(f"{self.model_dir}: modality_gap means are not {self.dim}-d")
        return offsets

    def _load_speech_gate(self):
        """The second opinion for short clips the VAD turns away (core.model.speech_gate), or
        None for a model without one."""
        gate = (self.config.get("speech") or {}).get("gate")
        if not gate:
            return None
        from core.model.speech_gate import SpeechGate

        try:
            return SpeechGate.load(self._file(gate["file"]), float(gate["threshold"]), float(gate["max_seconds"]))
        except (KeyError, TypeError, ValueError) as exc:  # SpeechGateError is a ValueError
            raise ModelError(f"{self.model_dir / 'model.json'}: unusable speech gate ({exc})") from None

    def _close_gap(self, modality: Modality, vectors: np.ndarray) -> np.ndarray:
        """Unit rows minus the modality's offset, renormalised; zero rows (failed inputs) stay zero."""
        offset = self._gap_offsets.get(modality)
        if offset is None:
            return vectors
        present = np.abs(vectors).sum(1) > 0
        vectors = vectors.copy()
        vectors[present] = l2_normalise(vectors[present] - offset)
        return vectors

    # -- identity -----------------------------------------------------------------------------
    def _verify_files(self) -> str:
        expected: dict[str, str] = self.config.get("files_sha256", {})
        if not expected:
            raise ModelError(f"{self.model_dir / 'model.json'} lists no files_sha256")
        combined = hashlib.sha256()
        for name in sorted(expected):
            path = self.model_dir / name
            if not path.is_file():
                raise ModelError(f"model file missing: {path}")
            actual = file_sha256(path)
            if actual != expected[name]:
                raise ModelError(f"model file {path} does not match its sha256 in model.json (corrupt or edited)")
            combined.update(f"{name}:{actual}\n".encode())
        # Settings that change vectors (e.g. preprocessing) are part of the identity too.
        settings = {k: v for k, v in self.config.items() if k != "files_sha256"}
        combined.update(json.dumps(settings, sort_keys=True).encode())
        return f"{self.name}-{combined.hexdigest()[:12]}"

    @property
    def modalities(self) -> tuple[Modality, ...]:
        return tuple(self.towers)

    def supports(self, modality: Modality | str) -> bool:
        return Modality(modality) in self.towers

    def _tower(self, modality: Modality):
        try:
            return self.towers[modality]
        except KeyError:
            raise ModalityUnavailable(
                f"{modality.value} embeddings are not available in model {self.name}"
            ) from None

    # -- embedding ----------------------------------------------------------------------------
    def embed_text(self, texts: list[str], batch_size: int = 32) -> Embeddings:
        tower = self._tower(Modality.TEXT)
        vectors = np.zeros((len(texts), self.dim), np.float32)
        errors: list[str | None] = [None] * len(texts)
        usable = [i for i, text in enumerate(texts) if isinstance(text, str) and text.strip()]
        for i in set(range(len(texts))) - set(usable):
            errors[i] = "empty text"
        if usable:
            vectors[usable] = tower.embed([texts[i] for i in usable], batch_size)
        return Embeddings(self._close_gap(Modality.TEXT, vectors), errors)

    def embed_image(self, paths: list[str | Path], batch_size: int = 16) -> Embeddings:
        embedded, errors = self._tower(Modality.IMAGE).embed(list(paths), batch_size)
        vectors = np.zeros((len(paths), self.dim), np.float32)
        if embedded is not None:
            vectors[:] = embedded
        return Embeddings(self._close_gap(Modality.IMAGE, vectors), errors)

    def embed_audio(self, paths: list[str | Path], batch_size: int = 16) -> Embeddings:
        """Acoustic embedding; for a recording that is mostly speech, plus what was said:
        normalise(acoustic + w_t · text(transcript) + w_p · speech_head(encoder states)).
        The acoustic head knows sounds, not words; see `speech_parts`."""
        weights = self.speech_weights
        parts = self.speech_parts(paths, batch_size, listen=bool(weights.transcript or weights.phonetic))
        return Embeddings(parts.combine(weights), parts.errors, parts.transcripts)

    def speech_parts(self, paths: list[str | Path], batch_size: int = 16, listen: bool = True) -> "SpeechParts":
        """The three parts of an audio embedding, unweighted (the speech weights are chosen on
        them in core.train.speech_weight). `listen=False` skips Whisper and the speech head."""
        embedded, errors = self._tower(Modality.AUDIO).embed(list(paths), batch_size)
        acoustic = np.zeros((len(paths), self.dim), np.float32)
        if embedded is not None:
            acoustic[:] = self._close_gap(Modality.AUDIO, embedded)
        said, phonetic = np.zeros_like(acoustic), np.zeros_like(acoustic)
        transcripts: list[str | None] = [None] * len(paths)
        transcriber = self.transcriber() if listen and self.transcribe else None
        if transcriber is not None:
            transcriber.with_encoder_features = self._speech_head is not None
            decoded = {i: self._transcript(transcriber, path) for i, path in enumerate(paths) if errors[i] is None}
            for i, transcript in decoded.items():
                transcripts[i] = transcript.text
            self._add_readings(said, decoded)
            heard = [i for i, t in decoded.items() if t.encoder_features is not None]
            if heard:
                # one head call for every view of every clip; a clip's views are averaged
                views = [np.atleast_2d(decoded[i].encoder_features) for i in heard]
                session = self._speech_sessions.get(self._speech_head)
                outputs = l2_normalise(run_session(session, {"features": np.concatenate(views)})["embedding"])
                owner = np.repeat(np.arange(len(heard)), [len(v) for v in views])
                pooled = np.zeros((len(heard), self.dim), np.float32)
                np.add.at(pooled, owner, outputs)
                # the speech head lands near text embeddings, so it shares the text offset
                phonetic[heard] = self._close_gap(Modality.TEXT, l2_normalise(pooled))
        return SpeechParts(acoustic, said, phonetic, transcripts, errors)

    # -- speech ---------------------------------------------------------------------------------
    @property
    def speech_weights(self) -> "SpeechWeights":
        """How much a transcript and the speech head count next to the acoustic embedding
        (both 0 when transcription is off)."""
        speech = self.config.get("speech") or {}
        if not self.transcribe:
            return SpeechWeights(0.0, 0.0)
        return SpeechWeights(float(speech.get("transcript_weight", 0.0)),
                             float(speech.get("phonetic_weight", 0.0)) if self._speech_head is not None else 0.0)

    def transcriber(self):
        """The Whisper transcriber, or None (with `speech_status` saying why) when unavailable."""
        if self._transcriber is None and self._transcriber_error is None:
            from core.model.speech import SpeechUnavailable, Transcriber

            try:
                self._transcriber = Transcriber()
                self._transcriber.second_opinion = self._speech_gate
            except SpeechUnavailable as exc:
                self._transcriber_error = str(exc)
        return self._transcriber

    @property
    def speech_status(self) -> str:
        if not (self.speech_weights.transcript or self.speech_weights.phonetic):
            return "transcripts off"
        return self._transcriber_error or "transcripts on (Whisper, offline)"

    def _add_readings(self, said: np.ndarray, decoded: dict) -> None:
        """said[i] ← the weighted mean of clip i's readings' text embeddings (left zero where nothing
        was said). It is not renormalised: readings that disagree average to a shorter vector, so
        the speech head counts relatively more where Whisper is unsure (on the speech-weight choice
        words, R@1 0.843 → 0.847 at the chosen weights). All readings of the batch go through one
        text call."""
        rows, texts, weights = [], [], []
        for i, transcript in decoded.items():
            for text, weight in transcript.hypotheses or [(transcript.text, 1.0)]:
                if text.strip():
                    rows.append(i), texts.append(spoken_form(text)), weights.append(weight)
        if not texts:
            return
        np.add.at(said, rows, self.embed_text(texts).vectors * np.array(weights, np.float32)[:, None])

    @staticmethod
    def _transcript(transcriber, path):
        from core.model.speech import AudioDecodeError, Transcript, load_audio

        try:
            return transcriber.transcribe(load_audio(path))
        except (AudioDecodeError, OSError, ValueError):
            return Transcript("", None, 0.0, 0.0)

    def embed(self, modality: Modality | str, inputs: list) -> Embeddings:
        modality = Modality(modality)
        if modality is Modality.TEXT:
            return self.embed_text(inputs)
        if modality is Modality.IMAGE:
            return self.embed_image(inputs)
        return self.embed_audio(inputs)
