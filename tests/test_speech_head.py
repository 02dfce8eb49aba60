"""The speech head's training pipeline on a tiny real sample: espeak-ng words → Whisper encoder
features → a few seeded epochs → a head that exports to ONNX with parity."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("faster_whisper")

WORDS = ["apple", "guitar", "umbrella", "bicycle", "kitten", "rocket", "window", "garden"]
VOICES = [["-v", "en-us"], ["-v", "en-gb+f3", "-p", "70"], ["-v", "en-us+m3", "-s", "140"]]


@pytest.fixture(scope="module")
def speech_cache(tmp_path_factory, espeak_ng):
    import os

    root = tmp_path_factory.mktemp("speech-cache")
    previous = os.environ.get("TRIMODAL_TRAIN_CACHE")
    os.environ["TRIMODAL_TRAIN_CACHE"] = str(root)
    wavs = root / "wavs"
    wavs.mkdir()
    spoken, human = [], []
    for word in WORDS:
        for take, voice in enumerate(VOICES):
            path = wavs / f"{word}_{take}.wav"
            subprocess.run([espeak_ng, *voice, "-w", str(path), word], check=True, capture_output=True)
            spoken.append({"id": f"word:{word}:{take}", "audio": str(path), "text": word, "voice": " ".join(voice)})
        path = wavs / f"{word}_human.wav"  # stands in for a person's recording: a voice not in VOICES
        subprocess.run([espeak_ng, "-v", "en-gb-scotland+m5", "-w", str(path), word], check=True, capture_output=True)
        human.append({"id": f"art4apps-en:{word}", "source": "art4apps-speech", "concept": word, "audio": str(path),
                      "audio_kind": "speech", "text": [word], "image": None})
    prepared = root / "prepared"
    (prepared / "eval").mkdir(parents=True)
    (prepared / "spoken_words.jsonl").write_text("".join(json.dumps(r) + "\n" for r in spoken))
    (prepared / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in human))
    (prepared / "eval" / "val_speech.jsonl").write_text(
        json.dumps({"id": "val-speech:window", "audio": human[6]["audio"], "text": "window", "group": "window"}) + "\n")
    yield root
    if previous is None:
        os.environ.pop("TRIMODAL_TRAIN_CACHE", None)
    else:
        os.environ["TRIMODAL_TRAIN_CACHE"] = previous


def test_human_recordings_are_never_trained_on(speech_cache):
    from training import speech_head

    training = {c["audio"] for c in speech_head.training_clips()}
    held = {c["audio"] for c in speech_head.validation_clips("stopping") + speech_head.validation_clips("weights")}
    assert len(training) == len(WORDS) * len(VOICES)
    assert held and not training & held
    assert {c["augmentation"] for c in speech_head.validation_clips("weights")} == {"clean", "band8k"}


def test_speech_head_trains_and_exports(speech_cache, tmp_path):
    from training import speech_head
    from training.export_trained import export_head

    cached = speech_head.compute_features(workers=1)
    assert all(v.shape == (768,) for v in cached.values())
    again = speech_head.compute_features(workers=1)  # cached: nothing recomputed, same values
    assert set(again) == set(cached) and all(np.array_equal(again[k], cached[k]) for k in cached)

    result = speech_head.train("tiny", epochs=6, batch=16, hidden=64, patience=6, log=lambda *_: None)
    losses = [epoch["loss"] for epoch in result["history"]]
    assert losses[-1] < 0.8 * losses[0], losses
    head = speech_head.load_head("tiny")
    report = export_head(head, {"features": np.stack(list(cached.values()))[:16]}, tmp_path / "speech_head.onnx",
                         log=lambda *_: None)
    assert report["fp32_min_cosine"] >= 0.99


def test_heads_of_two_seeds_are_averaged_into_one_export(speech_cache, tmp_path):
    import torch

    from training import speech_head
    from training.export_trained import export_head
    from training.heads import HeadAverage

    speech_head.compute_features(workers=1)
    summary = speech_head.train_heads("pair", seeds=2, epochs=3, batch=16, hidden=64, patience=6,
                                      log=lambda *_: None)
    assert [h["config"]["seed"] for h in summary["heads"]] == [speech_head.SEED, speech_head.SEED + 1]
    assert 0.0 <= summary["averaged validation"]["R@1"] <= 1.0
    pair = speech_head.load_head("pair")
    assert isinstance(pair, HeadAverage) and len(pair.heads) == 2
    features = torch.from_numpy(speech_head.sample_features(16))
    with torch.no_grad():
        one, two = (torch.nn.functional.normalize(h(features), dim=1) for h in pair.heads)
        both = pair(features)
    assert not torch.allclose(one, two)  # two seeds, two heads
    assert torch.allclose(both, (one + two) / 2, atol=1e-6)
    report = export_head(pair, {"features": features.numpy()}, tmp_path / "speech_head.onnx", log=lambda *_: None)
    assert report["fp32_min_cosine"] >= 0.99


def test_vocabulary_leaves_out_held_out_concepts(speech_cache):
    from training.data import heldout, spoken_words

    held = [c for c in heldout.read_list(heldout.TEST_FILE) + heldout.read_list(heldout.VAL_FILE)]
    test_word = next(c for c in heldout.read_list(heldout.TEST_FILE) if " " not in c)  # "anchor"
    plain = [w for w in ("red", "green", "little", "under") if not any(w in h.split() for h in held)]
    train = speech_cache / "prepared" / "train.jsonl"
    saved = train.read_text()
    try:
        train.write_text(json.dumps({"id": "x", "concept": "x",
                                     "text": [f"{' '.join(plain)} {test_word}s {test_word}"]}) + "\n")
        vocabulary = spoken_words.training_vocabulary()
    finally:
        train.write_text(saved)
    assert plain and set(plain) <= set(vocabulary)
    assert test_word not in vocabulary and f"{test_word}s" not in vocabulary
