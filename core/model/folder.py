"""A model folder: `model.json` (what the runtime needs), the files it names, and their identity.

The model id is what changes vectors and nothing else: the bytes of every file (`files_sha256`,
each checked on load) and the functional settings in model.json. Descriptions, the run that made
the model and measurement tables live in `provenance.json` beside it, which the runtime never
reads: editing them must not re-embed anyone's library.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from core.hashing import file_sha256

# Every key model.json may hold; anything else (a description, a table of measurements) belongs
# in provenance.json. A section's keys are checked too, so prose cannot creep back in.
MODEL_KEYS = {
    "name": None, "version": None, "dim": None, "files_sha256": None, "same_vectors_as": None,
    "text": {"trunk", "tokenizer", "max_tokens", "pooling", "head"},
    "image": {"trunk", "head", "resize", "crop", "resize_mode", "pixel_range", "end_views_from", "view_pooling"},
    "audio": {"trunk", "head", "sample_rate", "block_samples", "hop_samples", "keep_tail", "pooling", "max_blocks"},
    "speech": {"transcript_weight", "phonetic_weight", "head", "gate"},
    "modality_gap": {"file", "strength"},
}
# Not part of the identity: the files' own hashes enter it by value, and `same_vectors_as` lists
# earlier ids of this very model (the same vectors), so a library bound to one of them is kept.
NOT_IDENTITY = ("files_sha256", "same_vectors_as")


class ModelError(RuntimeError):
    """The model folder is missing, incomplete or corrupt."""


class ModelFolder:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.config = self._read_config()
        try:
            self.name: str = self.config["name"]
            self.dim: int = int(self.config["dim"])
        except (KeyError, TypeError, ValueError):
            raise ModelError(f"{self.path / 'model.json'} lacks a name or dim") from None
        self.model_id = self._verify_files()
        self.same_vectors_as: tuple[str, ...] = tuple(self.config.get("same_vectors_as") or ())

    def _read_config(self) -> dict:
        config_path = self.path / "model.json"
        try:
            config = json.loads(config_path.read_text())
        except FileNotFoundError:
            raise ModelError(f"no model.json in {self.path}: not a Trimodal-Bind model folder") from None
        except json.JSONDecodeError as exc:
            raise ModelError(f"{config_path} is not valid JSON: {exc}") from None
        for key, value in config.items():
            allowed = MODEL_KEYS.get(key, ())
            unknown = [key] if key not in MODEL_KEYS else (
                [f"{key}.{k}" for k in value if k not in allowed] if isinstance(value, dict) and allowed else [])
            if unknown:
                raise ModelError(f"{config_path}: unknown setting {unknown[0]!r} (descriptions and "
                                 "measurements belong in provenance.json)")
        return config

    def section(self, name: str) -> dict:
        return self.config.get(name) or {}

    def file(self, name: str | None) -> Path | None:
        return self.path / name if name else None

    def _verify_files(self) -> str:
        expected: dict[str, str] = self.config.get("files_sha256", {})
        if not expected:
            raise ModelError(f"{self.path / 'model.json'} lists no files_sha256")
        combined = hashlib.sha256()
        for name in sorted(expected):
            path = self.path / name
            if not path.is_file():
                raise ModelError(f"model file missing: {path}")
            actual = file_sha256(path)
            if actual != expected[name]:
                raise ModelError(f"model file {path} does not match its sha256 in model.json (corrupt or edited)")
            combined.update(f"{name}:{actual}\n".encode())
        settings = {k: v for k, v in self.config.items() if k not in NOT_IDENTITY}
        combined.update(json.dumps(settings, sort_keys=True).encode())
        return f"{self.name}-{combined.hexdigest()[:12]}"

    def provenance(self) -> dict:
        """How the model was made and measured (for model cards and About boxes); {} if absent."""
        try:
            return json.loads((self.path / "provenance.json").read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}
