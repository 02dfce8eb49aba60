"""The runtime model in ImageBind's shape: a table {modality: tower} and, per modality, the
post-processing steps that follow the tower (the modality-gap correction; for audio, the speech
parts). One loop embeds any modality; nothing here branches on which one it is.

Only onnxruntime, numpy, Pillow and tokenizers are used; torch never is. A model is a folder with
`model.json` (see resources/model/MODEL_CARD.md) and the files it names (core.model.folder).
"""

from __future__ import annotations

from pathlib import Path

from core.model.audio import AudioTower
from core.model.folder import ModelError, ModelFolder
from core.model.gap import ModalityGap
from core.model.modality import Modality
from core.model.speech.listener import Listener, SpeechParts, SpeechWeights
from core.model.towers import Embeddings, ImageTower, TextTower
from core.paths import BUNDLED_MODEL_DIR

__all__ = ["Embedder", "Embeddings", "ModalityUnavailable", "ModelError", "SpeechParts", "SpeechWeights"]

# model.json "audio" keys passed to AudioTower (the rest name files).
AUDIO_SETTINGS = ("sample_rate", "block_samples", "hop_samples", "keep_tail", "pooling", "max_blocks")


class ModalityUnavailable(RuntimeError):
    """This model has no tower for the requested modality."""


def _text_tower(folder: ModelFolder, section: dict, threads: int | None) -> TextTower:
    return TextTower(folder.file(section["trunk"]), folder.file(section["tokenizer"]),
                     int(section.get("max_tokens", 256)), folder.file(section.get("head")), threads, folder.dim)


def _image_tower(folder: ModelFolder, section: dict, threads: int | None) -> ImageTower:
    from core.model.towers import VIEW_POOLINGS

    return ImageTower(folder.file(section["trunk"]), folder.file(section.get("head")), int(section["resize"]),
                      int(section["crop"]), tuple(section.get("pixel_range", (-1.0, 1.0))),
                      section.get("resize_mode", "crop"), threads, section.get("end_views_from"),
                      section.get("view_pooling", VIEW_POOLINGS[0]), folder.dim)


def _audio_tower(folder: ModelFolder, section: dict, threads: int | None) -> AudioTower:
    settings = {k: section[k] for k in AUDIO_SETTINGS if k in section}
    return AudioTower(folder.file(section["trunk"]), folder.file(section.get("head")), threads=threads,
                      dim=folder.dim, **settings)


TOWER_BUILDERS = {Modality.TEXT: _text_tower, Modality.IMAGE: _image_tower, Modality.AUDIO: _audio_tower}


class Embedder:
    """A model folder as {modality: tower}. `embed(modality, inputs)` returns an Embeddings whose
    rows are unit vectors of the model's dimension; one unreadable input never fails the batch.
    Inputs are texts, or files / in-memory pictures (PIL) / waveforms (core.model.preprocess.Waveform)."""

    def __init__(self, model_dir: str | Path = BUNDLED_MODEL_DIR, threads: int | None = None,
                 transcribe: bool = True):
        self.folder = ModelFolder(model_dir)
        self.model_dir, self.config = self.folder.path, self.folder.config
        self.name, self.dim, self.model_id = self.folder.name, self.folder.dim, self.folder.model_id
        self.transcribe = transcribe
        try:
            self.towers: dict[Modality, object] = {
                modality: build(self.folder, self.folder.section(modality.value), threads)
                for modality, build in TOWER_BUILDERS.items() if self.folder.section(modality.value)}
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{self.model_dir / 'model.json'}: unusable tower settings ({exc})") from None
        self.gap = ModalityGap.load(self.folder)
        self.listener = Listener(self.folder, lambda texts: self.embed_text(texts).vectors, self.gap.close,
                                 threads, enabled=transcribe)
        self.postprocess = {modality: [self._close_gap(modality)] for modality in self.towers}
        if self.listener.listens:
            self.postprocess.get(Modality.AUDIO, []).append(self._add_speech)

    # -- identity -----------------------------------------------------------------------------
    @property
    def same_vectors_as(self) -> tuple[str, ...]:
        """Earlier ids of this model (same vectors): a library bound to one needs no re-embedding."""
        return self.folder.same_vectors_as

    @property
    def modalities(self) -> tuple[Modality, ...]:
        return tuple(self.towers)

    def supports(self, modality: Modality | str) -> bool:
        return Modality(modality) in self.towers

    # -- embedding ----------------------------------------------------------------------------
    def embed(self, modality: Modality | str, inputs: list) -> Embeddings:
        modality = Modality(modality)
        try:
            tower = self.towers[modality]
        except KeyError:
            raise ModalityUnavailable(f"{modality.value} embeddings are not available in model {self.name}") from None
        embeddings = tower.embed(list(inputs))
        for step in self.postprocess[modality]:
            embeddings = step(list(inputs), embeddings)
        return embeddings

    def embed_text(self, texts: list[str]) -> Embeddings:
        return self.embed(Modality.TEXT, texts)

    def embed_image(self, images: list) -> Embeddings:
        return self.embed(Modality.IMAGE, images)

    def embed_audio(self, recordings: list) -> Embeddings:
        return self.embed(Modality.AUDIO, recordings)

    def embed_sounds(self, recordings: list) -> Embeddings:
        """Recordings by their sound alone, without the speech steps: the pieces of a long
        recording, whose speech is read once for the whole file."""
        embeddings = self.towers[Modality.AUDIO].embed(list(recordings))
        return self._close_gap(Modality.AUDIO)(list(recordings), embeddings)

    # -- post-processing steps ----------------------------------------------------------------
    def _close_gap(self, modality: Modality):
        def step(inputs: list, embeddings: Embeddings) -> Embeddings:
            return Embeddings(self.gap.close(modality, embeddings.vectors), embeddings.errors, embeddings.transcripts)

        return step

    def _add_speech(self, inputs: list, embeddings: Embeddings) -> Embeddings:
        parts = self.listener.parts(inputs, embeddings.vectors, embeddings.errors, listen=self.transcribe)
        return Embeddings(parts.combine(self.listener.weights), parts.errors, parts.transcripts)

    # -- speech, for training and tests ---------------------------------------------------------
    def speech_parts(self, recordings: list, listen: bool = True) -> SpeechParts:
        """The three parts of an audio embedding, unweighted (the speech weights are chosen on
        them in training.speech_weight). `listen=False` skips Whisper and the speech head."""
        acoustic = self.towers[Modality.AUDIO].embed(list(recordings))
        vectors = self.gap.close(Modality.AUDIO, acoustic.vectors)
        return self.listener.parts(list(recordings), vectors, acoustic.errors, listen)

    @property
    def speech_weights(self) -> SpeechWeights:
        """How much a transcript and the speech head count next to the acoustic embedding
        (both 0 when transcription is off)."""
        return self.listener.weights

    def transcriber(self):
        return self.listener.transcriber()

    @property
    def speech_status(self) -> str:
        return self.listener.status
