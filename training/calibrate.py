"""The relevance calibration shipped beside a model (`calibration.json`): for each query modality ×
target kind, a logistic curve from cosine similarity to the odds that the item is what the query
asks for. It is fitted on validation pairs only and never looks at a user's library, so the same
photo gets the same relevance for the same query in every library, and "relevant" (odds ≥ 1) is a
threshold that holds with four files or a million.

    python -m training.calibrate fit --model DIR       # DIR/calibration.json from the validation sets
    python -m training.calibrate measure --model DIR   # held-out test: answer present vs absent

Fitting: every (query, target) pair of a validation set is a positive when they share a label
(group, or item for coco captions) and a negative otherwise. A class-balanced logistic regression on
the cosine gives each cell's slope (how fast relevance grows with similarity); the cell's relevance
line (log-odds 0) is put where a fixed share of unrelated items pass, the same share in every cell,
so "relevant" admits about that share of any library's unrelated files of a kind whatever its size.
The share is chosen on the validation sets by the held-out protocol of `measure` (each query with
its answers in the pool, and with them taken out), maximising "an answer passes when present" minus
"the share of the first page that is junk when absent", averaged over the cells. Cells without
validation positives borrow the text query's curve for the same target kind. Cosine against a fixed
reference sample (a per-query z-score) separated no better than the raw cosine on validation
(docs/experiments/relevance.md), so the curves take the cosine as it is.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.evaluation.manifest import MODALITIES, load_manifest
from core.kinds import KINDS
from core.model import Embedder
from core.paths import BUNDLED_MODEL_DIR
from core.search.calibration import CALIBRATION_FILE, FORMAT_VERSION
from training.workdir import cache_root, prepared_dir

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TOP = 10  # results a query looks at, as in the window's first screen
UNRELATED_SHARES = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1)  # candidate shares of unrelated items passing
NEGATIVES_PER_CELL = 200_000  # sampled; every positive is kept


def validation_sets() -> dict[str, Path]:
    eval_dir = prepared_dir() / "eval"
    return {"val_concepts": eval_dir / "val_concepts.jsonl", "val_speech": eval_dir / "val_speech.jsonl",
            "realworld_sounds": eval_dir / "realworld_sounds.jsonl", "coco_dev": SHARED / "coco-mini" / "dev.jsonl"}


def test_sets() -> dict[str, Path]:
    eval_dir = prepared_dir() / "eval"
    return {"test_concepts": eval_dir / "test_concepts.jsonl", "test_speech": eval_dir / "test_speech.jsonl",
            "coco_test": SHARED / "coco-mini" / "test.jsonl"}


@dataclass
class Embedded:
    """One modality of one set: unit rows, their labels, their payloads (a text, or a file)."""
    vectors: np.ndarray
    labels: np.ndarray
    payloads: np.ndarray


def embed_set(embedder: Embedder, name: str, path: Path, log) -> dict[str, Embedded]:
    """A set's vectors per modality, cached per model id and manifest bytes."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    cache = cache_root() / "calibration" / embedder.model_id / f"{name}-{digest}.npz"
    if cache.exists():
        with np.load(cache, allow_pickle=False) as stored:
            return {m: Embedded(stored[f"{m}_vectors"], stored[f"{m}_labels"], stored[f"{m}_payloads"])
                    for m in MODALITIES if f"{m}_vectors" in stored.files}
    manifest = load_manifest(path)
    out: dict[str, Embedded] = {}
    for modality in MODALITIES:
        instances = manifest.instances[modality]
        if not instances:
            continue
        log(f"  {name}: embedding {len(instances)} {modality} inputs")
        result = embedder.embed(modality, [instance.payload for instance in instances])
        keep = [row for row, error in enumerate(result.errors) if not error]
        out[modality] = Embedded(result.vectors[keep].astype(np.float32),
                                 np.array([instances[row].label for row in keep]),
                                 np.array([instances[row].payload for row in keep]))
    cache.parent.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for modality, embedded in out.items():
        arrays.update({f"{modality}_vectors": embedded.vectors, f"{modality}_labels": embedded.labels,
                       f"{modality}_payloads": embedded.payloads})
    np.savez(cache, **arrays)
    return out


def target_kind(modality: str) -> str:
    """The kind of media a modality's targets are (each kind is embedded by one modality)."""
    return next(name for name, kind in KINDS.items() if kind.modality.value == modality)


