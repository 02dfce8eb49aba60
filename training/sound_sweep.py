"""Score audio-embedding variants on evaluation manifests without building model folders.

    python -m training.sound_sweep [--sets realworld val test] [--out FILE]

The bundled model embeds the texts and pictures; the sounds are embedded acoustically (trunk →
pooled features → a variant of the audio head → the model's modality-gap step), i.e. what the
runtime does for a recording that its speech gate does not treat as speech. Scores follow
core.evaluation (DATA.md protocol). Used to choose a variant's settings on validation; the chosen
folder is then measured with `main.py eval`, which includes the speech path.
"""

from __future__ import annotations

import argparse
import json
import sys
from math import comb
from pathlib import Path

import numpy as np

from core.evaluation import load_manifest
from core.evaluation.scorer import score_direction
from core.model import Embedder
from core.model.modality import Modality
from core.model.preprocess import l2_normalise
from core.paths import BUNDLED_MODEL_DIR
from training.workdir import prepared_dir

SETS = {
    "realworld": ("eval", "realworld_sounds.jsonl"),
    "val": ("eval", "val_concepts.jsonl"),
    "test": ("eval", "test_concepts.jsonl"),
}
DIRECTIONS = (("text", "audio"), ("audio", "text"), ("audio", "image"))


def chance(query_labels: list, target_labels: list, k: int) -> float:
    """Expected R@k of a random ranking (DATA.md protocol, answerable queries only)."""
    targets = np.asarray(target_labels, dtype=object)
    values = []
    for label in query_labels:
        m, n = int((targets == label).sum()), len(targets)
        if m:
            values.append(1.0 - comb(n - m, min(k, n)) / comb(n, min(k, n)) if n - m >= k else 1.0)
    return float(np.mean(values)) if values else 0.0


class SetData:
    """One manifest embedded once: texts and pictures by the bundled model, sounds as pooled features."""

    def __init__(self, path: Path, embedder: Embedder):
        manifest = load_manifest(path)
        self.labels = {m: [i.label for i in manifest.instances[m]] for m in ("text", "image", "audio")}
        self.vectors = {m: embedder.embed(m, [i.payload for i in manifest.instances[m]]).vectors
                        for m in ("text", "image") if manifest.instances[m]}
        self.tower = tower = embedder.towers[Modality.AUDIO]
        blocks = [tower.trunk_features(tower.load(i.payload)) for i in manifest.instances["audio"]]
        self.pooled = {"mean": np.stack([b.mean(0) for b in blocks]), "max": np.stack([b.max(0) for b in blocks]),
                       "meanmax": np.stack([0.5 * (b.mean(0) + b.max(0)) for b in blocks])}
        self.features = self.pooled["mean"]
        self.head = l2_normalise(tower.embed_features(self.features))  # the bundled head, unit rows

    def score(self, audio: np.ndarray) -> dict:
        vectors = dict(self.vectors, audio=audio)
        out = {}
        for query, target in DIRECTIONS:
            if query not in vectors or target not in vectors:
                continue
            s = score_direction(vectors[query] @ vectors[target].T, self.labels[query], self.labels[target])
            out[f"{query}->{target}"] = {"n": s.n, **{f"R@{k}": round(v, 4) for k, v in s.recall.items()}}
        return out

    def chance(self) -> dict:
        return {f"{q}->{t}": {f"R@{k}": round(chance(self.labels[q], self.labels[t], k), 4) for k in (1, 5, 10)}
                for q, t in DIRECTIONS if self.labels[q] and self.labels[t]}


def variants(data: SetData, pivot) -> dict[str, np.ndarray]:
    """Name → unit audio rows before the modality-gap step."""
    out = {"bundled head": data.head}
    for pooling in ("max", "meanmax"):
        out[f"bundled head, {pooling} pooling"] = l2_normalise(data.tower.embed_features(data.pooled[pooling]))
    if pivot is not None:
        p = pivot(data.features)
        out["pivot only"] = p
        for w in (0.25, 0.5, 1.0, 2.0):
            out[f"head + {w} pivot"] = l2_normalise(data.head + w * p)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=list(SETS))
    parser.add_argument("--no-pivot", action="store_true")
    parser.add_argument("--style", default="subs")
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--heads", nargs="+", default=None, help="aisfx heads to pivot through")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    embedder = Embedder(BUNDLED_MODEL_DIR, transcribe=False)
    pivot = None
    if not args.no_pivot:
        from training.ucs_pivot import NAMES_FILE, UCS_HEADS, Pivot

        names = json.loads(NAMES_FILE.read_text())["heads"]
        pivot = Pivot(names, args.style, args.top_k, args.temperature, tuple(args.heads or UCS_HEADS))
    report = {}
    for name in args.sets:
        path = prepared_dir().joinpath(*SETS[name])
        data = SetData(path, embedder)
        report[name] = {"chance": data.chance(), "sounds": len(data.features)}
        for variant, rows in variants(data, pivot).items():
            audio = embedder.gap.close(Modality.AUDIO, rows)
            report[name][variant] = data.score(audio)
            cells = "  ".join(f"{d} {r['R@1']:.2f}/{r['R@5']:.2f}/{r['R@10']:.2f}" for d, r in report[name][variant].items())
            print(f"{name:9s} {variant:18s} {cells}", file=sys.stderr)
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
