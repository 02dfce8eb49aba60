"""Narrowing the modality gap: each modality's mean embedding over the training items, a share of
which the runtime subtracts from every vector of that modality before renormalising it.

    python -m training.modality_gap --run NAME      # writes runs/NAME/modality_gap.{npz,json}

Why: contrastive heads leave each modality in its own cone of the sphere (the "modality gap",
Liang et al. 2022, "Mind the Gap", arXiv:2203.02053). On run h19 the mean sound embedding sits at
cosine 0.48 from the mean text one (image–text 0.97), so every sound shares a large component
no image or text has, and the common direction of each cone outweighs the concept in a
cross-modal score. Subtracting `strength` × the modality's mean keeps the concept and drops part
of what every item of that modality has in common.

The means are taken over the training manifest's cached features through the run's heads (images
at the runtime's centre crop). The strength is chosen on the validation concepts (mean R@10 over
their six directions); coco-mini dev (photos) may not lose more than PHOTO_TOLERANCE of its mean
R@10. Export (training.export_trained) writes the means into the model folder and the strength
into model.json; core.model.embedder applies them.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from training.features import COCO_DEV
from training.workdir import prepared_dir, runs_dir, save_run_choice

STRENGTHS = (0.0, 0.25, 0.5, 0.75, 1.0)
PHOTO_TOLERANCE = 0.01
MODALITIES = ("image", "audio", "text")
MEANS_FILE = "modality_gap.npz"
CHOICE_FILE = "modality_gap.json"


@torch.no_grad()
def training_means(model, images, audio, texts, manifest: Path | None = None) -> dict[str, np.ndarray]:
    """Mean unit embedding per modality over the items of the training manifest."""
    from training.train import _manifest_inputs, embed_rows

    inputs = _manifest_inputs(manifest or prepared_dir() / "train.jsonl", images, audio, texts)
    tables = {"image": images, "audio": audio, "text": texts}
    model.eval()
    means = {modality: embed_rows(model, modality, tables[modality].matrix[rows]).mean(0).numpy().astype(np.float32)
             for modality, (rows, _) in inputs.items()}
    missing = set(MODALITIES) - set(means)
    if missing:
        raise RuntimeError(f"the training manifest has no cached {', '.join(sorted(missing))} features")
    return means


def mean_of(scores: dict[str, float], prefix: str) -> float:
    """Mean R@10 over one set's directions ("val:", "coco-dev:") of a Validator result."""
    values = [v for k, v in scores.items() if k.startswith(prefix)]
    return float(np.mean(values)) if values else 0.0


def choose(scores_by_strength: dict[float, dict[str, float]]) -> float:
    """The strength with the best mean validation-concept R@10 among those that keep coco-mini
    dev within PHOTO_TOLERANCE of no centring (strength 0)."""
    photos_without = mean_of(scores_by_strength[0.0], "coco-dev:")
    allowed = [s for s, scores in scores_by_strength.items()
               if mean_of(scores, "coco-dev:") >= photos_without - PHOTO_TOLERANCE]
    return max(allowed, key=lambda s: (round(mean_of(scores_by_strength[s], "val:"), 4), -s))


def run(run_name: str, log=print) -> dict:
    from training.export_trained import load_run
    from training.train import FeatureTable, Validator

    model = load_run(run_name)
    images, audio, texts = FeatureTable("image"), FeatureTable("audio"), FeatureTable("text")
    means = training_means(model, images, audio, texts)
    validator = Validator({"val": prepared_dir() / "eval" / "val_concepts.jsonl", "coco-dev": COCO_DEV},
                          images, audio, texts)
    table = {}
    for strength in STRENGTHS:
        offsets = {m: torch.from_numpy(strength * means[m]) for m in MODALITIES}
        table[strength] = validator(model, offsets)
        log(f"strength {strength:.2f}: validation concepts R@10 {mean_of(table[strength], 'val:'):.3f}, "
            f"coco-mini dev R@10 {mean_of(table[strength], 'coco-dev:'):.3f}")
    strength = choose(table)
    cosines = {f"{a}-{b}": round(float(means[a] @ means[b] / np.linalg.norm(means[a]) / np.linalg.norm(means[b])), 3)
               for a, b in (("image", "text"), ("audio", "text"), ("image", "audio"))}
    choice = {
        "strength": strength,
        "chosen_on": "validation concepts (mean R@10 over six directions); coco-mini dev R@10 within "
                     f"{PHOTO_TOLERANCE} of no centring",
        "mean_norms": {m: round(float(np.linalg.norm(means[m])), 3) for m in MODALITIES},
        "mean_cosines": cosines,
        "table": {f"{s:g}": {k: round(v, 4) for k, v in scores.items()} for s, scores in table.items()},
    }
    folder = runs_dir(run_name)
    np.savez(folder / MEANS_FILE, **means)
    save_run_choice(run_name, CHOICE_FILE, choice)
    log(f"strength {strength:g} (means' cosines {cosines}) → {folder / MEANS_FILE}")
    return choice


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    run(args.run)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
