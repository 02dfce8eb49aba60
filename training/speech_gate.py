"""Train the second opinion for short clips the VAD turns away (core.model.speech.gate).

    python -m training.speech_gate --run NAME

Examples, training sources only, drawn with a fixed seed:
* speech: Art4Apps words said by a person in Spanish and French (no head trains on them; the
  English ones are kept for the check below), each at 8 kHz as recorded and trimmed to its voiced
  core; espeak-ng words of the training vocabulary (many voices), every other one at 8 kHz;
* not speech: every training sound effect as it is, and two short cuts of it (0.3–1 s, one at
  8 kHz), since short clips are where the gate is asked.
Features: `Transcriber.encoder_features` of each clip, as the runtime computes them.
Model: standardised features, class-balanced logistic regression (scikit-learn); its C is the
one with the lowest cross-validated log-loss (5 folds stratified by kind, all versions of a
recording in one fold).
The threshold stays at the balanced decision boundary, 0.5: nothing here is tuned on an
evaluation set. Reported, not used for any choice: how many English words said by a person (the
speech-weight choice words, at 8 kHz, whole and trimmed) and how many validation-concept sounds
the VAD turns away, and how many of those the gate lets through.

Writes runs/NAME/speech_gate.npz and runs/NAME/speech_gate.json; the export
(training.export_trained) copies the gate into the model folder.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from core.model.speech import ENCODER_MAX_SECONDS, SAMPLE_RATE, covered, is_mostly_speech, speech_segments
from core.model.speech.gate import FILE as GATE_FILE
from core.model.speech.gate import MAX_SECONDS, THRESHOLD, SpeechGate
from training.data.sources import ART4APPS
from training.features import read_jsonl
from training.workdir import prepared_dir, runs_dir, save_run_choice

SEED = 20261127
HUMAN_LANGUAGES = ("es", "fr")
HUMAN_WORDS_PER_LANGUAGE = 350
ESPEAK_WORDS = 500
CUTS_PER_SOUND = 2
CUT_SECONDS = (0.3, 1.0)
C_GRID = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
CHOICE_FILE = "speech_gate.json"


class Examples:
    """Encoder features of labelled clips, with the VAD's verdict and a group per recording."""

    def __init__(self, transcriber):
        self._transcriber = transcriber
        self.features: list[np.ndarray] = []
        self.speech: list[bool] = []
        self.groups: list[str] = []
        self.sets: list[str] = []
        self.vad: list[bool] = []
        self.seconds: list[float] = []

    def add(self, waveform: np.ndarray, speech: bool, group: str, set_name: str) -> None:
        if waveform.size < 1600:  # under 0.1 s: nothing to hear
            return
        waveform = waveform[: int(ENCODER_MAX_SECONDS * SAMPLE_RATE)]
        segments = speech_segments(waveform)  # one VAD pass for the verdict and the span, as at run time
        self.features.append(self._transcriber.encoder_features(waveform, segments))
        self.speech.append(speech)
        self.groups.append(group)
        self.sets.append(set_name)
        self.vad.append(bool(is_mostly_speech(waveform, covered(segments, waveform.size))))
        self.seconds.append(waveform.size / SAMPLE_RATE)

    def arrays(self, sets: tuple[str, ...]):
        keep = np.isin(self.sets, sets)
        return (np.stack(self.features)[keep], np.array(self.speech)[keep], np.array(self.groups)[keep],
                np.array(self.vad)[keep], np.array(self.seconds)[keep])


def collect(transcriber, log=print) -> Examples:
    import librosa

    from core.model.speech import load_audio
    from training.speech_head import human_split, telephone_band

    rng = np.random.default_rng(SEED)
    examples = Examples(transcriber)
    for language in HUMAN_LANGUAGES:
        files = sorted((ART4APPS / "audio" / language).glob("*.ogg"))
        for path in rng.choice(files, min(HUMAN_WORDS_PER_LANGUAGE, len(files)), replace=False):
            narrow = telephone_band(load_audio(path))
            examples.add(narrow, True, f"{language}:{path.stem}", "train")
            examples.add(librosa.effects.trim(narrow, top_db=25)[0], True, f"{language}:{path.stem}", "train")
    spoken = read_jsonl(prepared_dir() / "spoken_words.jsonl")
    for k in rng.choice(len(spoken), min(ESPEAK_WORDS, len(spoken)), replace=False):
        waveform = load_audio(spoken[k]["audio"])
        examples.add(telephone_band(waveform) if k % 2 else waveform, True, f"espeak:{spoken[k]['text']}", "train")
    sounds = sorted({item["audio"] for item in read_jsonl(prepared_dir() / "train.jsonl")
                     if item.get("audio") and item.get("audio_kind") != "speech"})
    for path in sounds:
        waveform = load_audio(path)
        examples.add(waveform, False, path, "train")
        for cut in range(CUTS_PER_SOUND):
            length = int(rng.uniform(*CUT_SECONDS) * 16000)
            if waveform.size > length + 1600:
                start = int(rng.integers(0, waveform.size - length))
                piece = waveform[start: start + length]
                examples.add(telephone_band(piece) if cut % 2 else piece, False, path, "train")
    log(f"{sum(examples.speech)} speech and {len(examples.speech) - sum(examples.speech)} other training clips")
    for item in human_split("weights"):
        narrow = telephone_band(load_audio(item["audio"]))
        examples.add(narrow, True, item["text"][0], "english words")
        examples.add(librosa.effects.trim(narrow, top_db=25)[0], True, item["text"][0], "english words")
    for item in read_jsonl(prepared_dir() / "eval" / "val_concepts.jsonl"):
        if item.get("audio"):
            examples.add(load_audio(item["audio"]), False, item["audio"], "validation sounds")
    return examples


