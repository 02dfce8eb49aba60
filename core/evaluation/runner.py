"""Run a manifest through a model: embed every instance once, score every direction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from core.evaluation.manifest import MODALITIES, Manifest
from core.evaluation.scorer import DirectionScore, score_direction
from core.model import Embedder, ModalityUnavailable

Progress = Callable[[str], None]


@dataclass
class EvalResult:
    model: str
    manifest: str
    results: dict[str, DirectionScore] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "model": self.model,
            "manifest": self.manifest,
            "results": {direction: score.as_dict() for direction, score in self.results.items()},
            "unavailable": dict(self.unavailable),
            "unreadable": list(self.unreadable),
        }


def evaluate(embedder: Embedder, manifest: Manifest, progress: Progress = lambda message: None) -> EvalResult:
    result = EvalResult(model=embedder.model_id, manifest=str(manifest.path))
    present = [m for m in MODALITIES if manifest.items_with(m) >= 2]
    vectors: dict[str, np.ndarray] = {}
    kept: dict[str, list] = {}
    missing: dict[str, str] = {}
    for modality in present:
        instances = manifest.instances[modality]
        progress(f"embedding {len(instances)} {modality} inputs")
        try:
            embedded = embedder.embed(modality, [instance.payload for instance in instances])
        except ModalityUnavailable as exc:
            missing[modality] = str(exc)
            continue
        keep = []
        for row, error in enumerate(embedded.errors):
            if error and modality != "text":
                # A file that cannot be read is dropped from both sides and reported.
                result.unreadable.append(instances[row].payload)
            else:
                keep.append(row)  # empty text stays in as a zero vector: it can only lose
        vectors[modality] = embedded.vectors[keep]
        kept[modality] = [instances[row] for row in keep]
    for query in present:
        for target in present:
            if query == target:
                continue
            direction = f"{query}->{target}"
            if query in missing or target in missing:
                result.unavailable[direction] = missing.get(query) or missing[target]
                continue
            scores = vectors[query] @ vectors[target].T
            result.results[direction] = score_direction(
                scores,
                [instance.label for instance in kept[query]],
                [instance.label for instance in kept[target]],
            )
    return result