def cell_pairs(query: Embedded, target: Embedded, same: bool):
    """Cosines and positive flags of every (query, target) pair; a row never pairs with itself."""
    cosines = query.vectors @ target.vectors.T
    positive = query.labels[:, None] == target.labels[None, :]
    valid = np.ones_like(positive)
    if same:
        valid &= query.payloads[:, None] != target.payloads[None, :]
    return cosines[valid], positive[valid]


def fit_logistic(cosines: np.ndarray, positive: np.ndarray) -> tuple[float, float]:
    """Slope and intercept of a class-balanced logistic regression of `positive` on the cosine."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(class_weight="balanced", C=100.0)
    model.fit(cosines.reshape(-1, 1), positive.astype(int))
    return float(model.coef_[0, 0]), float(model.intercept_[0])


def collect_cells(sets: dict[str, dict[str, Embedded]], rng) -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]:
    cells: dict[tuple[str, str], list] = {}
    for embedded in sets.values():
        for q, query in embedded.items():
            for t, target in embedded.items():
                if len(target.vectors) < 2:
                    continue
                cosines, positive = cell_pairs(query, target, q == t)
                if positive.any():
                    cells.setdefault((q, t), []).append((cosines, positive))
    out = {}
    for key, parts in cells.items():
        cosines = np.concatenate([c for c, _ in parts])
        positive = np.concatenate([p for _, p in parts])
        negatives = np.flatnonzero(~positive)
        if len(negatives) > NEGATIVES_PER_CELL:
            negatives = rng.choice(negatives, NEGATIVES_PER_CELL, replace=False)
        keep = np.concatenate([np.flatnonzero(positive), negatives])
        out[key] = (cosines[keep], positive[keep])
    return out


def curves_for(cells, unrelated_share: float) -> dict[str, dict]:
    """{"text->image": {slope, intercept, line, ...}} for every cell with positives; log-odds 0 at
    the cosine that `unrelated_share` of the cell's unrelated pairs reach."""
    curves = {}
    for (q, t), (cosines, positive) in sorted(cells.items()):
        slope, _ = fit_logistic(cosines, positive)
        line = float(np.quantile(cosines[~positive], 1 - unrelated_share))
        curves[f"{q}->{target_kind(t)}"] = {"slope": round(slope, 4), "intercept": round(-slope * line, 4),
                                            "line": round(line, 4), "positives": int(positive.sum()),
                                            "negatives": int((~positive).sum())}
    for q in MODALITIES:  # a cell with no validation positives borrows the text query's curve
        for t in MODALITIES:
            key = f"{q}->{target_kind(t)}"
            if key not in curves and f"text->{target_kind(t)}" in curves:
                curves[key] = {**curves[f"text->{target_kind(t)}"], "borrowed_from": f"text->{target_kind(t)}"}
    return curves


