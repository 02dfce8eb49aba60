"""Name the aisfx classifier heads' classes with UCS categories, and pivot sounds through them.

    python -m training.ucs_pivot names              # recover the class order, report agreement
    python -m training.ucs_pivot export --out DIR   # a model folder whose audio head adds the pivot

The aisfx checkpoint keeps, beside the embedding network the audio trunk exports, nine classifier
heads (Linear-ReLU-Linear-ReLU-Linear on a block's 512-d embedding), one per sound library it was
trained on. Its README says the libraries are UCS-compliant and shows their coarse UCS "Category"
classes, so the first heads are taken to be UCS categories (training/data/ucs_categories.txt,
UCS 8.2.1, 82 categories) in alphabetical order over the categories present in that library.

Which categories a head lacks is resolved, and the whole assignment checked, on the labelled
training sounds: each class gets the activation-weighted mean of the caption embeddings of the
training sounds (text tower), scored against every category's text; an order-preserving alignment
(the alphabetical hypothesis) and an unconstrained one (Hungarian) are computed, and their
agreement is reported before the names are used.

The pivot (ConSE, Norouzi et al. 2014): the top-k class probabilities of each head weight the text
embeddings of the class names; the heads' mixtures are averaged. It is a zero-training sound
embedding on its own, or a term added to the trained audio head: unit(head(f)) + w · pivot(f).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np

from core.paths import BUNDLED_MODEL_DIR

UCS_FILE = Path(__file__).parent / "data" / "ucs_categories.txt"
UCS_HEADS = ("prosfx", "soundlyTrain", "ucsMixed")  # the heads the issue names as UCS categories


# --- the aisfx classifier heads -------------------------------------------------------------------

def classifier_heads() -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """{dataset name: [(W, b) × 3]} from the packaged aisfx checkpoint (float32, W as (out, in))."""
    import torch
    from aisfx.inference import get_path_modelWeights

    weights, ds_dict = torch.load(get_path_modelWeights(), map_location="cpu", weights_only=False)
    heads = {}
    for name, (index, classes) in ds_dict.items():
        layers = [(weights[f"fc.{int(index)}.{i}.weight"].numpy().astype(np.float32),
                   weights[f"fc.{int(index)}.{i}.bias"].numpy().astype(np.float32)) for i in (0, 2, 4)]
        assert layers[-1][0].shape[0] == int(classes), name
        heads[name] = layers
    return heads


def logits(features: np.ndarray, layers) -> np.ndarray:
    x = np.asarray(features, np.float32)
    for i, (w, b) in enumerate(layers):
        x = x @ w.T + b
        if i < len(layers) - 1:
            x = np.maximum(x, 0.0)
    return x


def softmax(x: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = x / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


# --- UCS categories --------------------------------------------------------------------------------

def ucs_categories() -> list[tuple[str, list[str]]]:
    rows = []
    for line in UCS_FILE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, subs = line.split(":", 1)
            rows.append((name.strip(), [s.strip() for s in subs.split(",") if s.strip()]))
    return rows


def category_text(name: str, subs: list[str], style: str = "subs") -> str:
    """The text a category is embedded as: its name, or its name and sub-categories."""
    name = name.lower().replace(" & ", " and ")
    if style == "name":
        return f"the sound of {name}"
    subs = [s.replace(" & ", " and ") for s in subs if s not in ("misc", "general")]
    return f"{name}: {', '.join(subs)}"


def text_vectors(texts: list[str], model_dir: Path = BUNDLED_MODEL_DIR) -> np.ndarray:
    """Raw text-tower embeddings (no modality-gap step): the space the audio head writes into."""
    from core.model.towers import TextTower

    config = json.loads((model_dir / "model.json").read_text())["text"]
    tower = TextTower(model_dir / config["trunk"], model_dir / config["tokenizer"], config.get("max_tokens", 256))
    return tower.encode(texts, batch_size=64)


# --- recovering the class order --------------------------------------------------------------------

def monotone_alignment(scores: np.ndarray) -> list[int]:
    """Order-preserving assignment of classes (rows) to categories (columns) maximising the summed
    score: class j goes to category c_j with c_0 < c_1 < … (dynamic programming)."""
    n, m = scores.shape
    best = np.full((n + 1, m + 1), -np.inf)
    best[0, :] = 0.0
    take = np.zeros((n + 1, m + 1), bool)
    for j in range(1, n + 1):
        for c in range(j, m + 1):
            skip = best[j, c - 1]
            use = best[j - 1, c - 1] + scores[j - 1, c - 1]
            best[j, c], take[j, c] = (use, True) if use >= skip else (skip, False)
    mapping, j, c = [0] * n, n, m
    while j > 0:
        if take[j, c]:
            mapping[j - 1] = c - 1
            j -= 1
        c -= 1
    return mapping


# Which UCS category a labelled training sound belongs to, by its source and concept (only the
# sounds with an unambiguous category; the rest carry no vote). Used to resolve and check the order.
ANIMALS = {"beaver", "bull", "cat", "deer", "doe", "dog", "dolphin", "donkey", "frog", "giraffe", "hippopotamus",
           "horse", "koala", "mountaingoat", "orca", "pig", "ram", "tiger", "wombat", "bee", "grasshopper"}
BIRDS = {"blackbird", "crow", "gander", "hen", "owl", "penguin", "quetzal", "rhea", "seagull", "toucan", "turkey", "bird"}
BY_CONCEPT = {"applause": "CROWDS", "breath": "HUMAN", "burp": "HUMAN", "gun": "GUNS", "telephone": "COMMUNICATIONS",
              "explosion": "EXPLOSIONS", "robot": "ROBOTS", "swoosh": "SWOOSHES", "woosh": "SWOOSHES",
              "fire truck": "VEHICLES", "toilet": "WATER", "water": "WATER", "hammer": "TOOLS", "saw": "TOOLS",
              "door": "DOORS", "glass": "GLASS"}


def expected_category(source: str, concept: str) -> str | None:
    if concept in BIRDS:
        return "BIRDS"
    if concept in ANIMALS:
        return "ANIMALS"
    if concept in BY_CONCEPT:
        return BY_CONCEPT[concept]
    if source in ("gm", "hydrogen"):
        return "MUSICAL"
    if source in ("freedesktop", "yaru"):
        return "USER INTERFACE"
    if source == "sonic-pi" and concept in {"bass drum", "drum", "snare", "snare drum", "tom", "tom drum", "kick",
                                            "cymbal", "guitar", "tabla", "cowbell", "choir", "triangle", "bass",
                                            "amen", "breakbeat", "perc", "wood block", "bell"}:
        return "MUSICAL"
    return None


def anchor_scores(probs: np.ndarray, expected: list[str | None], names: list[str]) -> np.ndarray:
    """(classes, categories): per category, the mean probability its labelled sounds give each class."""
    scores = np.zeros((probs.shape[1], len(names)))
    for c, name in enumerate(names):
        rows = [i for i, e in enumerate(expected) if e == name]
        if rows:
            scores[:, c] = probs[rows].mean(0)
    return scores


def top1_agreement(probs: np.ndarray, expected: list[str | None], class_names: list[str]) -> tuple[float, int]:
    rows = [i for i, e in enumerate(expected) if e]
    hits = [class_names[int(probs[i].argmax())] == expected[i] for i in rows]
    return (float(np.mean(hits)) if hits else 0.0), len(hits)


def align(probs, expected, text_scores, names, text_weight: float = 0.05) -> list[int]:
    """Order-preserving names from the labelled sounds' votes, the caption profiles breaking ties."""
    z = (text_scores - text_scores.mean(0)) / (text_scores.std(0) + 1e-9)
    return monotone_alignment(anchor_scores(probs, expected, names) + text_weight * z)


