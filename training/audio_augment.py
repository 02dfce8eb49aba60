"""Real-recording conditions for the training sounds (issue 42, lever 2): augmented views of every
training sound clip, their aisfx trunk features cached beside the clean ones, and a model folder
whose audio head is swapped for one trained with them.

    python -m training.audio_augment features [--copies 2] [--seed 0]   # cache "audio_aug"
    python -m training.train --run-name NAME --audio-augmented 0.5        # train with the views
    python -m training.audio_augment swap --run NAME --out DIR            # bundled folder, new audio head
    python -m training.ucs_pivot add --model DIR                          # the pivot on top, as bundled

A view starts from the clean clip (decoded as the runtime decodes it) and, each step drawn from a
generator seeded by (seed, copy, the clip's path) so the cache is reproducible:
- simple EQ (p 0.5): a one-pole low-pass at 1-6 kHz or high-pass at 100-800 Hz;
- a longer window (p 0.5): the clip placed at a random offset in 2.5-8 s of silence;
- a second event (p 0.35): another training clip of another concept, 6-18 dB below the clip,
  at a random offset;
- background (p 0.85): low-passed white, pink or brown noise, or an ambience sample of the
  training sources (sonic-pi's ambi_* in train.jsonl; never an evaluation source), 0-20 dB below
  the clip's mean power, over the whole window.
Level alone does nothing here (the trunk peak-normalises every clip); levels act through the mix.
Only training.jsonl's sounds are augmented, and only training sounds are mixed in.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
import zlib
from pathlib import Path

import numpy as np

from core.paths import BUNDLED_MODEL_DIR
from training.features import FeatureCache, _fill, audio_trunk_dir, read_jsonl
from training.workdir import prepared_dir

CACHE = "audio_aug"
RATE = 44100


def view_key(path: str, seed: int, copy: int) -> str:
    return f"{path}#aug{seed}.{copy}"


def training_sounds() -> list[dict]:
    """train.jsonl's sound items (not speech) with their audio path and concept."""
    items = read_jsonl(prepared_dir() / "train.jsonl")
    return [i for i in items if i.get("audio") and i.get("audio_kind") != "speech"]


def _one_pole(x: np.ndarray, cutoff: float, high: bool) -> np.ndarray:
    from scipy.signal import lfilter

    a = float(np.exp(-2 * np.pi * cutoff / RATE))
    low = lfilter([1 - a], [1, -a], x).astype(np.float32)
    return (x - low).astype(np.float32) if high else low


def noise(kind: str, n: int, rng) -> np.ndarray:
    from scipy.signal import lfilter

    white = rng.normal(0.0, 1.0, n)
    if kind == "lowpass":
        pole = rng.uniform(0.8, 0.98)
        return lfilter([1 - pole], [1.0, -pole], white).astype(np.float32)
    if kind == "pink":  # 1/f power by shaping the spectrum
        spectrum = np.fft.rfft(white)
        f = np.arange(len(spectrum), dtype=np.float64)
        f[0] = 1.0
        return np.fft.irfft(spectrum / np.sqrt(f), n).astype(np.float32)
    if kind == "brown":  # a leaky integrator: 1/f² below its corner
        return lfilter([1.0], [1.0, -0.995], white).astype(np.float32)
    raise ValueError(kind)


def _power(x: np.ndarray) -> float:
    return float(np.mean(x.astype(np.float64) ** 2)) if x.size else 0.0


def _fit(x: np.ndarray, n: int, rng) -> np.ndarray:
    """`x` looped or cut to n samples from a random start."""
    if len(x) == 0:
        return np.zeros(n, np.float32)
    reps = int(np.ceil((n + len(x)) / len(x)))
    tiled = np.tile(x, reps)
    start = int(rng.integers(0, len(x)))
    return tiled[start : start + n].astype(np.float32)


def augment(clip: np.ndarray, rng, others: list[np.ndarray], ambience: list[np.ndarray]) -> np.ndarray:
    """One real-recording view of a mono clip at RATE (see the module docstring)."""
    x = clip.astype(np.float32)
    if rng.random() < 0.5:
        x = _one_pole(x, rng.uniform(1000, 6000), False) if rng.random() < 0.5 else _one_pole(x, rng.uniform(100, 800), True)
    power = _power(x) or 1e-8
    n = len(x)
    offset = 0
    if rng.random() < 0.5:
        n = max(n, int(rng.uniform(2.5, 8.0) * RATE))
        offset = int(rng.integers(0, n - len(x) + 1))
    out = np.zeros(n, np.float32)
    out[offset : offset + len(x)] += x
    if others and rng.random() < 0.35:
        other = others[int(rng.integers(len(others)))]
        other = other[:n]
        if len(other):
            scale = np.sqrt(power / (_power(other) or 1e-8) / 10 ** (rng.uniform(6, 18) / 10))
            start = int(rng.integers(0, n - len(other) + 1))
            out[start : start + len(other)] += scale * other
    if rng.random() < 0.85:
        kinds = ["lowpass", "pink", "brown"] + (["ambience"] if ambience else [])
        kind = kinds[int(rng.integers(len(kinds)))]
        if kind == "ambience":
            background = _fit(ambience[int(rng.integers(len(ambience)))], n, rng)
        else:
            background = noise(kind, n, rng)
        background *= np.sqrt(power / (_power(background) or 1e-8) / 10 ** (rng.uniform(0, 20) / 10))
        out += background
    return out.astype(np.float32)


