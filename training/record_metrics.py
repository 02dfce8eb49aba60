"""Evaluate the trained model and the baseline side by side and record the results in the
trained model's metrics.json (and the Metrics section of its MODEL_CARD.md).

    python -m training.record_metrics [--model DIR] [--baseline DIR]

It runs exactly what `python main.py eval MANIFEST --model TRAINED --model BASELINE` runs, on:
coco-mini test (real photos), fsdd-test (spoken digits), and the held-out test concepts of the
training sources (non-speech sounds, and speech apart) when `training.data.prepare` has built them.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from core.evaluation import evaluate, load_manifest
from core.model import Embedder
from core.paths import BASELINE_MODEL_DIR, BUNDLED_MODEL_DIR, PROJECT_ROOT

SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"


def default_sets() -> dict[str, Path]:
    from training.workdir import prepared_dir

    sets = {
        "coco-mini test": SHARED_DATA / "coco-mini" / "test.jsonl",
        "fsdd-test": SHARED_DATA / "fsdd-test" / "manifest.jsonl",
        "test concepts (sounds)": prepared_dir() / "eval" / "test_concepts.jsonl",
        "test concepts (speech)": prepared_dir() / "eval" / "test_speech.jsonl",
    }
    return {name: path for name, path in sets.items() if path.exists()}


def _shown(path: Path) -> str:
    path = Path(path)
    if path.is_relative_to(PROJECT_ROOT.parent):
        return str(path.relative_to(PROJECT_ROOT.parent))
    return str(path).replace(str(Path.home()), "~")


def record(model_dir: Path, baseline_dir: Path, sets: dict[str, Path], note: str = "") -> dict:
    models = {"trained": Embedder(model_dir), "baseline": Embedder(baseline_dir)}
    runs = []
    for name, manifest_path in sets.items():
        manifest = load_manifest(manifest_path)
        for role, embedder in models.items():
            print(f"{name}: {role} {embedder.model_id}", file=sys.stderr)
            result = evaluate(embedder, manifest).as_dict()
            result.update({"set": name, "role": role, "manifest": _shown(manifest_path)})
            runs.append(result)
    metrics = {"models": {role: e.model_id for role, e in models.items()}, "runs": runs, "note": note}
    (model_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    card = model_dir / "MODEL_CARD.md"
    if card.exists():
        text = card.read_text(encoding="utf-8")
        text = re.sub(r"## Metrics\n.*?(?=\n## |\Z)", lambda _m: "## Metrics\n\n" + comparison_table(metrics) + "\n",
                      text, flags=re.S)
        card.write_text(text, encoding="utf-8")
    return metrics


def comparison_table(metrics: dict) -> str:
    """Baseline and trained side by side, per evaluation set and direction."""
    by_key: dict[tuple[str, str], dict[str, dict]] = {}
    unavailable: dict[tuple[str, str], dict[str, str]] = {}
    manifests: dict[str, str] = {}
    for run in metrics["runs"]:
        manifests[run["set"]] = run["manifest"]
        for direction, r in run["results"].items():
            by_key.setdefault((run["set"], direction), {})[run["role"]] = r
        for direction, reason in run.get("unavailable", {}).items():
            by_key.setdefault((run["set"], direction), {})
            unavailable.setdefault((run["set"], direction), {})[run["role"]] = reason
    lines = ["| set | direction | n | baseline R@1 / R@5 / R@10 | trained R@1 / R@5 / R@10 |",
             "|---|---|---|---|---|"]
    for (set_name, direction), roles in by_key.items():
        cells = []
        for role in ("baseline", "trained"):
            r = roles.get(role)
            cells.append(f"{r['R@1']:.3f} / {r['R@5']:.3f} / {r['R@10']:.3f}" if r else "unavailable")
        n = next(iter(roles.values()))["n"] if roles else "–"
        lines.append(f"| {set_name} | {direction.replace('->', '→')} | {n} | {cells[0]} | {cells[1]} |")
    sources = "\n".join(f"- {name}: `{path}`" for name, path in manifests.items())
    return "\n".join(lines) + f"\n\nManifests:\n{sources}\n\n{metrics.get('note', '')}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=BUNDLED_MODEL_DIR)
    parser.add_argument("--baseline", type=Path, default=BASELINE_MODEL_DIR)
    parser.add_argument("--note", default="Measured with `python -m training.record_metrics` "
                        "(the same code as `python main.py eval MANIFEST --model resources/model "
                        "--model resources/baseline`). n = number of queries.")
    args = parser.parse_args(argv)
    metrics = record(args.model, args.baseline, default_sets(), args.note)
    print(comparison_table(metrics))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