def recover(head: str, layers, features: np.ndarray, captions: np.ndarray, expected: list[str | None],
            category_vectors: np.ndarray, names: list[str]) -> dict:
    """Resolve the absent categories (all sounds), and check on held-out halves: the names fitted on
    one half of the labelled sounds, scored on the other (top-1 class name = expected category)."""
    probs = softmax(logits(features, layers))
    profiles = probs.T @ captions
    profiles /= np.maximum(np.linalg.norm(profiles, axis=1, keepdims=True), 1e-9)
    text_scores = profiles @ category_vectors.T
    ordered = align(probs, expected, text_scores, names)
    classes = len(ordered)
    held_out = []
    for fold in (0, 1):
        fit = [e if i % 2 == fold else None for i, e in enumerate(expected)]
        test = [e if i % 2 != fold else None for i, e in enumerate(expected)]
        fitted = align(probs, fit, text_scores, names)
        held_out.append(top1_agreement(probs, test, [names[c] for c in fitted]))
    naive = top1_agreement(probs, expected, names[:classes])  # alphabetical, absent ones at the end
    return {
        "head": head, "classes": classes,
        "names": [names[c] for c in ordered],
        "absent": [names[c] for c in range(len(names)) if c not in set(ordered)],
        "labelled_sounds": held_out[0][1] + held_out[1][1],
        "agreement_held_out": (held_out[0][0] * held_out[0][1] + held_out[1][0] * held_out[1][1])
        / max(held_out[0][1] + held_out[1][1], 1),
        "agreement_all": top1_agreement(probs, expected, [names[c] for c in ordered])[0],
        "agreement_first_categories": naive[0],
    }


