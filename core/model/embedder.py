"""The runtime model: per-modality towers (preprocess → ONNX trunk → optional ONNX head → unit vector).

Only onnxruntime, numpy, Pillow and tokenizers are used here; torch never is. A model is a folder
with `model.json` (see resources/model/MODEL_CARD.md) and the files it names. The model id is
derived from the files' bytes, so any change to a tower changes the id and the store re-embeds.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

import numpy as np

from core.hashing import file_sha256
from core.model.audio import AudioTower
from core.model.preprocess import l2_normalise
from core.model.speech import spoken_form
from core.model.towers import ImageTower, TextTower
from core.paths import BUNDLED_MODEL_DIR


# model.json "audio" keys passed to AudioTower (the rest describe files).
AUDIO_SETTINGS = ("sample_rate", "block_samples", "hop_samples", "keep_tail", "pooling", "max_blocks")


class Modality(str, Enum):
    TEXT = "text"
    IMAGE = "image"
    AUDIO = "audio"


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
        self.towers: dict[Modality, object] = self._build_towers(threads)

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
            )
        audio = self.config.get("audio")
        if audio:
            settings = {k: audio[k] for k in AUDIO_SETTINGS if k in audio}
            towers[Modality.AUDIO] = AudioTower(self._file(audio["trunk"]), self._file(audio.get("head")),
                                                threads=threads, **settings)
        return towers

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
        return Embeddings(vectors, errors)

    def embed_image(self, paths: list[str | Path], batch_size: int = 16) -> Embeddings:
        embedded, errors = self._tower(Modality.IMAGE).embed(list(paths), batch_size)
        vectors = np.zeros((len(paths), self.dim), np.float32)
        if embedded is not None:
            vectors[:] = embedded
        return Embeddings(vectors, errors)

    def embed_audio(self, paths: list[str | Path], batch_size: int = 16) -> Embeddings:
        """Acoustic embedding; for a recording that is mostly speech, plus its transcript's text
        embedding (see `speech_weight`): the acoustic head knows sounds, not words."""
        embedded, errors = self._tower(Modality.AUDIO).embed(list(paths), batch_size)
        vectors = np.zeros((len(paths), self.dim), np.float32)
        if embedded is not None:
            vectors[:] = embedded
        transcripts: list[str | None] = [None] * len(paths)
        weight = self.speech_weight
        transcriber = self.transcriber() if weight else None

        if transcriber is not None:
            for i, path in enumerate(paths):
                if errors[i] is None:
                    transcripts[i] = self._transcript(transcriber, path)
            spoken = [i for i, t in enumerate(transcripts) if t]
            if spoken:
                said = self.embed_text([spoken_form(transcripts[i]) for i in spoken]).vectors
                vectors[spoken] = l2_normalise(vectors[spoken] + weight * said)
        return Embeddings(vectors, errors, transcripts)

    # -- speech ---------------------------------------------------------------------------------
    @property
    def speech_weight(self) -> float:
        """How much a transcript counts next to the acoustic embedding (0: transcripts off)."""
        speech = self.config.get("speech") or {}
        return float(speech.get("transcript_weight", 0.0)) if self.transcribe else 0.0

    def transcriber(self):
        """The Whisper transcriber, or None (with `speech_status` saying why) when unavailable."""
        if self._transcriber is None and self._transcriber_error is None:
            from core.model.speech import SpeechUnavailable, Transcriber

            try:
                self._transcriber = Transcriber()
            except SpeechUnavailable as exc:
                self._transcriber_error = str(exc)
        return self._transcriber

    @property
    def speech_status(self) -> str:
        if not self.speech_weight:
            return "transcripts off"
        return self._transcriber_error or "transcripts on (Whisper, offline)"

    @staticmethod
    def _transcript(transcriber, path) -> str:
        from core.model.speech import AudioDecodeError, load_audio

        try:
            return transcriber.transcribe(load_audio(path)).text
        except (AudioDecodeError, OSError, ValueError):
            return ""

    def embed(self, modality: Modality | str, inputs: list) -> Embeddings:
        modality = Modality(modality)
        if modality is Modality.TEXT:
            return self.embed_text(inputs)
        if modality is Modality.IMAGE:
            return self.embed_image(inputs)
        return self.embed_audio(inputs)
