"""Export a trained run into a model folder the runtime loads (default resources/model/).

    python -m training.export_trained --run NAME [--out DIR]

Trunks are copied byte for byte from the baseline (text, image) or exported (audio); the heads of
the run become ONNX graphs whose inputs are the trunks' output names. Each head is checked against
torch on real cached features (cosine ≥ 0.99, or the export fails); int8 is tried per graph and
kept only where it holds the same bar and is smaller.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import numpy as np
import torch

from core.hashing import file_sha256
from core.model import Embedder
from core.model.speech import gate as speech_gate
from core.paths import BASELINE_MODEL_DIR, BUNDLED_MODEL_DIR
from training import export_audio_trunk, modality_gap, speech_weight
from training.export_baseline import _legacy_exporter_quiet
from training.features import FeatureCache
from training.train import IMAGE_FEATURES, Config, TrimodalHeads
from training.workdir import load_run_choice, runs_dir

NAME = "trimodal-bind-lite"
VERSION = 2
OPSET = 17
PARITY = 0.99
SPEECH_HEAD = "speech_head.onnx"
GAP_FILE = "modality_gap.npz"  # per-modality mean embeddings (training.modality_gap)
COPIED = ("text_trunk.onnx", "tokenizer.json", "image_trunk.onnx", "imagenet_classes.tsv")


def load_run(run: str) -> TrimodalHeads:
    saved = torch.load(runs_dir(run) / "best.pt", weights_only=False)
    config = Config(**saved["config"])
    table = torch.from_numpy(saved["class_table"])
    model = TrimodalHeads(config, table, torch.zeros(table.shape[1]))
    model.load_state_dict(saved["state"])
    return model.eval()


def _export(module: torch.nn.Module, inputs: dict[str, torch.Tensor], path: Path) -> None:
    names = list(inputs)
    with torch.no_grad(), _legacy_exporter_quiet():
        torch.onnx.export(
            module, tuple(inputs.values()), str(path), dynamo=False, opset_version=OPSET,
            input_names=names, output_names=["embedding"],
            dynamic_axes={**{n: {0: "batch"} for n in names}, "embedding": {0: "batch"}},
        )


def _onnx_embed(path: Path, inputs: dict[str, np.ndarray]) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    wanted = {i.name for i in session.get_inputs()}
    return session.run(["embedding"], {k: v for k, v in inputs.items() if k in wanted})[0]


def _min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return float((a * b).sum(1).min())


def export_head(module, inputs: dict[str, np.ndarray], path: Path, log=print) -> dict:
    """Export, check parity with torch, try int8; returns what was kept and the cosines."""
    tensors = {k: torch.from_numpy(v) for k, v in inputs.items()}
    with torch.no_grad():
        expected = module(*tensors.values()).numpy()
    _export(module, {k: v[:2] for k, v in tensors.items()}, path)
    fp32 = _min_cosine(_onnx_embed(path, inputs), expected)
    if fp32 < PARITY:
        raise RuntimeError(f"{path.name}: ONNX vs torch cosine {fp32:.4f} < {PARITY}")
    report = {"file": path.name, "fp32_min_cosine": fp32, "int8": False}
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantised = path.with_suffix(".int8.onnx")
    quantize_dynamic(str(path), str(quantised), weight_type=QuantType.QInt8)
    int8 = _min_cosine(_onnx_embed(quantised, inputs), expected)
    report["int8_min_cosine"] = int8
    if int8 >= PARITY and quantised.stat().st_size < path.stat().st_size:
        quantised.replace(path)
        report["int8"] = True
    else:
        quantised.unlink()
    log(f"{path.name}: parity fp32 {fp32:.4f}, int8 {int8:.4f} → kept {'int8' if report['int8'] else 'fp32'}")
    return report


def sample_inputs(n: int = 256) -> dict[str, np.ndarray]:
    """Real cached trunk outputs to check parity on."""
    rng = np.random.default_rng(0)
    image = FeatureCache("image")
    keys = list(image.rows)
    rows = np.stack([image.rows[keys[i]] for i in rng.choice(len(keys), min(n, len(keys)), replace=False)])
    rows = rows.reshape(-1, rows.shape[-1])[:n].astype(np.float32)
    audio = FeatureCache("audio")
    akeys = list(audio.rows)
    arows = np.stack([audio.rows[akeys[i]] for i in rng.choice(len(akeys), min(n, len(akeys)), replace=False)])
    text = FeatureCache("text")
    tkeys = list(text.rows)[:n]
    return {"features": rows[:, :IMAGE_FEATURES], "logits": rows[:, IMAGE_FEATURES:],
            "audio": arows.astype(np.float32), "text": np.stack([text.rows[k] for k in tkeys]).astype(np.float32)}


def export(run: str, out: Path = BUNDLED_MODEL_DIR, speech: dict | None = None, log=print) -> dict:
    """`speech`: the run's speech choice (training.speech_weight): its weights go into model.json,
    how they were chosen into provenance.json."""
    started = time.perf_counter()
    speech_choice = speech
    speech = {k: v for k, v in (speech or {}).items() if k in speech_weight.FUNCTIONAL} or None
    model = load_run(run)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("*.onnx"):
        if stale.name not in COPIED:
            stale.unlink()
    for name in COPIED:
        if (BASELINE_MODEL_DIR / name).resolve() != (out / name).resolve():
            shutil.copyfile(BASELINE_MODEL_DIR / name, out / name)
    audio_settings = export_audio_trunk.export(out)
    samples = sample_inputs()
    reports = [
        export_head(model.image, {"features": samples["features"], "logits": samples["logits"]},
                    out / "image_head.onnx", log),
        export_head(model.audio, {"features": samples["audio"]}, out / "audio_head.onnx", log),
    ]
    text_head = None
    if model.text is not None:
        reports.append(export_head(model.text, {"pooled": samples["text"]}, out / "text_head.onnx", log))
        text_head = "text_head.onnx"
    files = [*COPIED, "image_head.onnx", export_audio_trunk.TRUNK_FILE, "audio_head.onnx"]
    if text_head:
        files.append(text_head)
    if (runs_dir(run) / "speech_head.pt").exists():
        from training.speech_head import load_head, sample_features

        reports.append(export_head(load_head(run), {"features": sample_features()}, out / SPEECH_HEAD, log))
        files.append(SPEECH_HEAD)
        # The weights stay as the run chose them (training.speech_weight, rerun on the export).
        speech = {"phonetic_weight": 1.0, **(speech or {}), "head": SPEECH_HEAD}
    (out / speech_gate.FILE).unlink(missing_ok=True)
    if (runs_dir(run) / speech_gate.FILE).exists():  # training.speech_gate
        shutil.copyfile(runs_dir(run) / speech_gate.FILE, out / speech_gate.FILE)
        speech = {**(speech or {}), "gate": {"file": speech_gate.FILE, "threshold": speech_gate.THRESHOLD,
                                             "max_seconds": speech_gate.MAX_SECONDS}}
        files.append(speech_gate.FILE)
    gap = None
    (out / GAP_FILE).unlink(missing_ok=True)
    if (runs_dir(run) / modality_gap.MEANS_FILE).exists():
        shutil.copyfile(runs_dir(run) / modality_gap.MEANS_FILE, out / GAP_FILE)
        choice = load_run_choice(run, modality_gap.CHOICE_FILE)
        gap = {"file": GAP_FILE, "strength": choice["strength"]}
        files.append(GAP_FILE)
    meta = {
        "name": NAME, "version": VERSION, "dim": int(model.image.class_table.shape[1]),
        "text": {"trunk": "text_trunk.onnx", "tokenizer": "tokenizer.json", "max_tokens": 256,
                 "pooling": "mean", "head": text_head},
        "image": {"trunk": "image_trunk.onnx", "head": "image_head.onnx", "resize": 256, "crop": 224,
                  "resize_mode": "crop", "pixel_range": [-1.0, 1.0]},
        "audio": {"trunk": export_audio_trunk.TRUNK_FILE, "head": "audio_head.onnx", **audio_settings},
        "speech": speech,
        "modality_gap": gap,
        "files_sha256": {name: file_sha256(out / name) for name in sorted(files)},
    }
    (out / "model.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    # How the model was made and its speech weights chosen: never part of its id (core.model.folder).
    provenance = {"trained_run": run, "speech": {k: v for k, v in (speech_choice or {}).items()
                                                  if k not in speech_weight.FUNCTIONAL}}
    (out / "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n", encoding="utf-8")
    embedder = Embedder(out)
    log(f"exported {embedder.model_id} into {out} in {time.perf_counter() - started:.0f} s")
    return {"model_id": embedder.model_id, "parity": reports, "seconds": time.perf_counter() - started}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True)
    parser.add_argument("--out", type=Path, default=BUNDLED_MODEL_DIR)
    args = parser.parse_args(argv)
    speech = load_run_choice(args.run, "speech.json")
    result = export(args.run, args.out, speech)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
