"""How well the cheap "likely holds text" test (core.media.ocr) tells pictures with text from
photos, and what it and full OCR cost: text fraction per picture for COCO/demo photos (should be
low) and for rendered screenshots, receipts, slides and signs (should be high).

    nice -n 10 .venv/bin/python bench/ocr_gate.py [--photos N] [--ocr]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.text_pictures import render_all  # noqa: E402
from core.media import ocr  # noqa: E402
from core.model.preprocess import open_image  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
COCO = REPO.parent / "shared" / "data" / "coco-mini"


def fractions(paths: list[Path]) -> list[tuple[Path, float, float]]:
    rows = []
    for path in paths:
        started = time.perf_counter()
        with open_image(path) as img:
            fraction = ocr.text_fraction(img)
        rows.append((path, fraction, time.perf_counter() - started))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=80)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--ocr", action="store_true", help="also time full OCR on each kind")
    args = parser.parse_args()
    photos = sorted((REPO / "resources" / "demo" / "photos").glob("*.jpg"))
    photos += sorted(COCO.glob("*/*.jpg"))[: args.photos]
    ocr.text_fraction(open_image(photos[0]))  # load the model outside the timings
    with tempfile.TemporaryDirectory() as folder:
        texts = [path for path, _ in render_all(Path(folder), photos[:6], seeds=args.seeds)]
        photo_rows, text_rows = fractions(photos), fractions(texts)
        if args.ocr:
            for path in texts[:4] + photos[:2]:
                started = time.perf_counter()
                with open_image(path) as img:
                    words = ocr.picture_text(img)
                print(f"full OCR {path.name}: {time.perf_counter() - started:.2f} s, {len(words.split())} words")
    threshold = ocr.GATE_MIN_TEXT_FRACTION
    positives = [row for row in photo_rows if row[1] >= threshold]
    misses = [row for row in text_rows if row[1] < threshold]
    print(f"photos: {len(photo_rows)}, flagged as text: {len(positives)} "
          f"({100 * len(positives) / len(photo_rows):.1f} %)")
    for path, fraction, _ in sorted(positives, key=lambda r: -r[1]):
        print(f"  {path.name}: {fraction:.4f}")
    print(f"text pictures: {len(text_rows)}, missed: {len(misses)}")
    for path, fraction, _ in misses:
        print(f"  {path.name}: {fraction:.4f}")
    print("photo fractions: median %.4f, p90 %.4f, max %.4f" % (
        statistics.median(r[1] for r in photo_rows),
        sorted(r[1] for r in photo_rows)[int(0.9 * len(photo_rows))], max(r[1] for r in photo_rows)))
    print("text fractions: min %.4f, median %.4f" % (min(r[1] for r in text_rows),
                                                      statistics.median(r[1] for r in text_rows)))
    print("test cost per picture: median %.1f ms (photos), %.1f ms (text pictures)" % (
        1000 * statistics.median(r[2] for r in photo_rows), 1000 * statistics.median(r[2] for r in text_rows)))


if __name__ == "__main__":
    main()
