"""Editing a model folder's model.json (the settings the runtime uses, part of the model id) and
provenance.json (how it was made and measured, never part of the id), in place or in a linked
copy (for trying a setting through the runtime's own Embedder without copying the ONNX files)."""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path


def edit_model_json(model_dir: Path, edit: Callable[[dict], None], name: str = "model.json") -> None:
    path = Path(model_dir) / name
    meta = json.loads(path.read_text()) if path.exists() else {}
    edit(meta)
    if path.is_symlink():
        path.unlink()  # a linked copy's provenance: write its own, never through to the original
    path.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def edit_provenance(model_dir: Path, edit: Callable[[dict], None]) -> None:
    edit_model_json(model_dir, edit, "provenance.json")


def model_meta(model_dir: Path) -> dict:
    """model.json with provenance.json's descriptions and measurements merged in (for the card)."""
    meta = json.loads((Path(model_dir) / "model.json").read_text())
    path = Path(model_dir) / "provenance.json"
    provenance = json.loads(path.read_text()) if path.exists() else {}
    for key, value in provenance.items():
        meta[key] = {**(meta.get(key) or {}), **value} if isinstance(value, dict) else value
    return meta


def linked_copy(model_dir: Path, copy: Path, edit: Callable[[dict], None]) -> Path:
    """`copy`: every file of `model_dir` as a symlink, and its own model.json changed by `edit`."""
    copy.mkdir(parents=True)
    for path in Path(model_dir).iterdir():
        if path.is_file() and path.name != "model.json":
            (copy / path.name).symlink_to(path.resolve())
    (copy / "model.json").write_text((Path(model_dir) / "model.json").read_text())
    edit_model_json(copy, edit)
    return copy
