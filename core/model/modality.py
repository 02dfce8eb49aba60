"""The model's modalities: the one list of what the model can embed. Towers, the model folder's
sections and the modality-gap offsets are all keyed by these."""

from __future__ import annotations

from enum import Enum


class Modality(str, Enum):
    TEXT = "text"
    IMAGE = "image"
    AUDIO = "audio"
