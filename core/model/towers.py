"""One tower per modality: preprocess → ONNX trunk → optional ONNX head → unit vectors.

Towers know nothing of model.json or of each other; `Embedder` builds them from a model folder,
and the export/training code builds them directly from files to compute targets in exactly the
space the runtime uses.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.model.preprocess import (
    UnreadableInput, image_views, l2_normalise, load_rgb, mean_pool, preprocess_image,
)


def _onnx_session(path: Path, threads: int | None):
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    # Idle threads sleep instead of spinning: the app shares the cores (reader threads, the
    # window, other programs), and on a busy machine spinning made two threads slower than one.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def run_session(session, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Run with whichever of `feeds` the graph declares (exporters drop unused inputs)."""
    wanted = {i.name for i in session.get_inputs()}
    outputs = session.run(None, {k: v for k, v in feeds.items() if k in wanted})
    return {o.name: value for o, value in zip(session.get_outputs(), outputs)}


@dataclass
class Embeddings:
    """What every tower (and the Embedder) returns: (n, dim) unit rows, one per input; a row whose
    input failed is all zeros and `errors[i]` says why, so one bad input never fails a batch."""

    vectors: np.ndarray
    errors: list[str | None] = field(default_factory=list)
    # Audio only: what was said, for recordings that are mostly speech ("" for none, None if not tried).
    transcripts: list[str | None] = field(default_factory=list)

    @property
    def ok(self) -> np.ndarray:
        return np.array([error is None for error in self.errors], dtype=bool)

    def __len__(self) -> int:
        return len(self.errors)


def embed_files(inputs: list, load, embed_batch, batch_size: int, dim: int | None,
                stack: bool = True) -> Embeddings:
    """`load` each input (a path or something in memory), then `embed_batch` the loaded arrays in
    batches (stacked, or as a list when `stack` is False). An input that cannot be read gets a
    zero row and its reason; the rest go on."""
    errors: list[str | None] = [None] * len(inputs)
    loaded: dict[int, np.ndarray] = {}
    for i, item in enumerate(inputs):
        try:
            loaded[i] = load(item)
        except UnreadableInput as exc:
            errors[i] = str(exc)
        except OSError as exc:
            errors[i] = f"cannot read file: {exc.strerror or exc}"
    ready = sorted(loaded)
    vectors = np.zeros((len(inputs), dim or 0), np.float32)
    for start in range(0, len(ready), batch_size):
        batch = ready[start : start + batch_size]
        arrays = [loaded[i] for i in batch]
        embedded = embed_batch(np.stack(arrays) if stack else arrays)
        if vectors.shape[1] != embedded.shape[1]:
            vectors = np.zeros((len(inputs), embedded.shape[1]), np.float32)
        vectors[batch] = embedded
    return Embeddings(vectors, errors)


class LazySessions:
    """ONNX sessions load on first use (start-up stays fast) and are shared by worker threads."""

    def __init__(self, threads: int | None):
        self._threads = threads
        self._sessions: dict[Path, object] = {}
        self._lock = threading.Lock()

    def get(self, path: Path):
        with self._lock:
            if path not in self._sessions:
                self._sessions[path] = _onnx_session(path, self._threads)
            return self._sessions[path]


class TextTower:
    def __init__(self, trunk: Path, tokenizer: Path, max_tokens: int = 256, head: Path | None = None,
                 threads: int | None = None, dim: int | None = None):
        self.dim = dim
        self.trunk, self.head = Path(trunk), Path(head) if head else None
        self._tokenizer_path = Path(tokenizer)
        self._max_tokens = max_tokens
        self._tokenizer = None
        self._sessions = LazySessions(threads)
        self._lock = threading.Lock()

    def tokenizer(self):
        with self._lock:
            if self._tokenizer is None:
                from tokenizers import Tokenizer

                tokenizer = Tokenizer.from_file(str(self._tokenizer_path))
                # The shipped tokenizer.json pads and truncates to a fixed 128; we want the
                # model's 256-token limit and padding only to the longest text of a batch.
                tokenizer.enable_truncation(max_length=self._max_tokens)
                tokenizer.enable_padding()
                self._tokenizer = tokenizer
            return self._tokenizer

    def embed(self, texts: list, batch_size: int = 32) -> Embeddings:
        """One unit row per text; an empty text gets a zero row and the error "empty text"."""
        errors = [None if isinstance(t, str) and t.strip() else "empty text" for t in texts]
        usable = [i for i, error in enumerate(errors) if error is None]
        vectors = np.zeros((len(texts), self.dim or 0), np.float32)
        if usable:
            encoded = self.encode([texts[i] for i in usable], batch_size)
            if vectors.shape[1] != encoded.shape[1]:
                vectors = np.zeros((len(texts), encoded.shape[1]), np.float32)
            vectors[usable] = encoded
        return Embeddings(vectors, errors)

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """(n, dim) unit rows for non-empty texts."""
        tokenizer = self.tokenizer()
        session = self._sessions.get(self.trunk)
        rows = []
        for start in range(0, len(texts), batch_size):
            encoded = tokenizer.encode_batch(texts[start : start + batch_size])
            feeds = {
                "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64),
            }
            hidden = run_session(session, feeds)["last_hidden_state"]
            pooled = mean_pool(hidden, feeds["attention_mask"]).astype(np.float32)
            if self.head:
                pooled = run_session(self._sessions.get(self.head), {"pooled": pooled})["embedding"]
            rows.append(pooled)
        return l2_normalise(np.concatenate(rows)) if rows else np.zeros((0, 0), np.float32)