# --- training sounds with their captions -----------------------------------------------------------

def labelled_sounds() -> tuple[list[str], list[list[str]], list[str | None]]:
    """Audio paths and texts of the training items whose audio is a non-speech sound."""
    from training.features import read_jsonl
    from training.workdir import prepared_dir

    items = [it for it in read_jsonl(prepared_dir() / "train.jsonl") if it.get("audio_kind") == "sound"]
    return ([it["audio"] for it in items], [it["text"] for it in items],
            [expected_category(it["source"], it["concept"]) for it in items])


def pooled_features(paths: list[str]) -> np.ndarray:
    """The audio trunk's pooled features: from the feature cache where present, else computed."""
    from training.features import FeatureCache, audio_features

    cache = FeatureCache("audio")
    missing = [p for p in paths if p not in cache.rows]
    if missing:
        for path, value in zip(missing, audio_features()(missing)):
            if not isinstance(value, str):
                cache.add(path, value)
        cache.save()
    return np.stack([np.asarray(cache.rows[p], np.float32) for p in paths])


def caption_vectors(texts: list[list[str]]) -> np.ndarray:
    flat = [t for ts in texts for t in ts]
    vectors = text_vectors(flat)
    out, start = [], 0
    for ts in texts:
        v = vectors[start:start + len(ts)].mean(0)
        out.append(v / max(np.linalg.norm(v), 1e-9))
        start += len(ts)
    return np.stack(out)


NAMES_FILE = Path(__file__).parent / "data" / "aisfx_ucs_classes.json"


def recover_names(style: str = "subs", heads: tuple[str, ...] | None = None) -> dict:
    paths, texts, expected = labelled_sounds()
    features, captions = pooled_features(paths), caption_vectors(texts)
    categories = ucs_categories()
    names = [name for name, _ in categories]
    category_vectors = text_vectors([category_text(n, s, style) for n, s in categories])
    report = {"sounds": len(paths), "category_text": style, "heads": {}}
    for head, layers in classifier_heads().items():
        if heads and head not in heads:
            continue
        classes = layers[-1][0].shape[0]
        if classes > len(names):
            continue
        report["heads"][head] = recover(head, layers, features, captions, expected, category_vectors, names)
    return report


# --- the pivot ---------------------------------------------------------------------------------------

class Pivot:
    """Sound features → the probability-weighted text embedding of the UCS class names."""

    def __init__(self, names: dict[str, list[str]], style: str = "subs", top_k: int = 5,
                 temperature: float = 1.0, heads: tuple[str, ...] = UCS_HEADS, gate_power: float = 0.0):
        all_heads = classifier_heads()
        subs = dict(ucs_categories())
        self.heads = [(all_heads[h], text_vectors([category_text(n, subs[n], style) for n in names[h]]))
                      for h in heads]
        self.top_k, self.temperature, self.gate_power = top_k, temperature, gate_power

    def __call__(self, features: np.ndarray) -> np.ndarray:
        """Unit pivot rows, each scaled by the classifiers' confidence ** gate_power (mean top
        probability): a sound the classifiers are unsure of leans on the trained head alone."""
        total, confidence = 0.0, 0.0
        for layers, table in self.heads:
            probs = softmax(logits(features, layers), self.temperature)
            confidence = confidence + probs.max(1) / len(self.heads)
            if self.top_k < probs.shape[1]:
                cut = np.sort(probs, axis=1)[:, -self.top_k][:, None]
                probs = np.where(probs >= cut, probs, 0.0)
            mix = probs @ table
            total = total + mix / np.maximum(np.linalg.norm(mix, axis=1, keepdims=True), 1e-9)
        unit = total / np.maximum(np.linalg.norm(total, axis=1, keepdims=True), 1e-9)
        return unit * (confidence[:, None] ** self.gate_power)


