"""Make similarities comparable across kinds of media, and mean the same in every library.

Raw cosine similarities live on different scales per query modality and kind: a text query scores
0.5–0.8 against notes and 0.2–0.4 against photos, so a plain merge would bury every photo under the
notes. The model ships `calibration.json` (training/calibrate.py): for each query modality × target
kind, a logistic curve from cosine to the log-odds that the item is what the query asks for, fitted
on validation pairs. A hit's score is those log-odds: comparable across kinds, independent of what
else is in the library, and ≥ RELEVANT_SCORE means "relevant".

A model without the file (an experiment's, the zero-training baseline) falls back to standardising
each similarity against the query's similarities over a sample of the kind in this library (a
z-score, shifted so that one spread above typical is the relevance line); that depends on the
library and is only a stopgap.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.model.folder import ModelError
from core.model.modality import Modality

CALIBRATION_FILE = "calibration.json"
FORMAT_VERSION = 1
RELEVANT_SCORE = 0.0  # log-odds: an item scoring at least this is more likely relevant than not
# Without calibration: with few items per kind the spread estimate is noisy; this floor keeps a
# tiny library from producing absurd z-scores from a near-zero spread.
MIN_SPREAD = 0.05
LIBRARY_Z_RELEVANT = 1.0  # the z-score the uncalibrated fallback calls relevant


class CalibrationError(ModelError):
    """calibration.json is unreadable or does not fit the model (the model folder is damaged)."""


@dataclass(frozen=True)
class Curve:
    slope: float
    intercept: float

    def log_odds(self, similarity: np.ndarray | float) -> np.ndarray | float:
        return self.slope * similarity + self.intercept


@dataclass(frozen=True)
class KindScale:
    """The uncalibrated fallback: a query's similarity spread over a sample of one kind."""
    mean: float
    spread: float

    def log_odds(self, similarity: np.ndarray | float) -> np.ndarray | float:
        return (similarity - self.mean) / self.spread - LIBRARY_Z_RELEVANT


def scale_for(query: np.ndarray, sample: np.ndarray) -> KindScale:
    """The query's similarity distribution over `sample` (unit rows) as mean and spread."""
    if len(sample) == 0:
        return KindScale(0.0, 1.0)
    similarities = sample @ query
    return KindScale(float(similarities.mean()), max(float(similarities.std()), MIN_SPREAD))


def relevance(score: float) -> float:
    """0..1 for display: the log-odds as a probability (0.5 at the relevance line)."""
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, score))))


class Calibration:
    """The model's curves, {(query modality, target kind): Curve}; empty for a model without them."""

    def __init__(self, curves: dict[tuple[Modality, str], Curve]):
        self.curves = curves

    @property
    def calibrated(self) -> bool:
        return bool(self.curves)

    def curve(self, asked_by: Modality, kind: str) -> Curve | None:
        return self.curves.get((asked_by, kind)) or self.curves.get((Modality.TEXT, kind))

    @classmethod
    def load(cls, model_dir: str | Path, kinds: tuple[str, ...]) -> "Calibration":
        path = Path(model_dir) / CALIBRATION_FILE
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return cls({})
        except (OSError, json.JSONDecodeError) as exc:
            raise CalibrationError(f"{path}: unreadable ({exc})") from None
        if data.get("format") != FORMAT_VERSION:
            raise CalibrationError(f"{path}: format {data.get('format')!r}, this app reads {FORMAT_VERSION}")
        curves = {}
        for key, cell in (data.get("cells") or {}).items():
            query, _, kind = key.partition("->")
            try:
                curve = Curve(float(cell["slope"]), float(cell["intercept"]))
                asked_by = Modality(query)
            except (KeyError, TypeError, ValueError):
                raise CalibrationError(f"{path}: bad cell {key!r}") from None
            if kind not in kinds or not (math.isfinite(curve.slope) and math.isfinite(curve.intercept)):
                raise CalibrationError(f"{path}: bad cell {key!r}")
            curves[(asked_by, kind)] = curve
        return cls(curves)