def library_z(cosines: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """What the app did before calibration shipped: a z-score against the query's similarities to
    the library's items of the kind (here the pool), relevant from 1.0 (as log-odds: z − 1)."""
    spread = max(float(cosines[pool].std()), 0.05)
    return (cosines - cosines[pool].mean()) / spread - 1.0


def held_out_counts(sets: dict[str, dict[str, Embedded]], curves: dict, per_library: bool = False) -> dict[str, dict]:
    """Per cell: for each query, how many of the top TOP targets pass (log-odds ≥ 0) with its
    answers in the pool, whether an answer is among them, and how many pass with its answers
    taken out of the pool (each a query whose answer is not in the library). `per_library`
    scores by `library_z` instead of the curves, for comparison."""
    table: dict[str, dict] = {}
    for embedded in sets.values():
        for q, query in embedded.items():
            for t, target in embedded.items():
                key = f"{q}->{target_kind(t)}"
                if key not in curves or len(target.vectors) < 2:
                    continue
                curve = curves[key]
                cosines = query.vectors @ target.vectors.T
                logits = curve["slope"] * cosines + curve["intercept"]
                row = table.setdefault(key, {"queries": 0, "answer_passes": 0, "passes_present": 0,
                                             "absent_queries": 0, "passes_absent": 0, "absent_with_any": 0,
                                             "unrelated_pairs": 0, "unrelated_passing": 0})
                for i in range(len(query.vectors)):
                    answers = target.labels == query.labels[i]
                    if q == t:
                        answers &= target.payloads != query.payloads[i]
                        pool = target.payloads != query.payloads[i]
                    else:
                        pool = np.ones(len(target.vectors), bool)
                    scores = library_z(cosines[i], pool) if per_library else logits[i]
                    row["unrelated_pairs"] += int((pool & ~answers).sum())
                    row["unrelated_passing"] += int(((scores >= 0) & pool & ~answers).sum())
                    if answers.any():
                        top = np.argsort(-np.where(pool, scores, -np.inf))[:TOP]
                        passing = top[scores[top] >= 0]
                        row["queries"] += 1
                        row["passes_present"] += len(passing)
                        row["answer_passes"] += int(answers[passing].any())
                    absent_pool = pool & ~answers
                    if absent_pool.sum() >= TOP and answers.any():
                        if per_library:  # the library without the answers has its own spread
                            scores = library_z(cosines[i], absent_pool)
                        top = np.argsort(-np.where(absent_pool, scores, -np.inf))[:TOP]
                        passing = int((scores[top] >= 0).sum())
                        row["absent_queries"] += 1
                        row["passes_absent"] += passing
                        row["absent_with_any"] += int(passing > 0)
    return table


def summary(table: dict[str, dict]) -> dict[str, dict]:
    out = {}
    for key, row in sorted(table.items()):
        if not row["queries"]:
            continue
        out[key] = {
            "queries": row["queries"],
            "answer_passes": round(row["answer_passes"] / row["queries"], 3),
            "mean_passing_present": round(row["passes_present"] / row["queries"], 2),
            "mean_passing_absent": round(row["passes_absent"] / max(row["absent_queries"], 1), 2),
            "absent_with_none": round(1 - row["absent_with_any"] / max(row["absent_queries"], 1), 3),
            "unrelated_passing": round(row["unrelated_passing"] / max(row["unrelated_pairs"], 1), 4),
        }
    return out


def balance(rows: dict[str, dict]) -> float:
    """A share's merit: mean over cells of (an answer passes when present) − (share of the first
    page that passes when the answer is absent)."""
    return float(np.mean([row["answer_passes"] - row["mean_passing_absent"] / TOP for row in rows.values()]))


def load_sets(embedder: Embedder, paths: dict[str, Path], log) -> dict[str, dict[str, Embedded]]:
    missing = [str(path) for path in paths.values() if not path.exists()]
    if missing:
        raise SystemExit("missing sets (run python -m training.data.prepare and training.data.realworld): "
                         + ", ".join(missing))
    return {name: embed_set(embedder, name, path, log) for name, path in paths.items()}


def fit(model_dir: Path, log=print) -> dict:
    embedder = Embedder(model_dir, threads=1)
    sets = load_sets(embedder, validation_sets(), log)
    cells = collect_cells(sets, np.random.default_rng(20261204))
    candidates = {share: curves_for(cells, share) for share in UNRELATED_SHARES}
    sweep = {share: summary(held_out_counts(sets, curves)) for share, curves in candidates.items()}
    best = max(sweep, key=lambda share: balance(sweep[share]))
    for share, rows in sweep.items():
        log(f"unrelated share {share}: validation balance {balance(rows):.3f}")
    curves = candidates[best]
    calibration = {
        "format": FORMAT_VERSION,
        "model_id": embedder.model_id,
        "cells": {key: {"slope": curve["slope"], "intercept": curve["intercept"]} for key, curve in curves.items()},
        "fitted_on": {name: str(path.name) for name, path in validation_sets().items()},
        "unrelated_share": best,
        "fit": {key: {k: v for k, v in curve.items() if k not in ("slope", "intercept")} for key, curve in curves.items()},
        "validation": sweep[best],
        "validation_sweep": {str(share): {"balance": round(balance(rows), 3), "cells": rows} for share, rows in sweep.items()},
    }
    (model_dir / CALIBRATION_FILE).write_text(json.dumps(calibration, indent=1, sort_keys=True) + "\n")
    return calibration


def measure(model_dir: Path, log=print) -> dict:
    embedder = Embedder(model_dir, threads=1)
    calibration = json.loads((model_dir / CALIBRATION_FILE).read_text())
    curves = calibration["cells"]
    sets = load_sets(embedder, test_sets(), log)
    results = {name: summary(held_out_counts({name: embedded}, curves)) for name, embedded in sets.items()}
    return {"model_id": embedder.model_id, "test": results,
            "test_pooled": summary(held_out_counts(sets, curves)),
            "test_pooled_per_library_z": summary(held_out_counts(sets, curves, per_library=True))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=("fit", "measure"))
    parser.add_argument("--model", type=Path, default=BUNDLED_MODEL_DIR)
    parser.add_argument("--out", type=Path, help="also write the result as JSON here")
    args = parser.parse_args(argv)
    log = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
    result = fit(args.model, log) if args.step == "fit" else measure(args.model, log)
    text = json.dumps(result.get("validation") if args.step == "fit" else result, indent=1)
    print(text)
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
