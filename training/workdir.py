"""Where training keeps everything it downloads, renders and computes: outside the repository.

Set TRIMODAL_TRAIN_CACHE to move it; the default is ~/.cache/trimodal-bind-train.

    sources/<name>/          extracted packages and wheels (re-runnable: skipped when present)
    rendered/<name>/         SVGs rasterised to PNG, synthetic speech, rendered instruments
    prepared/train.jsonl     training items (see training/data/README.md)
    prepared/val.jsonl       items of the validation concepts (early stopping, choices)
    prepared/eval/*.jsonl    evaluation manifests in the DATA.md format (test concepts: report only)
    features/                frozen trunk features, one file per trunk and item list
    runs/<name>/             checkpoints and logs of training runs
"""

from __future__ import annotations

import json
import os
from pathlib import Path


def _root() -> Path:
    configured = os.environ.get("TRIMODAL_TRAIN_CACHE")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "trimodal-bind-train"


def cache_root() -> Path:
    root = _root()
    root.mkdir(parents=True, exist_ok=True)
    return root


def sources_dir(name: str) -> Path:
    return _sub("sources", name)


def rendered_dir(name: str) -> Path:
    return _sub("rendered", name)


def prepared_dir() -> Path:
    return _sub("prepared")


def features_dir() -> Path:
    return _sub("features")


def runs_dir(name: str) -> Path:
    return _sub("runs", name)


def save_run_choice(run: str, name: str, choice: dict) -> Path:
    """Record a choice made for training run `run` (runs/RUN/NAME, JSON) for the model card."""
    path = runs_dir(run) / name
    path.write_text(json.dumps(choice, indent=1))
    return path


def read_json(*parts: str) -> dict | None:
    """A JSON file of the work folder (e.g. "prepared", "summary.json"), or None when this machine
    does not have it. Only reads: unlike the *_dir helpers it creates no folder, so the model card
    can be written on a machine that never trained."""
    path = _root().joinpath(*parts)
    return json.loads(path.read_text()) if path.is_file() else None


def load_run_choice(run: str | None, name: str) -> dict | None:
    """A choice recorded by `save_run_choice` (or any JSON a run wrote), or None when this machine
    does not have it."""
    return read_json("runs", run, name) if run else None


def _sub(*parts: str) -> Path:
    path = cache_root().joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