VIEW_POOLINGS = ("max-probability",)


class ImageTower:
    """`end_views_from` (None: one view): a picture at least that much wider than tall (or taller
    than wide) is also seen as the square at each end of its long side (preprocess.image_views).
    Its views are pooled before the head: features averaged, and per ImageNet class the highest
    log-probability any view gives it ("max-probability"), so each object of a scene keeps the
    class of the view that shows it best."""

    def __init__(self, trunk: Path, head: Path | None, resize: int = 256, crop: int = 224,
                 pixel_range=(-1.0, 1.0), mode: str = "crop", threads: int | None = None,
                 end_views_from: float | None = None, view_pooling: str = VIEW_POOLINGS[0],
                 dim: int | None = None):
        self.dim = dim
        self.trunk, self.head = Path(trunk), Path(head) if head else None
        self.resize, self.crop, self.pixel_range, self.mode = resize, crop, tuple(pixel_range), mode
        if view_pooling not in VIEW_POOLINGS:
            raise ValueError(f"unknown view pooling {view_pooling!r}")
        self.end_views_from = end_views_from
        self._sessions = LazySessions(threads)

    def preprocess(self, image) -> np.ndarray:
        """The one usual view (C, H, W) of a file or a PIL image."""
        return preprocess_image(image, self.resize, self.crop, self.pixel_range, self.mode)

    def views(self, image) -> np.ndarray:
        return image_views(load_rgb(image), self.resize, self.crop, self.pixel_range, self.mode,
                           self.end_views_from)

    def pooled_trunk_outputs(self, stacks: list[np.ndarray]) -> dict[str, np.ndarray]:
        """Trunk outputs per picture from its stack of views; a one-view picture's are its own."""
        outputs = self.trunk_outputs(np.concatenate(stacks))
        pooled: dict[str, list] = {"features": [], "logits": []}
        start = 0
        for stack in stacks:
            rows = slice(start, start + len(stack))
            start += len(stack)
            features, logits = outputs["features"][rows], outputs["logits"][rows]
            if len(stack) > 1:
                shifted = logits - logits.max(axis=1, keepdims=True)
                log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
                features, logits = features.mean(axis=0, keepdims=True), log_probs.max(axis=0, keepdims=True)
            pooled["features"].append(features)
            pooled["logits"].append(logits)
        return {name: np.concatenate(parts).astype(np.float32) for name, parts in pooled.items()}

    def embed_view_stacks(self, stacks: list[np.ndarray]) -> np.ndarray:
        return self._head(self.pooled_trunk_outputs(stacks))

    def trunk_outputs(self, pixels: np.ndarray) -> dict[str, np.ndarray]:
        return run_session(self._sessions.get(self.trunk), {"pixels": pixels})

    def embed_pixels(self, pixels: np.ndarray) -> np.ndarray:
        """One view per picture, (n, C, H, W) → unit vectors."""
        return self._head(self.trunk_outputs(pixels))

    def _head(self, outputs: dict[str, np.ndarray]) -> np.ndarray:
        if self.head:
            return l2_normalise(run_session(self._sessions.get(self.head), outputs)["embedding"])
        return l2_normalise(outputs["features"])

    def embed(self, images: list, batch_size: int = 16) -> Embeddings:
        """One unit row per image (a file path or a PIL image)."""
        if self.end_views_from:
            return embed_files(images, self.views, self.embed_view_stacks, batch_size, self.dim, stack=False)
        return embed_files(images, self.preprocess, self.embed_pixels, batch_size, self.dim)
