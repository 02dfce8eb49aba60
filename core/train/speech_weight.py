"""Choose how much a transcript counts next to the acoustic embedding of a spoken recording.

    python -m core.train.speech_weight --run-name NAME [--clips 150]

Rule (core.model.embedder): a recording Silero VAD finds mostly speech (core.model.speech.
is_mostly_speech) is transcribed; its vector is normalise(acoustic + w · text(transcript)).
w is chosen here on human spoken words from the training sources (Art4Apps English): the acoustic
head never saw speech (speech items are left out of head training) and Whisper is not trained,
so these clips are unseen by both. Score: audio→text R@1 over the clips' words, then audio→image
R@10. Writes runs/NAME/speech.json, which the export copies into model.json.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from core.evaluation.scorer import score_direction
from core.model.speech import (MIN_SPEECH_FRACTION, MIN_SPEECH_SECONDS, VAD_THRESHOLD, Transcriber, load_audio,
                               spoken_form)
from core.model.towers import TextTower
from core.paths import BASELINE_MODEL_DIR
from core.train.features import FeatureCache, read_jsonl
from core.train.workdir import prepared_dir, runs_dir

WEIGHTS = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def choose(run: str, clips: int = 150, seed: int = 0, log=print) -> dict:
    from core.train.export_trained import load_run

    items = [i for i in read_jsonl(prepared_dir() / "train.jsonl") if i.get("source") == "art4apps-speech"]
    rng = np.random.default_rng(seed)
    items = [items[i] for i in sorted(rng.choice(len(items), min(clips, len(items)), replace=False))]
    audio_cache, image_cache = FeatureCache("audio"), FeatureCache("image")
    items = [i for i in items if i["audio"] in audio_cache.rows and i["image"] in image_cache.rows]
    model = load_run(run)
    with torch.no_grad():
        pooled = torch.from_numpy(np.stack([audio_cache.rows[i["audio"]] for i in items]).astype(np.float32))
        acoustic = model.embed_audio(pooled).numpy()
        rows = torch.from_numpy(np.stack([image_cache.rows[i["image"]][0] for i in items]).astype(np.float32))
        images = model.embed_image(rows).numpy()
    transcriber = Transcriber()
    transcripts = [transcriber.transcribe(load_audio(i["audio"])).text for i in items]
    text = TextTower(BASELINE_MODEL_DIR / "text_trunk.onnx", BASELINE_MODEL_DIR / "tokenizer.json", 256)
    words = [i["text"][0] for i in items]
    word_vectors = text.embed(words)
    said = np.zeros_like(acoustic)
    spoken = [k for k, t in enumerate(transcripts) if t.strip()]
    if spoken:
        said[spoken] = text.embed([spoken_form(transcripts[k]) for k in spoken])
    labels = [i["concept"] for i in items]
    table = []
    for weight in WEIGHTS:
        vectors = _unit(acoustic + weight * said)
        to_text = score_direction(vectors @ word_vectors.T, labels, labels).as_dict()
        to_image = score_direction(vectors @ images.T, labels, labels).as_dict()
        table.append({"weight": weight, "audio->text R@1": to_text["R@1"], "audio->text R@10": to_text["R@10"],
                      "audio->image R@10": to_image["R@10"]})
        log(f"w={weight:<4} audio→text R@1 {to_text['R@1']:.3f} R@10 {to_text['R@10']:.3f}  "
            f"audio→image R@10 {to_image['R@10']:.3f}")
    best = max(table, key=lambda r: (round(r["audio->text R@1"], 3), r["audio->image R@10"]))
    result = {
        "transcript_weight": best["weight"],
        "rule": (f"Mostly speech = Silero VAD (threshold {VAD_THRESHOLD}) covers ≥ {MIN_SPEECH_FRACTION:.0%} "
                 f"of the clip or ≥ {MIN_SPEECH_SECONDS:g} s of it; only then is Whisper run."),
        "chosen_on": f"{len(items)} Art4Apps English spoken words (training source, unseen by head and ASR)",
        "table": table,
    }
    (runs_dir(run) / "speech.json").write_text(json.dumps(result, indent=1))
    log(f"transcript weight {best['weight']}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-name", required=True)
    parser.add_argument("--clips", type=int, default=150)
    args = parser.parse_args(argv)
    choose(args.run_name, args.clips)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
