"""The modality-gap correction: every vector leaves the model with a share of its modality's mean
training embedding subtracted (chosen in training; `modality_gap.npz`), then renormalised. A
post-processing step after each tower, in this one place."""

from __future__ import annotations

import numpy as np

from core.model.folder import ModelError, ModelFolder
from core.model.modality import Modality
from core.model.preprocess import l2_normalise


class ModalityGap:
    def __init__(self, offsets: dict[Modality, np.ndarray]):
        self.offsets = offsets

    @classmethod
    def load(cls, folder: ModelFolder) -> "ModalityGap":
        """strength × each modality's mean training embedding; none for a model without them."""
        gap = folder.section("modality_gap")
        if not gap:
            return cls({})
        try:
            with np.load(folder.file(gap["file"])) as means:
                offsets = {Modality(m): float(gap["strength"]) * means[m].astype(np.float32) for m in means.files}
        except (KeyError, ValueError, OSError) as exc:
            raise ModelError(f"{folder.path / 'model.json'}: unusable modality_gap ({exc})") from None
        if any(v.shape != (folder.dim,) for v in offsets.values()):
            raise ModelError(f"{folder.path}: modality_gap means are not {folder.dim}-d")
        return cls(offsets)

    def close(self, modality: Modality, vectors: np.ndarray) -> np.ndarray:
        """Unit rows minus the modality's offset, renormalised; zero rows (failed inputs) stay zero."""
        offset = self.offsets.get(modality)
        if offset is None:
            return vectors
        present = np.abs(vectors).sum(1) > 0
        vectors = vectors.copy()
        vectors[present] = l2_normalise(vectors[present] - offset)
        return vectors
