"""Text embeddings of the 1000 ImageNet class names: the ConSE targets of the image head.

Each class is the mean over all its WordNet lemmas (imagenet_classes.tsv) and over a small prompt
ensemble. Chosen on coco-mini dev against the foundation's single "a photo of a {first lemma}":
text→image R@10 0.797 → 0.810, image→text R@10 0.625 → 0.662 (k=10, T=1).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.model.towers import TextTower

PROMPTS = ("a photo of a {}", "a {}", "a picture of a {}", "a photo of the {}")


def class_lemmas(tsv: Path) -> list[list[str]]:
    classes = []
    for line in tsv.read_text(encoding="utf-8").splitlines():
        _, names = line.split("\t", 1)
        classes.append([name.strip() for name in names.split(",") if name.strip()])
    if len(classes) != 1000:
        raise ValueError(f"{tsv}: expected 1000 classes, got {len(classes)}")
    return classes


def build_class_table(text: TextTower, tsv: Path, prompts: tuple[str, ...] = PROMPTS,
                      first_lemma_only: bool = False) -> np.ndarray:
    """(1000, dim) unit rows."""
    lemmas = [names[:1] if first_lemma_only else names for names in class_lemmas(tsv)]
    flat = [(c, name) for c, names in enumerate(lemmas) for name in names]
    sentences = [prompt.format(name) for _, name in flat for prompt in prompts]
    embedded = text.encode(sentences, batch_size=64).reshape(len(flat), len(prompts), -1).mean(axis=1)
    embedded /= np.linalg.norm(embedded, axis=1, keepdims=True)
    table = np.zeros((1000, embedded.shape[1]), np.float32)
    owners = np.array([c for c, _ in flat])
    for c in range(1000):
        table[c] = embedded[owners == c].mean(axis=0)
    return (table / np.linalg.norm(table, axis=1, keepdims=True)).astype(np.float32)


def class_table_for_training() -> np.ndarray:
    """The table for the bundled trunks, cached in the training work folder."""
    from core.paths import BUNDLED_MODEL_DIR
    from training.workdir import features_dir

    cached = features_dir() / "class_table.npy"
    if cached.exists():
        return np.load(cached)
    model = BUNDLED_MODEL_DIR
    table = build_class_table(TextTower(model / "text_trunk.onnx", model / "tokenizer.json", 256),
                              model / "imagenet_classes.tsv")
    np.save(cached, table)
    return table