def fit(features: np.ndarray, speech: np.ndarray, groups: np.ndarray, asked: np.ndarray,
        log=print) -> tuple[SpeechGate, dict]:
    """The gate with the C of lowest grouped cross-validated log-loss, that loss per C, and how the
    chosen C's held-out predictions judge the clips the gate is `asked` about (short, VAD said no)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedGroupKFold, cross_val_predict, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def pipeline(c: float):
        return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=5000, class_weight="balanced"))

    # every fold holds both kinds, and all versions of one recording stay in one fold
    fewest = min(len(set(groups[speech])), len(set(groups[~speech])))
    folds = StratifiedGroupKFold(min(5, fewest), shuffle=True, random_state=SEED)
    losses = {}
    for c in C_GRID:
        scores = cross_val_score(pipeline(c), features, speech, groups=groups, cv=folds,
                                 scoring="neg_log_loss")
        losses[c] = float(-scores.mean())
        log(f"C={c:<6} cross-validated log-loss {losses[c]:.4f}")
    best = min(losses, key=losses.get)
    held_out = cross_val_predict(pipeline(best), features, speech, groups=groups, cv=folds,
                                 method="predict_proba")[:, 1] >= THRESHOLD
    cross_validated = {
        "speech the VAD turns away, let through": f"{int((held_out & asked & speech).sum())} of {int((asked & speech).sum())}",
        "other short sounds the VAD turns away, let through": f"{int((held_out & asked & ~speech).sum())} of {int((asked & ~speech).sum())}",
    }
    model = pipeline(best).fit(features, speech)
    scaler, regression = model[0], model[1]
    gate = SpeechGate(scaler.mean_.astype(np.float32), scaler.scale_.astype(np.float32),
                      regression.coef_[0].astype(np.float32), float(regression.intercept_[0]), THRESHOLD, MAX_SECONDS)
    return gate, {"C": best, "cross_validated_log_loss": {str(c): round(v, 4) for c, v in losses.items()},
                  "cross_validated": cross_validated}


def check(gate: SpeechGate, examples: Examples, set_name: str) -> dict:
    """Of the short clips of `set_name` the VAD turns away, how many the gate lets through."""
    features, speech, _, vad, seconds = examples.arrays((set_name,))
    asked = ~vad & (seconds <= gate.max_seconds)
    passed = gate.probability(features[asked]) >= gate.threshold if asked.any() else np.zeros(0, bool)
    return {"clips": int(len(speech)), "vad_turned_away_short": int(asked.sum()), "gate_let_through": int(passed.sum())}


def train(run: str, log=print) -> dict:
    from core.model.speech import Transcriber

    started = time.perf_counter()
    examples = collect(Transcriber(), log)
    features, speech, groups, vad, seconds = examples.arrays(("train",))
    gate, choice = fit(features, speech, groups, ~vad & (seconds <= MAX_SECONDS), log)
    folder = runs_dir(run)
    gate.save(folder / GATE_FILE)
    probability = gate.probability(features)
    result = {
        **choice,
        "threshold": gate.threshold,
        "max_seconds": gate.max_seconds,
        "training_clips": {"speech": int(speech.sum()), "other": int((~speech).sum())},
        "training_accuracy": round(float(((probability >= gate.threshold) == speech).mean()), 4),
        "english words": check(gate, examples, "english words"),
        "validation sounds": check(gate, examples, "validation sounds"),
        "seconds": round(time.perf_counter() - started, 1),
    }
    save_run_choice(run, CHOICE_FILE, result)
    log(json.dumps(result, indent=1))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True)
    args = parser.parse_args(argv)
    train(args.run)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
