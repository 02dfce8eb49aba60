"""Editing a model folder's model.json, in place or in a linked copy (for trying a setting
through the runtime's own Embedder without copying the ONNX files)."""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path


def edit_model_json(model_dir: Path, edit: Callable[[dict], None]) -> None:
    path = Path(model_dir) / "model.json"
    meta = json.loads(path.read_text())
    edit(meta)
    path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def linked_copy(model_dir: Path, copy: Path, edit: Callable[[dict], None]) -> Path:
    """`copy`: every file of `model_dir` as a symlink, and its own model.json changed by `edit`."""
    copy.mkdir(parents=True)
    for path in Path(model_dir).iterdir():
        if path.is_file() and path.name != "model.json":
            (copy / path.name).symlink_to(path.resolve())
    (copy / "model.json").write_text((Path(model_dir) / "model.json").read_text())
    edit_model_json(copy, edit)
    return copy
