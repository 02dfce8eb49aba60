"""Frozen trunk features, computed once per file (and per augmented view) and cached on disk.

    python -m training.features            # everything train.jsonl, val.jsonl and the evals need

The cache is keyed by absolute path, so re-runs only compute what is new, and a killed run keeps
what it saved (every few hundred items). Trunks are the runtime's own ONNX files, so the heads are
trained on exactly the numbers the app will feed them.

Image views: `crop` (the runtime's centre crop) and `squash_flip` (whole picture squashed to a
square, mirrored) — a cheap augmentation that also teaches the head the edges a crop cuts off.
Audio: the aisfx trunk's blocks, mean-pooled per clip (core.model.audio documents the blocks).
Text: MiniLM sentence embeddings (the text tower without head).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from core.model.preprocess import UnreadableInput, preprocess_image
from core.model.towers import ImageTower, TextTower
from core.paths import BUNDLED_MODEL_DIR, PROJECT_ROOT
from training.workdir import features_dir, prepared_dir

IMAGE_VIEWS = ("crop", "squash_flip")
SAVE_EVERY = 256
# Dev photos (never test): unlabeled photos that keep the image head honest on real photos.
COCO_DEV = PROJECT_ROOT.parent / "shared" / "data" / "coco-mini" / "dev.jsonl"


class FeatureCache:
    """{key: float16 array} in one .npz; `missing()` tells what still has to be computed."""

    def __init__(self, name: str):
        self.path = features_dir() / f"{name}.npz"
        self.rows: dict[str, np.ndarray] = {}
        self.failed: dict[str, str] = {}
        if self.path.exists():
            with np.load(self.path, allow_pickle=False) as data:
                keys = [str(k) for k in data["keys"]]
                values = data["values"]
                self.rows = {k: values[i] for i, k in enumerate(keys)}
            failed_path = self.path.with_suffix(".failed.json")
            if failed_path.exists():
                self.failed = json.loads(failed_path.read_text())

    def missing(self, keys: Iterable[str]) -> list[str]:
        return [k for k in dict.fromkeys(keys) if k not in self.rows and k not in self.failed]

    def add(self, key: str, value: np.ndarray) -> None:
        self.rows[key] = np.asarray(value, np.float16)

    def save(self) -> None:
        keys = list(self.rows)
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=np.array(keys), values=np.stack([self.rows[k] for k in keys]) if keys else np.zeros((0,)))
        tmp.replace(self.path)
        self.path.with_suffix(".failed.json").write_text(json.dumps(self.failed, indent=0))

    def matrix(self, keys: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(len(keys), ...) float32 with zeros where a key is missing, and the found mask."""
        found = np.array([k in self.rows for k in keys], bool)
        sample = next(iter(self.rows.values()))
        out = np.zeros((len(keys), *sample.shape), np.float32)
        for i, key in enumerate(keys):
            if found[i]:
                out[i] = self.rows[key]
        return out, found


def _fill(cache: FeatureCache, keys: list[str], compute: Callable[[list[str]], list], label: str,
          batch: int) -> None:
    todo = cache.missing(keys)
    started, done = time.perf_counter(), 0
    for start in range(0, len(todo), batch):
        chunk = todo[start : start + batch]
        for key, value in zip(chunk, compute(chunk)):
            if isinstance(value, str):
                cache.failed[key] = value
            else:
                cache.add(key, value)
        done += len(chunk)
        if done % SAVE_EVERY < batch or done == len(todo):
            cache.save()
            rate = done / max(time.perf_counter() - started, 1e-9)
            print(f"  {label}: {done}/{len(todo)} ({rate:.1f}/s)", flush=True)
    cache.save()


def image_views(model_dir: Path = BUNDLED_MODEL_DIR) -> Callable[[list[str]], list]:
    tower = ImageTower(model_dir / "image_trunk.onnx", None)

    def compute(paths: list[str]) -> list:
        arrays, results = [], []
        for path in paths:
            try:
                crop = preprocess_image(path, 256, 224, (-1.0, 1.0), "crop")
                squash = preprocess_image(path, 256, 224, (-1.0, 1.0), "squash")[:, :, ::-1]
                arrays.append(np.stack([crop, squash]))
                results.append(None)
            except (UnreadableInput, OSError) as exc:
                results.append(f"unreadable: {exc}")
        if arrays:
            stacked = np.concatenate(arrays)
            out = tower.trunk_outputs(np.ascontiguousarray(stacked, np.float32))
            joined = np.concatenate([out["features"], out["logits"]], axis=1).reshape(len(arrays), len(IMAGE_VIEWS), -1)
            it = iter(joined)
            results = [next(it) if r is None else r for r in results]
        return results

    return compute


def text_embeddings(model_dir: Path = BUNDLED_MODEL_DIR) -> Callable[[list[str]], list]:
    tower = TextTower(model_dir / "text_trunk.onnx", model_dir / "tokenizer.json", 256)
    return lambda texts: list(tower.encode(texts, batch_size=64))


def audio_trunk_dir() -> Path:
    """The aisfx trunk exported once into the work folder (the same file the model ships)."""
    from training import export_audio_trunk

    out = features_dir() / "audio_trunk"
    if not (out / export_audio_trunk.TRUNK_FILE).exists():
        export_audio_trunk.export(out)
    return out


def audio_features() -> Callable[[list[str]], list]:
    from core.model.audio import AudioTower
    from training import export_audio_trunk

    tower = AudioTower(audio_trunk_dir() / export_audio_trunk.TRUNK_FILE, None,
                       **export_audio_trunk.runtime_settings())

    def compute(paths: list[str]) -> list:
        results = []
        for path in paths:
            try:
                results.append(tower.pooled_features(path))
            except (UnreadableInput, OSError) as exc:
                results.append(f"unreadable: {exc}")
        return results

    return compute


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def manifest_inputs(paths: list[Path]) -> tuple[list[str], list[str], list[str]]:
    images, audio, texts = [], [], []
    for manifest in paths:
        for item in read_jsonl(manifest):
            base = manifest.parent
            if item.get("image"):
                images.append(str((base / item["image"]).resolve()))
            if item.get("audio"):
                audio.append(str((base / item["audio"]).resolve()))
            text = item.get("text") or []
            texts.extend([text] if isinstance(text, str) else text)
    return images, audio, [t for t in texts if t.strip()]


def build(with_audio: bool = True, include_coco_dev: bool = True) -> None:
    prepared = prepared_dir()
    manifests = [prepared / "train.jsonl", prepared / "val.jsonl", *sorted((prepared / "eval").glob("val_*.jsonl"))]
    if include_coco_dev:
        manifests.append(COCO_DEV)
    images, audio, texts = manifest_inputs([m for m in manifests if m.exists()])
    if include_coco_dev:
        images += [str(p) for p in sorted((PROJECT_ROOT / "resources" / "demo" / "photos").glob("*.jpg"))]
    print(f"{len(set(images))} images, {len(set(audio))} audio clips, {len(set(texts))} texts")
    for name, keys, compute, batch in (
        ("text", texts, text_embeddings(), 256),
        ("image", images, image_views(), 16),
    ):
        t = time.perf_counter()
        _fill(FeatureCache(name), keys, compute, name, batch)
        print(f"{name} features: {time.perf_counter() - t:.0f} s")
    if with_audio:
        t = time.perf_counter()
        _fill(FeatureCache("audio"), audio, audio_features(), "audio", 16)
        print(f"audio features: {time.perf_counter() - t:.0f} s")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-audio", action="store_true", help="skip the audio trunk")
    args = parser.parse_args(argv)
    build(not args.no_audio)


if __name__ == "__main__":
    main()
