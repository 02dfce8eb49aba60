"""Whether wide and tall pictures are also seen at the ends of their long side, chosen on
coco-mini dev photos through the exported model's own Embedder and written into its model.json.

    python -m training.image_views --model DIR [--run NAME]

Why: the image trunk sees one centre crop, and a 4:3 photo loses an eighth of its width on each
side: the person at the edge of a street scene, the dog beside the bench. With
`end_views_from = r`, a picture whose long side is at least r × its short side is also seen as the
square at each end of the long side; the views' class probabilities are pooled per class by their
maximum (core.model.towers.ImageTower), so ConSE sees every object some view shows clearly. The
drawings of the concept sets are square, so only photos change. Score: mean of text→image and
image→text R@10 on coco-mini dev; a tie keeps one view (it is 3x cheaper).
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from core.model.towers import VIEW_POOLINGS
from core.paths import BUNDLED_MODEL_DIR
from training.features import COCO_DEV, read_jsonl
from training.model_folder import edit_model_json, linked_copy
from training.workdir import save_run_choice

CANDIDATES = (None, 1.2)


def set_views(meta: dict, end_views_from: float | None) -> None:
    meta["image"].pop("end_views_from", None)
    meta["image"].pop("view_pooling", None)
    if end_views_from:
        meta["image"].update({"end_views_from": end_views_from, "view_pooling": VIEW_POOLINGS[0]})


def score(model_dir: Path, captions: np.ndarray, manifest: Path = COCO_DEV) -> dict[str, float]:
    """R@10 both ways between the manifest's photos, embedded by `model_dir`, and `captions` (its
    texts in order, embedded once: the views do not change them)."""
    from core.evaluation.scorer import score_direction
    from core.model import Embedder

    items = read_jsonl(manifest)
    images = Embedder(model_dir, transcribe=False).embed_image([manifest.parent / i["image"] for i in items]).vectors
    text_labels = [i["id"] for i in items for _ in i["text"]]
    image_labels = [i["id"] for i in items]
    return {"text->image": score_direction(captions @ images.T, text_labels, image_labels).as_dict()["R@10"],
            "image->text": score_direction(images @ captions.T, image_labels, text_labels).as_dict()["R@10"]}


def pick(table: list[dict]) -> float | None:
    """The best mean R@10; on a tie, one view."""
    return max(table, key=lambda row: (round(row["mean"], 4), row["end_views_from"] is None))["end_views_from"]


def choose(model_dir: Path, log=print) -> dict:
    from core.model import Embedder

    captions = Embedder(model_dir, transcribe=False).embed_text(
        [t for i in read_jsonl(COCO_DEV) for t in i["text"]]).vectors
    table = []
    with tempfile.TemporaryDirectory() as folder:
        for candidate in CANDIDATES:
            copy = linked_copy(model_dir, Path(folder) / f"views-{candidate}",
                               lambda meta, c=candidate: set_views(meta, c))
            scores = score(copy, captions)
            table.append({"end_views_from": candidate, **scores, "mean": float(np.mean(list(scores.values())))})
            log(f"end views from {candidate}: coco-mini dev R@10 text→image {scores['text->image']:.3f}, "
                f"image→text {scores['image->text']:.3f}")
    return {"end_views_from": pick(table), "chosen_on": f"coco-mini dev ({len(read_jsonl(COCO_DEV))} photos), "
            "mean of text→image and image→text R@10", "table": table}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=BUNDLED_MODEL_DIR)
    parser.add_argument("--run", default=None, help="also record the choice in runs/RUN/image_views.json")
    args = parser.parse_args(argv)
    choice = choose(args.model)
    edit_model_json(args.model, lambda meta: set_views(meta, choice["end_views_from"]))
    if args.run:
        save_run_choice(args.run, "image_views.json", choice)
    print(f"end views from {choice['end_views_from']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
