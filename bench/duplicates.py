"""Calibrate the near-duplicate bound on real copies of the same photo.

Run by hand: `python bench/duplicates.py [--out docs/experiments/near-duplicates.csv]`.
Takes the demo library's photos and coco-mini's *dev* photos (never the test split), makes the
copies people keep of one photo with Pillow (JPEG re-encodes at quality 85 and 50, resizes to 1/2
and 1/4, centre crops keeping 90 % and 75 % of each side, a PNG copy), embeds everything with the
bundled model, and prints the cosine of each copy to its original against the cosines between
distinct photos, with the bound that separates them (core/search/duplicates.py's NEAR_DUPLICATE).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, no install

from core.library import DEMO_LIBRARY_DIR, load_model  # noqa: E402
from core.search.duplicates import (  # noqa: E402
    COSINE_CROP, HASH_BITS_COPY, HASH_BITS_CROP, hash_distance, image_hash,
)

COCO_DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "coco-mini" / "dev.jsonl"


def copies(photo: Image.Image) -> dict[str, Image.Image]:
    def encoded(image: Image.Image, **options) -> Image.Image:
        buffer = io.BytesIO()
        image.save(buffer, **options)
        buffer.seek(0)
        return Image.open(buffer).convert("RGB")

    width, height = photo.size

    def crop(keep: float) -> Image.Image:
        dx, dy = int(width * (1 - keep) / 2), int(height * (1 - keep) / 2)
        return photo.crop((dx, dy, width - dx, height - dy))

    return {
        "jpeg q85": encoded(photo, format="JPEG", quality=85),
        "jpeg q50": encoded(photo, format="JPEG", quality=50),
        "resize 1/2": photo.resize((width // 2, height // 2), Image.Resampling.LANCZOS),
        "resize 1/4": photo.resize((width // 4, height // 4), Image.Resampling.LANCZOS),
        "crop 90%": crop(0.90),
        "crop 75%": crop(0.75),
        "png": encoded(photo, format="PNG"),
    }


def photos() -> list[Path]:
    found = sorted((DEMO_LIBRARY_DIR / "photos").glob("*.jpg"))
    for line in COCO_DEV.read_text().splitlines():
        found.append(COCO_DEV.parent / json.loads(line)["image"])
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="use only the first N photos")
    args = parser.parse_args()
    model = load_model()
    paths = photos()[: args.limit or None]
    originals, variants = [], {}
    for path in paths:
        photo = Image.open(path).convert("RGB")
        originals.append(photo)
        for name, copy in copies(photo).items():
            variants.setdefault(name, []).append(copy)
    base = model.embed("image", originals).vectors
    base_hashes = [image_hash(photo) for photo in originals]
    print(f"{len(paths)} photos ({len(list((DEMO_LIBRARY_DIR / 'photos').glob('*.jpg')))} demo, the rest coco-mini dev)")
    lowest = 1.0
    for name, images in variants.items():
        vectors = model.embed("image", images).vectors
        cosines = np.sum(vectors * base, axis=1)
        bits = np.array([hash_distance(image_hash(copy), h) for copy, h in zip(images, base_hashes)])
        lowest = min(lowest, float(cosines.min()))
        found = (bits <= HASH_BITS_COPY) | ((bits <= HASH_BITS_CROP) & (cosines >= COSINE_CROP))
        print(f"  copy {name:<11} cosine to original: min {cosines.min():.4f}  p5 {np.percentile(cosines, 5):.4f}  "
              f"median {np.median(cosines):.4f} | hash bits max {bits.max():2d} median {np.median(bits):4.1f} | "
              f"found {found.mean():.3f}")
    between = base @ base.T
    distinct = between[np.triu_indices(len(base), 1)]
    print(f"  distinct photos: max {distinct.max():.4f}  p99.9 {np.percentile(distinct, 99.9):.4f}  "
          f"p99 {np.percentile(distinct, 99):.4f}  median {np.median(distinct):.4f}  ({len(distinct)} pairs)")
    print(f"  every copy >= {lowest:.4f}; distinct pairs above that: {int(np.sum(distinct >= lowest))}")
    pairs = np.triu_indices(len(base), 1)
    bits = np.array([hash_distance(base_hashes[i], base_hashes[j]) for i, j in zip(*pairs)])
    wrongly = (bits <= HASH_BITS_COPY) | ((bits <= HASH_BITS_CROP) & (distinct >= COSINE_CROP))
    print(f"  distinct photos' hash bits: min {bits.min()}  p1 {np.percentile(bits, 1):.0f}; taken for copies by "
          f"the rule (bits <= {HASH_BITS_COPY}, or <= {HASH_BITS_CROP} with cosine >= {COSINE_CROP}): "
          f"{int(wrongly.sum())} of {len(bits)} pairs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
