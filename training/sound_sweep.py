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


def with_noise(waveform: np.ndarray, snr_db: float | None, rng) -> np.ndarray:
    """Real-recording conditions, crudely: pink-ish noise (white noise through a one-pole low-pass)
    at `snr_db` below the clip's mean power, over the whole clip plus 0.5 s of noise either side."""
    if snr_db is None:
        return waveform
    pad = np.zeros(22050, np.float32)
    clip = np.concatenate([pad, waveform, pad])
    from scipy.signal import lfilter

    # one-pole low-pass: more energy low, like room and wind noise
    noise = lfilter([0.05], [1.0, -0.95], rng.normal(0.0, 1.0, clip.shape[0])).astype(np.float32)
    power = float(np.mean(waveform ** 2)) or 1e-8
    noise *= np.sqrt(power / (10 ** (snr_db / 10)) / float(np.mean(noise ** 2)))
    return (clip + noise).astype(np.float32)


class SetData:
    """One manifest embedded once: texts and pictures by the bundled model, sounds as pooled features."""

    def __init__(self, path: Path, embedder: Embedder, noise_snr: float | None = None):
        manifest = load_manifest(path)
        self.labels = {m: [i.label for i in manifest.instances[m]] for m in ("text", "image", "audio")}
        self.vectors = {m: embedder.embed(m, [i.payload for i in manifest.instances[m]]).vectors
                        for m in ("text", "image") if manifest.instances[m]}
        self.tower = tower = embedder.towers[Modality.AUDIO]
        rng = np.random.default_rng(0)
        blocks = [tower.trunk_features(with_noise(tower.load(i.payload), noise_snr, rng))
                  for i in manifest.instances["audio"]]
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


def variants(data: SetData, pivot, weights=(0.25, 0.5, 1.0, 2.0)) -> dict[str, np.ndarray]:
    """Name → unit audio rows before the modality-gap step."""
    out = {"bundled head": data.head}
    for pooling in ("max", "meanmax"):
        out[f"bundled head, {pooling} pooling"] = l2_normalise(data.tower.embed_features(data.pooled[pooling]))
    if pivot is not None:
        p = pivot(data.features)
        out["pivot only"] = p
        for w in weights:
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
    parser.add_argument("--gate-power", type=float, default=0.0)
    parser.add_argument("--weights", nargs="+", type=float, default=[0.25, 0.5, 1.0, 2.0])
    parser.add_argument("--noise-snr", type=float, default=None, help="add noise at this SNR (dB) to every sound")
    parser.add_argument("--model", type=Path, default=BUNDLED_MODEL_DIR, help="the model whose head is 'bundled head'")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    embedder = Embedder(args.model, transcribe=False)
    pivot = None
    if not args.no_pivot:
        from training.ucs_pivot import NAMES_FILE, UCS_HEADS, Pivot

        names = json.loads(NAMES_FILE.read_text())["heads"]
        pivot = Pivot(names, args.style, args.top_k, args.temperature, tuple(args.heads or UCS_HEADS),
                      args.gate_power)
    report = {}
    for name in args.sets:
        path = prepared_dir().joinpath(*SETS[name])
        data = SetData(path, embedder, args.noise_snr)
        report[name] = {"chance": data.chance(), "sounds": len(data.features)}
        for variant, rows in variants(data, pivot, args.weights).items():
            audio = embedder.gap.close(Modality.AUDIO, rows)
            report[name][variant] = data.score(audio)
            cells = "  ".join(f"{d} {r['R@1']:.2f}/{r['R@5']:.2f}/{r['R@10']:.2f}" for d, r in report[name][variant].items())
            print(f"{name:9s} {variant:18s} {cells}", file=sys.stderr)
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
