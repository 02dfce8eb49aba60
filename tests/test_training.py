"""A few seeded training steps on a tiny real sample (the demo library's drawings, photos and
sounds through the real trunks) lower the loss, alone and under a 2-process DDP run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("aisfx")

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "resources" / "demo"


@pytest.fixture(scope="module")
def tiny_cache(tmp_path_factory):
    """A work folder with train.jsonl built from the demo library and its features cached."""
    root = tmp_path_factory.mktemp("train-cache")
    os.environ["TRIMODAL_TRAIN_CACHE"] = str(root)
    try:
        from training import features

        items = []
        for folder in ("drawings", "photos"):
            for path in sorted((DEMO / folder).glob("*.*")):
                words = path.stem.replace("_", " ")
                items.append({"id": f"{folder}/{path.stem}", "source": "demo", "concept": words,
                              "image": str(path), "audio": None, "audio_kind": None,
                              "text": [words, f"a picture of {words}"]})
        for path in sorted((DEMO / "sounds").glob("*.ogg")):
            words = path.stem.replace("_", " ")
            items.append({"id": f"sounds/{path.stem}", "source": "demo", "concept": words, "image": None,
                          "audio": str(path), "audio_kind": "sound", "text": [words, f"the sound of a {words}"]})
        prepared = root / "prepared"
        prepared.mkdir()
        (prepared / "train.jsonl").write_text("".join(json.dumps(i) + "\n" for i in items))
        features.build(with_audio=True, include_coco_dev=False)
        from core.model.towers import TextTower
        from core.paths import BASELINE_MODEL_DIR as model
        from training.class_table import build_class_table

        text = TextTower(model / "text_trunk.onnx", model / "tokenizer.json", 256)
        table = build_class_table(text, model / "imagenet_classes.tsv", ("{}",), first_lemma_only=True)
        np.save(root / "class_table.npy", table)
        yield root
    finally:
        os.environ.pop("TRIMODAL_TRAIN_CACHE", None)


def _small_config(run: str):
    from training.train import Config

    return Config(run_name=run, batch_images=12, batch_sounds=6, batch_photos=0, steps_per_epoch=8,
                  max_epochs=4, patience=10, queue_size=32, hard_negatives=8, hidden=64)


def test_seeded_steps_lower_the_loss_and_repeat_exactly(tiny_cache, monkeypatch):
    from training.train import train

    monkeypatch.setenv("TRIMODAL_TRAIN_CACHE", str(tiny_cache))
    table = np.load(tiny_cache / "class_table.npy")
    first = train(_small_config("a"), table, log=lambda *_: None)
    losses = [epoch["loss"] for epoch in first["history"]]
    assert losses[-1] < 0.8 * losses[0], losses
    again = train(_small_config("b"), table, log=lambda *_: None)
    assert [e["loss"] for e in again["history"]] == losses  # seeded: the same numbers


def test_saved_audio_head_carries_the_training_texts_as_anchors(tiny_cache, monkeypatch):
    from training.export_trained import load_run
    from training.train import FeatureTable, anchor_texts, read_jsonl, train

    monkeypatch.setenv("TRIMODAL_TRAIN_CACHE", str(tiny_cache))
    items = read_jsonl(tiny_cache / "prepared" / "train.jsonl")
    names = anchor_texts(items, FeatureTable("text"), 4)
    assert names == sorted({t for item in items for t in item["text"] if len(t.split()) <= 4})
    # speech items, long texts and texts without cached features are never anchors
    cached = SimpleNamespace(row={"a dog": 0, "a dog barks at the moon": 1, "hello there": 2})
    assert anchor_texts([{"text": ["a dog", "a dog barks at the moon", "a cat"]},
                         {"audio_kind": "speech", "text": "hello there"}], cached, 4) == ["a dog"]
    result = train(_small_config("anchored"), np.load(tiny_cache / "class_table.npy"), log=lambda *_: None)
    assert result["anchors"] == len(names)
    model = load_run("anchored")
    assert model.audio.anchors.shape == (len(names), 384)
    assert model.audio.anchor_weight == 1.0


# Each rank trains through the real entry point, then lists the threads it still runs in a file of
# its own (the ranks share one unbuffered stdout, where their lines can interleave).
RANK_SCRIPT = """
import json, os, sys
from pathlib import Path
from training.train import main
main(sys.argv[1:])
tasks = "/proc/self/task"
names = [open(f"{tasks}/{t}/comm").read().strip() for t in os.listdir(tasks)] if os.path.isdir(tasks) else []
Path(__file__).with_name(f"threads_rank{os.environ['RANK']}.json").write_text(json.dumps(names))
"""


def test_two_process_ddp_run(tiny_cache, tmp_path):
    script = tmp_path / "rank.py"
    script.write_text(RANK_SCRIPT)
    env = {**os.environ, "TRIMODAL_TRAIN_CACHE": str(tiny_cache), "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    args = ["--run-name", "ddp", "--batch-images", "12", "--batch-sounds", "6", "--batch-photos", "0",
            "--steps-per-epoch", "8", "--max-epochs", "3", "--queue-size", "32", "--hard-negatives", "8",
            "--hidden", "64", "--class-table", str(tiny_cache / "class_table.npy")]
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29517",
         str(script), *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "world 2" in done.stdout
    # gloo threads still running when Python shuts down can abort a rank (a race, ~5 % of runs
    # under load), so train() must have freed its process group before returning.
    reports = {path.name: json.loads(path.read_text()) for path in tmp_path.glob("threads_rank*.json")}
    assert len(reports) == 2, done.stdout[-2000:]
    assert not any("gloo" in name for names in reports.values() for name in names), reports  # (no list off Linux)
    result = json.loads((tiny_cache / "runs" / "ddp" / "result.json").read_text())
    losses = [epoch["loss"] for epoch in result["history"]]
    assert len(losses) == 3 and losses[-1] < losses[0], losses