def _rng(path: str, seed: int, copy: int):
    return np.random.default_rng([seed, copy, zlib.crc32(path.encode())])


def build(copies: int, seed: int = 0, log=print) -> FeatureCache:
    from core.model.audio import AudioTower
    from training import export_audio_trunk

    tower = AudioTower(audio_trunk_dir() / export_audio_trunk.TRUNK_FILE, None, threads=1,
                       **export_audio_trunk.runtime_settings())
    sounds = training_sounds()
    paths = sorted({s["audio"] for s in sounds})
    concept_of = {s["audio"]: s.get("concept") or s["id"] for s in sounds}
    started = time.perf_counter()
    waves: dict[str, np.ndarray] = {}
    for path in paths:
        try:
            waves[path] = tower.load(path)
        except Exception as exc:  # noqa: BLE001 — a clip the runtime cannot read has no clean features either
            log(f"  skipped {path}: {exc}")
    ambience = [waves[p] for p in paths if p in waves and Path(p).name.startswith("ambi_")]
    log(f"{len(waves)} training sounds decoded in {time.perf_counter() - started:.0f} s; "
        f"{len(ambience)} ambience samples; {copies} views each")
    keys = [view_key(p, seed, c) for c in range(copies) for p in paths if p in waves]

    def compute(chunk: list[str]) -> list:
        out = []
        for key in chunk:
            path, tag = key.rsplit("#aug", 1)
            copy = int(tag.split(".")[1])
            rng = _rng(path, seed, copy)
            others = [waves[p] for p in paths if p in waves and concept_of[p] != concept_of[path]]
            view = augment(waves[path], rng, others, ambience)
            out.append(tower.trunk_features(view).mean(0).astype(np.float32))
        return out

    cache = FeatureCache(CACHE)
    _fill(cache, keys, compute, "augmented audio", 16)
    return cache


def augmented_rows(audio_keys: dict[str, int], cache_name: str = CACHE):
    """(matrix of augmented rows, {clean audio row: [augmented rows]}) from the cache."""
    import torch

    cache = FeatureCache(cache_name)
    keys = list(cache.rows)
    if not keys:
        raise SystemExit(f"no augmented audio features cached ({cache.path}); run training.audio_augment features")
    matrix = torch.from_numpy(np.stack([cache.rows[k] for k in keys]).astype(np.float32))
    views: dict[int, list[int]] = {}
    for i, key in enumerate(keys):
        clean = audio_keys.get(key.rsplit("#aug", 1)[0])
        if clean is not None:
            views.setdefault(clean, []).append(i)
    return matrix, {k: np.array(v) for k, v in views.items()}


def swap(run: str, out: Path, source: Path = BUNDLED_MODEL_DIR, log=print) -> str:
    """A copy of `source` whose audio head (before the pivot) is the run's, with the modality-gap
    audio mean re-measured through it; the pivot is to be added again (training.ucs_pivot add).
    Everything else (trunks, image head, speech parts, strengths) stays the source's."""
    import torch

    from core.hashing import file_sha256
    from core.model import Embedder
    from training.export_trained import GAP_FILE, export_head, load_run, sample_inputs
    from training.model_folder import edit_model_json, edit_provenance
    from training.train import FeatureTable, _manifest_inputs, embed_rows

    if out.resolve() == source.resolve():
        raise SystemExit("--out must be a new folder")
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(source, out)
    model = load_run(run)
    report = export_head(model.audio, {"features": sample_inputs()["audio"]}, out / "audio_head.onnx", log)
    audio = FeatureTable("audio")
    rows, _ = _manifest_inputs(prepared_dir() / "train.jsonl", FeatureTable("image"), audio, FeatureTable("text"))["audio"]
    with torch.no_grad():
        mean = embed_rows(model, "audio", audio.matrix[rows]).mean(0).numpy().astype(np.float32)
    with np.load(out / GAP_FILE) as gap:
        means = {k: gap[k] for k in gap.files}
    assert "audio" in means and means["audio"].shape == mean.shape, sorted(means)
    means["audio"] = mean
    np.savez(out / GAP_FILE, **means)

    def config(meta: dict) -> None:
        meta["files_sha256"]["audio_head.onnx"] = file_sha256(out / "audio_head.onnx")
        meta["files_sha256"][GAP_FILE] = file_sha256(out / GAP_FILE)
        meta.pop("same_vectors_as", None)

    edit_model_json(out, config)

    def provenance(p: dict) -> None:
        p.pop("audio_pivot", None)  # the new head has none until ucs_pivot add
        p["audio_head"] = {"what": "audio head trained with real-recording views (training.audio_augment)",
                           "trained_run": run, "parity": report}

    edit_provenance(out, provenance)
    return Embedder(out, transcribe=False).model_id


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    feats = sub.add_parser("features", help="cache trunk features of augmented training sounds")
    feats.add_argument("--copies", type=int, default=2)
    feats.add_argument("--seed", type=int, default=0)
    sw = sub.add_parser("swap", help="a copy of a model folder with a run's audio head (no pivot yet)")
    sw.add_argument("--run", required=True)
    sw.add_argument("--out", type=Path, required=True)
    sw.add_argument("--source", type=Path, default=BUNDLED_MODEL_DIR)
    args = parser.parse_args(argv)
    if args.command == "features":
        cache = build(args.copies, args.seed)
        print(f"{len(cache.rows)} augmented views cached in {cache.path}", file=sys.stderr)
    else:
        print(f"{swap(args.run, args.out, args.source)} in {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
