"""Make similarities comparable across kinds of media.

Raw cosine similarities live on different scales per kind: a text query scores 0.5–0.8 against
notes and 0.2–0.4 against photos, so a plain merge would bury every photo under the notes. We
standardise each similarity against the query's own similarity distribution over a sample of that
kind in the library (a z-score). A z-score says "how unusually close is this item, among items of
its kind", which is comparable across kinds and doubles as a relevance threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# With few items per kind, the spread estimate is noisy; this floor keeps a tiny library from
# producing absurd z-scores from a near-zero spread.
MIN_SPREAD = 0.05


@dataclass(frozen=True)
class KindScale:
    mean: float
    spread: float

    def standardise(self, similarity: np.ndarray | float) -> np.ndarray | float:
        return (similarity - self.mean) / self.spread


def scale_for(query: np.ndarray, sample: np.ndarray) -> KindScale:
    """The query's similarity distribution over `sample` (unit rows) as mean and spread."""
    if len(sample) == 0:
        return KindScale(0.0, 1.0)
    similarities = sample @ query
    return KindScale(float(similarities.mean()), max(float(similarities.std()), MIN_SPREAD))
