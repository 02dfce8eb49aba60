"""The speech head: Whisper encoder states of a spoken clip → the shared space, near what was said.

    .venv/bin/python -m training.speech_head features     # pooled encoder states, cached
    .venv/bin/python -m training.speech_head train --run NAME [--seeds 2]

The export (training.export_trained) picks up runs/NAME/speech_head.pt (all seeds' heads,
exported as their average).

Why: the transcript alone fails on short words Whisper mishears ("Bye." for "five") and the
acoustic (aisfx) head knows sounds, not words. The encoder states still carry the phones, so a
small MLP over them (mean+max pooled, see core.model.speech.Transcriber.encoder_features) learns to
land near the text embedding of the words said.

Training clips: espeak-ng only: isolated words of the training vocabulary by many voices
(training.data.spoken_words) and the prepared espeak phrases, each with one seeded augmentation
(as is, 8 kHz telephone band, or light noise). Targets: MiniLM embeddings of the clip's text; loss:
symmetric InfoNCE with a learnable temperature, same-text rows never each other's negatives.
The Art4Apps English words said by a person (training split) are never trained on: half of them
stop training, the other half choose the speech weights (training.speech_weight), each as
recorded and at 8 kHz.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import time
import zlib

import numpy as np

from training.workdir import features_dir, prepared_dir, runs_dir

SEED = 20261126
AUGMENTATIONS = ("clean", "band8k", "noise")
FEATURES_FILE = "speech_encoder.npz"


def telephone_band(waveform_16k: np.ndarray) -> np.ndarray:
    """A 16 kHz clip as an 8 kHz recording would sound: down to 8 kHz and back."""
    import soxr

    return soxr.resample(soxr.resample(waveform_16k, 16000, 8000), 8000, 16000)


def augment(waveform: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    if kind == "band8k":
        waveform = telephone_band(waveform)
    elif kind == "noise":
        power = float(np.mean(waveform ** 2)) + 1e-10
        snr_db = rng.uniform(15, 35)
        waveform = waveform + rng.normal(0, np.sqrt(power / 10 ** (snr_db / 10)), waveform.size)
    return (waveform * rng.uniform(0.3, 1.0) / (np.abs(waveform).max() + 1e-6)).astype(np.float32)


def _human_words() -> list[dict]:
    """Art4Apps English words said by a person, from the training split (the acoustic head never
    trains on speech, so these are unseen by every head)."""
    return [item for item in map(json.loads, (prepared_dir() / "train.jsonl").open())
            if item.get("source") == "art4apps-speech" and item.get("text")]


def human_split(part: str) -> list[dict]:
    """Even-numbered human words stop the speech head's training; odd ones choose the speech
    weights (training.speech_weight). Neither is trained on."""
    words = _human_words()
    return words[0::2] if part == "stopping" else words[1::2]


def training_clips() -> list[dict]:
    """[{key, audio, text, augmentation}]: espeak-ng only (single words, then phrases), one seeded
    augmentation each. Human recordings are kept for validation: a new voice saying known words
    is the case the head is for."""
    words = prepared_dir() / "spoken_words.jsonl"
    sources = [json.loads(line) for line in words.open()] if words.exists() else []
    sources += [{"audio": item["audio"], "text": item["text"][0]}
                for item in map(json.loads, (prepared_dir() / "train.jsonl").open())
                if item.get("audio_kind") == "speech" and item.get("text") and item["source"] != "art4apps-speech"]
    # seeded per clip, so adding clips never changes the augmentation (and cached features) of others
    return [{"key": f"{row['audio']}|{kind}", "audio": row["audio"], "text": row["text"], "augmentation": kind}
            for row in sources for kind in (random.Random(f"{SEED}:{row['audio']}").choice(AUGMENTATIONS),)]


def validation_clips(part: str = "stopping") -> list[dict]:
    """Human words (see human_split), each as recorded and at 8 kHz."""
    return [{"key": f"{item['audio']}|{kind}", "audio": item["audio"], "text": item["text"][0], "augmentation": kind}
            for item in human_split(part) for kind in ("clean", "band8k")]


def unseen_word_clips() -> list[dict]:
    """Held-out Art4Apps words (validation concepts): words the head never heard, reported only."""
    return [{"key": f"{item['audio']}|{kind}|val", "audio": item["audio"], "text": item["text"],
             "augmentation": kind}
            for item in map(json.loads, (prepared_dir() / "eval" / "val_speech.jsonl").open())
            for kind in ("clean", "band8k")]


_worker_transcriber = None


def _start_worker() -> None:
    global _worker_transcriber
    from core.model.speech import Transcriber

    _worker_transcriber = Transcriber(threads=1)  # one per process, loaded once


def _features_of(clips: list[dict]) -> dict[str, np.ndarray]:
    from core.model.speech import load_audio

    out = {}
    for clip in clips:
        rng = np.random.default_rng(zlib.crc32(clip["key"].encode()))
        try:
            waveform = augment(load_audio(clip["audio"]), clip["augmentation"], rng)
            out[clip["key"]] = _worker_transcriber.encoder_features(waveform)
        except Exception as exc:  # noqa: BLE001 - one bad clip is recorded and skipped
            print(f"  skipped {clip['audio']}: {exc}", flush=True)
    return out


def compute_features(workers: int = 2, chunk: int = 500, save_every: int = 10_000) -> dict[str, np.ndarray]:
    """Pooled encoder states for every training and validation clip; cached, only new keys run.
    The cache is rewritten (whole, then renamed) every `save_every` clips: a killed run resumes."""
    from concurrent.futures import ProcessPoolExecutor

    path = features_dir() / FEATURES_FILE
    cached = dict(np.load(path)) if path.exists() else {}
    clips = training_clips() + validation_clips("stopping") + validation_clips("weights") + unseen_word_clips()
    todo = [c for c in clips if c["key"] not in cached]
    started, done, unsaved = time.perf_counter(), 0, 0
    with ProcessPoolExecutor(workers, initializer=_start_worker) as pool:
        for result in pool.map(_features_of, [todo[i: i + chunk] for i in range(0, len(todo), chunk)]):
            cached.update(result)
            done, unsaved = done + chunk, unsaved + chunk
            if unsaved >= save_every or done >= len(todo):
                partial = path.with_suffix(".partial.npz")
                np.savez(partial, **cached)
                os.replace(partial, path)
                unsaved = 0
                print(f"  {min(done, len(todo))}/{len(todo)} clips ({time.perf_counter() - started:.0f} s)", flush=True)
    return cached


# --- training --------------------------------------------------------------------------------

def _text_vectors(texts: list[str]) -> dict[str, np.ndarray]:
    from training.features import text_embeddings

    unique = sorted(set(texts))
    return dict(zip(unique, text_embeddings()(unique)))


def _matrix(clips: list[dict], features: dict[str, np.ndarray], texts: dict[str, np.ndarray]):
    kept = [c for c in clips if c["key"] in features]
    x = np.stack([features[c["key"]] for c in kept]).astype(np.float32)
    y = np.stack([texts[c["text"]] for c in kept]).astype(np.float32)
    label_ids = {t: i for i, t in enumerate(sorted({c["text"] for c in kept}))}
    return x, y, np.array([label_ids[c["text"]] for c in kept]), kept


def validation_scores(head, x, labels: list[str], texts: dict[str, np.ndarray]) -> dict[str, float]:
    """speech→text R@1 / R@10 of the clips, each ranked against the texts of all of them."""
    import torch

    from core.evaluation.scorer import score_direction

    words = sorted(set(labels))
    with torch.no_grad():
        vectors = torch.nn.functional.normalize(head(torch.from_numpy(x)), dim=-1).numpy()
    scores = score_direction(vectors @ np.stack([texts[w] for w in words]).T, labels, words).as_dict()
    return {"R@1": scores["R@1"], "R@10": scores["R@10"]}


def train(run: str, epochs: int = 40, batch: int = 512, lr: float = 1e-3, hidden: int = 2048,
          dropout: float = 0.4, patience: int = 8, seed: int = SEED, name: str = "speech_head",
          log=print) -> dict:
    """One head, early-stopped on the human 'stopping' words; saved as runs/RUN/NAME.pt and .json."""

    import torch

    from training.heads import LogitScale, SpeechHead
    from training.losses import symmetric_info_nce
    from training.train import seed_everything

    seed_everything(seed)
    torch.set_num_threads(1)
    features = dict(np.load(features_dir() / FEATURES_FILE))
    train_clips, val_clips, unseen_clips = training_clips(), validation_clips(), unseen_word_clips()
    texts = _text_vectors([c["text"] for c in train_clips + val_clips + unseen_clips])
    x, y, concept, kept = _matrix(train_clips, features, texts)
    vx, _, _, val_kept = _matrix(val_clips, features, texts)
    ux, _, _, unseen_kept = _matrix(unseen_clips, features, texts)
    val_labels, unseen_labels = [c["text"] for c in val_kept], [c["text"] for c in unseen_kept]
    head = SpeechHead(torch.from_numpy(x.mean(0)), torch.from_numpy(x.std(0) + 1e-4), features=x.shape[1],
                      hidden=hidden, dropout=dropout)
    scale = LogitScale()
    optimiser = torch.optim.AdamW([*head.parameters(), *scale.parameters()], lr=lr, weight_decay=0.05)
    steps = max(1, len(x) // batch)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, lr, total_steps=steps * epochs, pct_start=0.05)
    x_t, y_t, c_t = torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(concept)
    rng = np.random.default_rng(seed)
    best, best_state, best_epoch, history = -1.0, None, -1, []
    started = time.perf_counter()
    log(f"{len(x)} training clips ({len(set(concept.tolist()))} texts), {len(vx)} validation clips")
    for epoch in range(epochs):
        order = rng.permutation(len(x))
        losses = []
        for step in range(steps):
            rows = torch.from_numpy(order[step * batch:(step + 1) * batch])
            said = torch.nn.functional.normalize(head(x_t[rows]), dim=-1)
            loss = symmetric_info_nce(said, y_t[rows], scale(), c_t[rows])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            losses.append(float(loss.detach()))
        head.eval()
        scores = validation_scores(head, vx, val_labels, texts)
        unseen = validation_scores(head, ux, unseen_labels, texts)
        head.train()
        history.append({"epoch": epoch, "loss": float(np.mean(losses)), **scores,
                        **{f"unseen words {k}": v for k, v in unseen.items()}})
        log(f"epoch {epoch:2d} loss {np.mean(losses):.3f} human words R@1 {scores['R@1']:.3f} "
            f"R@10 {scores['R@10']:.3f}; unseen words R@1 {unseen['R@1']:.3f}")
        score = scores["R@1"] + 0.1 * scores["R@10"]
        if score > best:
            best, best_epoch = score, epoch
            best_state = {k: v.clone() for k, v in head.state_dict().items()}
        elif epoch - best_epoch >= patience:
            break
    result = {"best_epoch": best_epoch, "validation": history[best_epoch], "clips": len(x),
              "texts": len(set(concept.tolist())), "seconds": round(time.perf_counter() - started, 1),
              "config": {"epochs": epochs, "batch": batch, "lr": lr, "hidden": hidden, "dropout": dropout,
                         "seed": seed},
              "history": history}
    directory = runs_dir(run)
    torch.save({"state": best_state, "config": result["config"]}, directory / f"{name}.pt")
    (directory / f"{name}.json").write_text(json.dumps(result, indent=1))
    log(f"best epoch {best_epoch}: {history[best_epoch]}; saved {directory / f'{name}.pt'}")
    return result


def _train_seed(args: tuple) -> dict:
    run, seed, name, options = args
    return train(run, seed=seed, name=name, **options)


def train_heads(run: str, seeds: int = 2, log=print, **options) -> dict:
    """`seeds` heads (seeds SEED, SEED+1, …), one process each (each uses one thread), merged
    into runs/RUN/speech_head.pt; the export averages their unit outputs (heads.HeadAverage).
    Two seeds on 32 takes per word: human-word R@1 (the stopping words) 0.633 and 0.622 alone,
    0.652 averaged. (On the speech-weight choice words, a 16-take and a 32-take head with five
    resampled views each: 0.651 and 0.666 alone, 0.683 averaged.)"""
    from concurrent.futures import ProcessPoolExecutor

    jobs = [(run, SEED + i, f"speech_head.seed{i}", options) for i in range(seeds)]
    with ProcessPoolExecutor(min(seeds, os.cpu_count() or 1)) as pool:
        results = list(pool.map(_train_seed, jobs))
    return merge_heads(run, [job[2] for job in jobs], results, log)


def merge_heads(run: str, names: list[str], results: list[dict], log=print) -> dict:
    """runs/RUN/{names}.pt → runs/RUN/speech_head.pt (all states) and speech_head.json (the first
    head's summary, every head's, and the average's validation scores)."""
    import torch

    directory = runs_dir(run)
    saved = [torch.load(directory / f"{name}.pt", weights_only=False) for name in names]
    torch.save({"states": [s["state"] for s in saved], "configs": [s["config"] for s in saved]},
               directory / "speech_head.pt")
    # read lazily: only the validation clips' rows, not the whole cache (~110k clips)
    features = np.load(features_dir() / FEATURES_FILE)
    clips = validation_clips()
    texts = _text_vectors([c["text"] for c in clips])
    vx, _, _, kept = _matrix(clips, features, texts)
    averaged = validation_scores(load_head(run), vx, [c["text"] for c in kept], texts)
    summary = {**{k: v for k, v in results[0].items() if k != "history"}, "heads": results,
               "averaged validation": averaged,
               "seconds": round(sum(r["seconds"] for r in results), 1)}
    (directory / "speech_head.json").write_text(json.dumps(summary, indent=1))
    log(f"{len(names)} heads: human words R@1 {[r['validation']['R@1'] for r in results]}, "
        f"averaged {averaged['R@1']:.3f}; saved {directory / 'speech_head.pt'}")
    return summary


def load_head(run: str):
    """The run's speech head as one module (several seeds: their average)."""
    import torch

    from training.heads import HeadAverage, SpeechHead

    saved = torch.load(runs_dir(run) / "speech_head.pt", weights_only=False)
    heads = []
    for state, config in zip(saved.get("states", [saved.get("state")]), saved.get("configs", [saved.get("config")])):
        head = SpeechHead(state["mean"], state["std"], features=state["mean"].shape[0], hidden=config["hidden"])
        head.load_state_dict(state)
        heads.append(head.eval())
    return (heads[0] if len(heads) == 1 else HeadAverage(heads)).eval()


def sample_features(n: int = 256) -> np.ndarray:
    """Real cached encoder features (a seeded sample) to check the export's parity on."""
    features = np.load(features_dir() / FEATURES_FILE)
    keys = sorted(features.files)
    picked = np.random.default_rng(0).choice(len(keys), min(n, len(keys)), replace=False)
    return np.stack([features[keys[i]] for i in sorted(picked)]).astype(np.float32)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stage", choices=["features", "train"])
    parser.add_argument("--run", default="speech-v1")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--hidden", type=int, default=2048)
    parser.add_argument("--dropout", type=float, default=0.4)
    parser.add_argument("--seeds", type=int, default=2, help="heads trained with different seeds, averaged")
    args = parser.parse_args(argv)
    if args.stage == "features":
        print(f"{len(compute_features())} clips with encoder features")
    elif args.stage == "train":
        train_heads(args.run, args.seeds, epochs=args.epochs, batch=args.batch, lr=args.lr, hidden=args.hidden,
                    dropout=args.dropout)


if __name__ == "__main__":
    main()
