from core.model.embedder import Embedder, Embeddings, Modality, ModalityUnavailable, ModelError

__all__ = ["Embedder", "Embeddings", "Modality", "ModalityUnavailable", "ModelError"]
