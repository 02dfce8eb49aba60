"""Choose how much the transcript and the speech head count next to the acoustic embedding.

    python -m training.speech_weight --model resources/model [--run NAME]

Rule (core.model.embedder): a recording Silero VAD finds mostly speech (core.model.speech.
is_mostly_speech) is transcribed; its vector is
    normalise(acoustic + w_t · text(transcript) + w_p · speech_head(Whisper encoder states)).
The weights are chosen here, through the exported model's own Embedder, on human spoken words no
head trained on (see `validation_recordings`), as short 8 kHz clips. Score: speech→text R@1 against
all of their words, then speech→image R@10. The choice is written into the model folder's
model.json (and runs/NAME/speech.json when --run is given).
"""

from __future__ import annotations

import argparse
import tempfile
from itertools import product
from pathlib import Path

from core.evaluation.scorer import score_direction
from core.model.speech import MIN_SPEECH_FRACTION, MIN_SPEECH_SECONDS, VAD_THRESHOLD
from core.model.speech.gate import MAX_SECONDS as GATE_MAX_SECONDS
from core.paths import BUNDLED_MODEL_DIR
from training.features import read_jsonl
from training.workdir import prepared_dir, save_run_choice

TRANSCRIPT_WEIGHTS = (0.0, 1.0, 2.0, 4.0, 8.0, 16.0)
PHONETIC_WEIGHTS = (0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)


def validation_recordings(folder: Path) -> list[dict]:
    """Spoken words no head trained on, as short telephone-band clips (written to `folder`): the
    Art4Apps human words of training.speech_head.human_split("weights") (known words, a new
    voice) and the validation speech set (held-out words). Each is resampled to 8 kHz, once as it
    is and once trimmed to its voiced core (energy within 25 dB of the peak): hard cases for
    Whisper, where the weights matter (clean recordings of whole words it reads right either way)."""
    import librosa
    import soundfile

    from core.model.speech import load_audio
    from training.speech_head import human_split, telephone_band

    spoken = [{"audio": i["audio"], "text": i["text"][0], "image": i["image"], "set": "known words"}
              for i in human_split("weights")]
    spoken += [{"audio": i["audio"], "text": i["text"], "image": i["image"], "set": "held-out words"}
               for i in read_jsonl(prepared_dir() / "eval" / "val_speech.jsonl")]
    out = []
    for number, item in enumerate(spoken):
        narrow = telephone_band(load_audio(item["audio"]))
        for variant, waveform in (("8 kHz", narrow), ("8 kHz trimmed", librosa.effects.trim(narrow, top_db=25)[0])):
            path = folder / f"{number}_{variant.replace(' ', '_')}.wav"
            soundfile.write(path, waveform, 16000)
            out.append({**item, "audio": str(path), "variant": variant})
    return out


def choose(model_dir: Path, log=print) -> dict:
    from core.model.embedder import Embedder, SpeechWeights

    embedder = Embedder(model_dir)
    with tempfile.TemporaryDirectory() as folder:
        items = validation_recordings(Path(folder))
        parts = embedder.speech_parts([i["audio"] for i in items])
    words = sorted({i["text"] for i in items})
    word_vectors = embedder.embed_text(words).vectors
    images = embedder.embed_image([i["image"] for i in items[::2]]).vectors  # two variants per word
    labels = [i["text"] for i in items]
    has_head = bool((embedder.config.get("speech") or {}).get("head"))
    table = []
    for w_t, w_p in product(TRANSCRIPT_WEIGHTS, PHONETIC_WEIGHTS if has_head else (0.0,)):
        vectors = parts.combine(SpeechWeights(w_t, w_p))
        to_text = score_direction(vectors @ word_vectors.T, labels, words).as_dict()
        to_image = score_direction(vectors @ images.T, labels, labels[::2]).as_dict()
        row = {"transcript_weight": w_t, "phonetic_weight": w_p, "speech->text R@1": to_text["R@1"],
               "speech->text R@10": to_text["R@10"], "speech->image R@10": to_image["R@10"]}
        for name, keep in (("trimmed", lambda i: i["variant"] == "8 kHz trimmed"),
                           ("held-out words", lambda i: i["set"] == "held-out words")):
            rows = [k for k, i in enumerate(items) if keep(i)]
            row[f"speech->text R@1 ({name})"] = score_direction(
                vectors[rows] @ word_vectors.T, [labels[k] for k in rows], words).as_dict()["R@1"]
        table.append(row)
        log(f"w_t={w_t:<4} w_p={w_p:<4} speech→text R@1 {to_text['R@1']:.3f} (trimmed {row['speech->text R@1 (trimmed)']:.3f}, "
            f"held-out words {row['speech->text R@1 (held-out words)']:.3f}) R@10 {to_text['R@10']:.3f}  "
            f"speech→image R@10 {to_image['R@10']:.3f}")
    best = max(table, key=lambda r: (round(r["speech->text R@1"], 3), r["speech->image R@10"]))
    heard = sum(1 for t in parts.transcripts if t)
    return {
        "transcript_weight": best["transcript_weight"],
        "phonetic_weight": best["phonetic_weight"],
        "rule": (f"Mostly speech = Silero VAD (threshold {VAD_THRESHOLD}) covers ≥ {MIN_SPEECH_FRACTION:.0%} "
                 f"of the clip or ≥ {MIN_SPEECH_SECONDS:g} s of it, or the clip is at most {GATE_MAX_SECONDS:g} s long "
                 f"and the speech gate hears speech in it; only then are Whisper and the speech head run."),
        "chosen_on": (f"{len(items) // 2} Art4Apps English words said by a person that no head trained on "
                      "(training-split words kept from the speech head, and the validation concepts' words), "
                      f"at 8 kHz, whole and trimmed ({len(items)} clips, {heard} with a transcript), each ranked "
                      f"against all {len(words)} words"),
        "table": table,
    }


# The chosen weights change vectors (model.json); how they were chosen does not (provenance.json).
FUNCTIONAL = ("transcript_weight", "phonetic_weight")


def write_choice(model_dir: Path, choice: dict) -> None:
    from training.model_folder import edit_model_json, edit_provenance

    weights = {k: v for k, v in choice.items() if k in FUNCTIONAL}
    how = {k: v for k, v in choice.items() if k not in FUNCTIONAL}
    edit_model_json(model_dir, lambda meta: meta.update(speech={**(meta.get("speech") or {}), **weights}))
    edit_provenance(model_dir, lambda meta: meta.update(speech={**(meta.get("speech") or {}), **how}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=BUNDLED_MODEL_DIR)
    parser.add_argument("--run", default=None, help="also record the choice in runs/RUN/speech.json")
    args = parser.parse_args(argv)
    choice = choose(args.model)
    write_choice(args.model, choice)
    if args.run:
        save_run_choice(args.run, "speech.json", choice)
    print(f"transcript weight {choice['transcript_weight']}, speech head weight {choice['phonetic_weight']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
