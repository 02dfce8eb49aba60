"""One command from nothing to the bundled model: data → features → training → export → evaluation → card.

    python -m training.reproduce [--run-name NAME] [--out DIR] [--skip-data]

Every stage is re-runnable and skips work already in the cache (training.workdir); the time of
each stage is printed and written to runs/<name>/stages.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from core.paths import BASELINE_MODEL_DIR, BUNDLED_MODEL_DIR, PROJECT_ROOT
from training.workdir import runs_dir


def _stage(name: str, argv: list[str], times: dict) -> None:
    """Run `python -m argv…` (or `python argv…` when argv[0] is a .py script) and time it."""
    print(f"\n=== {name}: {' '.join(argv)}", flush=True)
    started = time.perf_counter()
    command = [sys.executable, *argv] if argv[0].endswith(".py") else [sys.executable, "-m", *argv]
    subprocess.run(command, cwd=PROJECT_ROOT, check=True)
    times[name] = round(time.perf_counter() - started, 1)
    print(f"=== {name}: {times[name]:.0f} s", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-name", default="bundled")
    parser.add_argument("--out", type=Path, default=BUNDLED_MODEL_DIR)
    parser.add_argument("--skip-data", action="store_true", help="reuse prepared data as it is")
    args = parser.parse_args(argv)
    times: dict[str, float] = {}
    if not args.skip_data:
        _stage("data preparation and rendering", ["training.data.prepare"], times)
        _stage("spoken words", ["training.data.spoken_words"], times)
    _stage("feature caching", ["training.features"], times)
    _stage("training", ["training.train", "--run-name", args.run_name], times)
    _stage("modality gap", ["training.modality_gap", "--run", args.run_name], times)
    _stage("speech head features", ["training.speech_head", "features"], times)
    _stage("speech head training", ["training.speech_head", "train", "--run", args.run_name, "--seeds", "2"], times)
    _stage("speech gate", ["training.speech_gate", "--run", args.run_name], times)
    _stage("export", ["training.export_trained", "--run", args.run_name, "--out", str(args.out)], times)
    _stage("sound-category pivot", ["training.ucs_pivot", "add", "--model", str(args.out)], times)
    _stage("image views", ["training.image_views", "--model", str(args.out), "--run", args.run_name], times)
    _stage("speech weights", ["training.speech_weight", "--model", str(args.out), "--run", args.run_name], times)
    _stage("relevance calibration", ["training.calibrate", "fit", "--model", str(args.out)], times)
    _stage("evaluation", ["training.record_metrics", "--model", str(args.out)], times)
    timings = runs_dir(args.run_name) / "timings.md"
    _stage("speed", ["bench/embed.py", "--model", str(args.out), "--model", str(BASELINE_MODEL_DIR), "--runs", "7",
                     "--out", str(timings)], times)
    _stage("model card", ["training.model_card", "--model", str(args.out), "--timings", str(timings)], times)
    times["total"] = round(sum(times.values()), 1)
    (runs_dir(args.run_name) / "stages.json").write_text(json.dumps(times, indent=1))
    print("\n" + "\n".join(f"{name}: {seconds:.0f} s" for name, seconds in times.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
