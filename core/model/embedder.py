"""The runtime model: per-modality towers (preprocess → ONNX trunk → optional ONNX head → unit vector).

Only onnxruntime, numpy, Pillow and tokenizers are used here; torch never is. A model is a folder
with `model.json` (see resources/model/MODEL_CARD.md) and the files it names. The model id is
derived from the files' bytes, so any change to a tower changes the id and the store re-embeds.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

import numpy as np

from core.model.preprocess import UnreadableInput, l2_normalise, mean_pool, preprocess_image
from core.paths import BUNDLED_MODEL_DIR


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

    @property
    def ok(self) -> np.ndarray:
        return np.array([error is None for error in self.errors], dtype=bool)

    def __len__(self) -> int:
        return len(self.errors)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Embedder:
    def __init__(self, model_dir: str | Path = BUNDLED_MODEL_DIR, threads: int | None = None):
        self.model_dir = Path(model_dir)
        config_path = self.model_dir / "model.json"
        try:
            self.config = json.loads(config_path.read_text())
        except FileNotFoundError:
            raise ModelError(f"no model.json in {self.model_dir}: not a Trimodal-Bind model folder") from None
        except json.JSONDecodeError as exc:
            raise ModelError(f"{config_path} is not valid JSON: {exc}") from None
        self.name: str = self.config["name"]
        self.dim: int = int(self.config["dim"])
        self.model_id = self._verify_files()
        self._threads = threads
        self._sessions: dict[str, object] = {}
        self._tokenizer = None
        self._lock = threading.Lock()  # sessions are created lazily from worker threads

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
            actual = _sha256(path)
            if actual != expected[name]:
                raise ModelError(f"model file {path} does not match its sha256 in model.json (corrupt or edited)")
            combined.update(f"{name}:{actual}\n".encode())
        return f"{self.name}-{combined.hexdigest()[:12]}"

    @property
    def modalities(self) -> tuple[Modality, ...]:
        return tuple(m for m in Modality if self.config.get(m.value))

    def supports(self, modality: Modality | str) -> bool:
        return bool(self.config.get(Modality(modality).value))

    def _require(self, modality: Modality) -> dict:
        tower = self.config.get(modality.value)
        if not tower:
            raise ModalityUnavailable(f"{modality.value} embeddings are not available in model {self.name}")
        return tower

    # -- sessions -----------------------------------------------------------------------------
    def _session(self, filename: str):
        with self._lock:
            if filename not in self._sessions:
                import onnxruntime as ort

                options = ort.SessionOptions()
                if self._threads:
                    options.intra_op_num_threads = self._threads
                options.log_severity_level = 3
                self._sessions[filename] = ort.InferenceSession(
                    str(self.model_dir / filename), options, providers=["CPUExecutionProvider"]
                )
            return self._sessions[filename]

    @staticmethod
    def _run(session, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        wanted = {i.name for i in session.get_inputs()}
        outputs = session.run(None, {k: v for k, v in feeds.items() if k in wanted})
        return {o.name: value for o, value in zip(session.get_outputs(), outputs)}

    def _apply_head(self, tower: dict, feeds: dict[str, np.ndarray], fallback: np.ndarray) -> np.ndarray:
        if tower.get("head"):
            return self._run(self._session(tower["head"]), feeds)["embedding"]
        return fallback

    # -- text ---------------------------------------------------------------------------------
    def _get_tokenizer(self, tower: dict):
        with self._lock:
            if self._tokenizer is None:
                from tokenizers import Tokenizer

                tokenizer = Tokenizer.from_file(str(self.model_dir / tower["tokenizer"]))
                tokenizer.enable_truncation(max_length=int(tower.get("max_tokens", 256)))
                tokenizer.enable_padding()
                self._tokenizer = tokenizer
            return self._tokenizer

    def embed_text(self, texts: list[str], batch_size: int = 32) -> Embeddings:
        tower = self._require(Modality.TEXT)
        tokenizer = self._get_tokenizer(tower)
        vectors = np.zeros((len(texts), self.dim), np.float32)
        errors: list[str | None] = [None] * len(texts)
        usable = []
        for i, text in enumerate(texts):
            if not isinstance(text, str) or not text.strip():
                errors[i] = "empty text"
            else:
                usable.append(i)
        session = self._session(tower["trunk"])
        for start in range(0, len(usable), batch_size):
            batch = usable[start : start + batch_size]
            encoded = tokenizer.encode_batch([texts[i] for i in batch])
            feeds = {
                "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64),
            }
            hidden = self._run(session, feeds)["last_hidden_state"]
            pooled = mean_pool(hidden, feeds["attention_mask"])
            vectors[batch] = self._apply_head(tower, {"pooled": pooled.astype(np.float32)}, pooled)
        vectors[usable] = l2_normalise(vectors[usable])
        return Embeddings(vectors, errors)

    # -- image --------------------------------------------------------------------------------
    def embed_image(self, paths: list[str | Path], batch_size: int = 16) -> Embeddings:
        tower = self._require(Modality.IMAGE)
        vectors = np.zeros((len(paths), self.dim), np.float32)
        errors: list[str | None] = [None] * len(paths)
        arrays: dict[int, np.ndarray] = {}
        for i, path in enumerate(paths):
            try:
                arrays[i] = preprocess_image(
                    path,
                    resize=int(tower["resize"]),
                    crop=int(tower["crop"]),
                    pixel_range=tuple(tower.get("pixel_range", (-1.0, 1.0))),
                )
            except UnreadableInput as exc:
                errors[i] = str(exc)
            except OSError as exc:
                errors[i] = f"cannot read file: {exc.strerror or exc}"
        trunk = self._session(tower["trunk"])
        ready = sorted(arrays)
        for start in range(0, len(ready), batch_size):
            batch = ready[start : start + batch_size]
            outputs = self._run(trunk, {"pixels": np.stack([arrays[i] for i in batch])})
            vectors[batch] = self._apply_head(tower, outputs, outputs.get("features"))
        vectors[ready] = l2_normalise(vectors[ready])
        return Embeddings(vectors, errors)

    # -- audio --------------------------------------------------------------------------------
    def embed_audio(self, paths: list[str | Path]) -> Embeddings:
        self._require(Modality.AUDIO)
        raise ModalityUnavailable(f"audio tower of model {self.name} is declared but not implemented by this app")

    def embed(self, modality: Modality | str, inputs: list) -> Embeddings:
        modality = Modality(modality)
        if modality is Modality.TEXT:
            return self.embed_text(inputs)
        if modality is Modality.IMAGE:
            return self.embed_image(inputs)
        return self.embed_audio(inputs)
