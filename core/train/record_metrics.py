"""Evaluate a model folder on the evaluation manifests and record the results in its metrics.json
(and the Metrics table of its MODEL_CARD.md). Run: `python -m core.train.record_metrics`."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from core.evaluation import evaluate, load_manifest
from core.model import Embedder
from core.paths import BUNDLED_MODEL_DIR, PROJECT_ROOT

SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
DEFAULT_SETS = {
    "coco-mini test": SHARED_DATA / "coco-mini" / "test.jsonl",
    "fsdd-test": SHARED_DATA / "fsdd-test" / "manifest.jsonl",
}


def record(model_dir: Path, sets: dict[str, Path], note: str = "") -> dict:
    embedder = Embedder(model_dir)
    runs = []
    for name, manifest in sets.items():
        print(f"{name}: {manifest}", file=sys.stderr)
        result = evaluate(embedder, load_manifest(manifest)).as_dict()
        result["set"] = name
        result["manifest"] = str(Path(manifest).relative_to(PROJECT_ROOT.parent)) if \
            Path(manifest).is_relative_to(PROJECT_ROOT.parent) else str(manifest)
        runs.append(result)
    metrics = {"model": embedder.model_id, "runs": runs, "note": note}
    (model_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    card = model_dir / "MODEL_CARD.md"
    if card.exists():
        from core.train.export_baseline import metrics_table

        text = card.read_text(encoding="utf-8")
        text = re.sub(r"## Metrics\n.*", lambda _m: "## Metrics\n\n" + metrics_table(model_dir) + "\n",
                      text, flags=re.S)
        card.write_text(text, encoding="utf-8")
    return metrics


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=BUNDLED_MODEL_DIR)
    parser.add_argument("--note", default="Measured with `python -m core.train.record_metrics` "
                        "(the same code as `python main.py eval`).")
    args = parser.parse_args(argv)
    metrics = record(args.model, DEFAULT_SETS, args.note)
    print(json.dumps(metrics, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
