from core.model.embedder import Embedder, ModalityUnavailable
from core.model.folder import ModelError
from core.model.modality import Modality
from core.model.preprocess import Waveform
from core.model.towers import Embeddings

__all__ = ["Embedder", "Embeddings", "Modality", "ModalityUnavailable", "ModelError", "Waveform"]