# --- a model folder with the pivot in its audio head -----------------------------------------------

def pivot_module(pivot: Pivot, weight: float):
    """torch: (features, head_embedding) → unit(head_embedding) + weight · pivot(features)."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    class PivotHead(nn.Module):
        def __init__(self):
            super().__init__()
            self.mlps = nn.ModuleList()
            for i, (layers, table) in enumerate(pivot.heads):
                linears = [nn.Linear(w.shape[1], w.shape[0]) for w, _ in layers]
                for linear, (w, b) in zip(linears, layers):
                    linear.weight.data, linear.bias.data = torch.from_numpy(w), torch.from_numpy(b)
                self.mlps.append(nn.Sequential(linears[0], nn.ReLU(), linears[1], nn.ReLU(), linears[2]))
                self.register_buffer(f"table{i}", torch.from_numpy(np.asarray(table, np.float32)))

        def forward(self, features, head_embedding):
            total, confidence = 0.0, 0.0
            for i, mlp in enumerate(self.mlps):
                table = getattr(self, f"table{i}")
                probs = torch.softmax(mlp(features) / pivot.temperature, dim=-1)
                values, index = probs.topk(min(pivot.top_k, table.shape[0]), dim=-1)
                confidence = confidence + values[:, :1] / len(self.mlps)
                total = total + F.normalize((table[index] * values.unsqueeze(-1)).sum(1), dim=-1)
            gate = confidence ** pivot.gate_power
            return F.normalize(head_embedding, dim=-1) + weight * gate * F.normalize(total, dim=-1)

    return PivotHead().eval()


def combined_head(old_head: Path, pivot: Pivot, weight: float, out: Path) -> None:
    """The old audio head's graph followed by the pivot, as one ONNX graph with the old interface
    (input `features`, output `embedding`)."""
    import onnx
    import torch
    from onnx import compose

    from training.export_baseline import _legacy_exporter_quiet

    tmp = out.with_suffix(".pivot.onnx")
    features, head = torch.zeros(2, 512), torch.zeros(2, 384)
    with torch.no_grad(), _legacy_exporter_quiet():
        torch.onnx.export(pivot_module(pivot, weight), (features, head), str(tmp), dynamo=False, opset_version=17,
                          input_names=["features", "head_embedding"], output_names=["embedding"],
                          dynamic_axes={"features": {0: "batch"}, "head_embedding": {0: "batch"},
                                        "embedding": {0: "batch"}})
    first = onnx.load(str(old_head))
    for node in first.graph.node:  # the old output becomes an inner value
        node.input[:] = ["head_embedding" if name == "embedding" else name for name in node.input]
        node.output[:] = ["head_embedding" if name == "embedding" else name for name in node.output]
    first.graph.output[0].name = "head_embedding"
    second = compose.add_prefix(onnx.load(str(tmp)), "pivot_")
    tmp.unlink()
    if first.opset_import[0].version != second.opset_import[0].version:
        second = onnx.version_converter.convert_version(second, first.opset_import[0].version)
    merged = compose.merge_models(first, second, io_map=[("head_embedding", "pivot_head_embedding")])
    graph = merged.graph
    for node in graph.node:  # the pivot reads the same `features` the head reads
        node.input[:] = ["features" if name == "pivot_features" else name for name in node.input]
        node.output[:] = ["embedding" if name == "pivot_embedding" else name for name in node.output]
    keep = [i for i in graph.input if i.name != "pivot_features"]
    del graph.input[:]
    graph.input.extend(keep)
    graph.output[0].name = "embedding"
    onnx.checker.check_model(merged)
    onnx.save(merged, str(out))


# The setting chosen on the real-world validation set (docs/experiments/real-world-sounds.md).
CHOSEN = {"weight": 1.0, "style": "subs", "top_k": 3, "temperature": 1.0, "heads": ("prosfx",), "gate_power": 2.0}


def add_pivot(model_dir: Path, weight: float, style: str = "subs", top_k: int = 5, temperature: float = 1.0,
              heads: tuple[str, ...] = UCS_HEADS, gate_power: float = 0.0) -> str:
    """Put the pivot into `model_dir`'s audio head in place (model.json's hash and provenance.json
    follow); refuses a folder that has it already. Returns the new model id."""
    from core.hashing import file_sha256
    from core.model import Embedder
    from training.model_folder import edit_model_json, edit_provenance

    provenance = model_dir / "provenance.json"
    if "audio_pivot" in (json.loads(provenance.read_text()) if provenance.exists() else {}):
        raise SystemExit(f"{model_dir} already has the pivot in its audio head")
    names = json.loads(NAMES_FILE.read_text())["heads"]
    pivot = Pivot(names, style, top_k, temperature, heads, gate_power)
    head = model_dir / "audio_head.onnx"
    combined = head.with_suffix(".pivot.tmp.onnx")
    combined_head(head, pivot, weight, combined)
    combined.replace(head)

    def config(meta: dict) -> None:
        meta["files_sha256"]["audio_head.onnx"] = file_sha256(head)
        meta.pop("same_vectors_as", None)  # new audio vectors: no earlier id shares them

    edit_model_json(model_dir, config)
    settings = {"what": "UCS category pivot added to the audio head (training.ucs_pivot)",
                "weight": weight, "category_text": style, "top_k": top_k, "temperature": temperature,
                "heads": list(heads), "gate_power": gate_power}
    edit_provenance(model_dir, lambda p: p.update(audio_pivot=settings))
    return Embedder(model_dir, transcribe=False).model_id


def export(out: Path, weight: float, style: str = "subs", top_k: int = 5, temperature: float = 1.0,
           heads: tuple[str, ...] = UCS_HEADS, gate_power: float = 0.0, source: Path = BUNDLED_MODEL_DIR) -> str:
    """A copy of `source` (without the pivot) whose audio head adds it; returns the new model id."""
    if out.resolve() == source.resolve():
        raise SystemExit("--out must be a new folder, not the source model")
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(source, out)
    return add_pivot(out, weight, style, top_k, temperature, heads, gate_power)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    names = sub.add_parser("names", help="recover and save the UCS heads' class names")
    names.add_argument("--style", default="subs", choices=("subs", "name"))
    names.add_argument("--all-heads", action="store_true", help="also try the other heads")
    ex = sub.add_parser("export", help="a model folder whose audio head adds the pivot")
    ex.add_argument("--out", type=Path, required=True)
    ex.add_argument("--weight", type=float, required=True)
    ex.add_argument("--style", default="subs", choices=("subs", "name"))
    ex.add_argument("--top-k", type=int, default=5)
    ex.add_argument("--temperature", type=float, default=1.0)
    ex.add_argument("--heads", nargs="+", default=list(UCS_HEADS))
    ex.add_argument("--gate-power", type=float, default=0.0)
    ex.add_argument("--source", type=Path, default=BUNDLED_MODEL_DIR, help="the model folder to add the pivot to")
    add = sub.add_parser("add", help="put the chosen pivot into a model folder's audio head, in place")
    add.add_argument("--model", type=Path, default=BUNDLED_MODEL_DIR)
    args = parser.parse_args(argv)
    if args.command == "add":
        print(f"{add_pivot(args.model, **CHOSEN)} in {args.model}", file=sys.stderr)
        return 0
    if args.command == "export":
        model_id = export(args.out, args.weight, args.style, args.top_k, args.temperature, tuple(args.heads),
                          args.gate_power, args.source)
        print(f"exported {model_id} into {args.out}", file=sys.stderr)
        return 0
    if args.command == "names":
        report = recover_names(args.style, None if args.all_heads else UCS_HEADS)
        for head, r in report["heads"].items():
            print(f"{head}: {r['classes']} classes, absent {r['absent']}; top-1 class name = expected category "
                  f"for {r['agreement_held_out']:.2f} of {r['labelled_sounds']} labelled sounds (held-out halves), "
                  f"{r['agreement_all']:.2f} (all), first-{r['classes']}-categories naming "
                  f"{r['agreement_first_categories']:.2f}", file=sys.stderr)
        saved = {"source": "UCS 8.2.1 categories (public domain), order recovered by training.ucs_pivot",
                 "heads": {h: r["names"] for h, r in report["heads"].items() if h in UCS_HEADS},
                 "check": {h: {k: v for k, v in r.items() if k != "names"} for h, r in report["heads"].items()}}
        NAMES_FILE.write_text(json.dumps(saved, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {NAMES_FILE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
