"""Speech (Whisper via faster-whisper + Silero VAD): timing, VAD rule accuracy, dev and test scores.

Run by hand, offline:
    python bench/asr.py                       # timing + VAD rule + dev (chosen settings) + fsdd-test
    python bench/asr.py --sweep               # decoding sweep on the dev set (tuning happens here)
    python bench/asr.py --dev-every 1         # the full 623-word dev set (slow on 2 cores)
    python bench/asr.py --base-dir DIR        # also bench a Whisper base CTranslate2 folder

Dev set (tuning): Art4Apps English spoken words (a training source; word = file name, '_'/'-' → ' ').
Scores: exact match after lower-casing and stripping punctuation, and text-tower retrieval R@1 (each
clip's transcript embedding ranks all 623 word embeddings). Test set (report only, never tuned):
fsdd-test, transcript-only audio→text R@1/5/10 over the manifest's digit words, ties counted against.
Non-speech for the VAD rule: resources/demo/sounds, /usr/share/sounds (event sounds whose file names
say they are spoken, audio-channel-*, count as speech), --nonspeech-dir folders, synthetic noise/tones.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, no install

from core.model.speech import (  # noqa: E402
    DEFAULT_DECODE,
    PAD_TO_SECONDS,
    SAMPLE_RATE,
    Transcriber,
    is_mostly_speech,
    load_audio,
    speech_fraction,
)
from core.paths import BUNDLED_MODEL_DIR, PROJECT_ROOT  # noqa: E402

DATA = Path(os.environ.get("TRIMODAL_DATA", "/work/shared/data"))
DEV_DIR = DATA / "art4apps" / "audio" / "en"
FSDD = DATA / "fsdd-test" / "manifest.jsonl"
ESPEAK_SENTENCES = [  # generic sentences, not from any evaluation set
    "The kettle is on the stove, please turn it off before you leave.",
    "Remember to water the plants in the garden this evening.",
    "Our train leaves from platform nine at a quarter past eight.",
    "I left my umbrella at the library on Tuesday afternoon.",
]

# name -> (model key, decode overrides, pad_to_seconds)
SETTINGS = {
    "tiny greedy (chosen)": ("tiny", {}, 0.0),
    "tiny beam5": ("tiny", {"beam_size": 5}, 0.0),
    "tiny beam5 +T-fallback": ("tiny", {"beam_size": 5, "temperature": [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]}, 0.0),
    "tiny beam5 vad_filter": ("tiny", {"beam_size": 5, "vad_filter": True}, 0.0),
    "tiny beam5 timestamps": ("tiny", {"beam_size": 5, "without_timestamps": False}, 0.0),
    "tiny beam5 pad 3s": ("tiny", {"beam_size": 5}, 3.0),
    "base beam5": ("base", {"beam_size": 5}, 0.0),
    "base greedy": ("base", {}, 0.0),
}


def norm(text: str) -> str:
    text = re.sub(r"[^\w\s']", " ", text.lower()).replace("'", "")
    return " ".join(text.split())


def dev_items(every: int) -> list[tuple[str, Path]]:
    files = sorted(DEV_DIR.glob("*.ogg"))
    words = [f.stem.replace("_", " ").replace("-", " ") for f in files]
    return words, [(w, f) for i, (w, f) in enumerate(zip(words, files)) if i % every == 0]


def rank_of_best(scores: np.ndarray, correct: np.ndarray) -> int:
    """1 + targets strictly higher than the best correct + wrong targets tied with it."""
    best = scores[correct].max()
    return int(1 + (scores > best).sum() + ((scores == best) & ~correct).sum())


def recall(ranks: list[int], k: int) -> float:
    return float(np.mean([r <= k for r in ranks])) if ranks else float("nan")


def text_vectors(embedder, texts: list[str]) -> np.ndarray:
    return embedder.embed_text(texts).vectors  # empty text -> zero row (scores 0: ties count against)


def make_transcriber(key: str, args, decode: dict, pad: float) -> Transcriber | None:
    model_dir = None if key == "tiny" else args.base_dir
    if key == "base" and not (model_dir and Path(model_dir, "model.bin").is_file()):
        return None
    return Transcriber(model_dir, threads=args.threads, decode=decode, pad_to_seconds=pad)


def eval_dev(transcriber: Transcriber, embedder, all_words, items, cache) -> dict:
    word_vecs = text_vectors(embedder, all_words)
    word_index = {w: i for i, w in enumerate(all_words)}
    texts, exact, started = [], [], time.perf_counter()
    for word, path in items:
        if path not in cache:
            cache[path] = load_audio(path)
        text = transcriber.decode_text(cache[path])
        texts.append(text)
        exact.append(norm(text) == norm(word))
    seconds = (time.perf_counter() - started) / max(1, len(items))
    q = text_vectors(embedder, texts)
    ranks = []
    for (word, _), vec in zip(items, q):
        correct = np.zeros(len(all_words), bool)
        correct[word_index[word]] = True
        ranks.append(rank_of_best(word_vecs @ vec, correct))
    misses = [(w, t) for (w, _), t, e in zip(items, texts, exact) if not e][:12]
    return dict(n=len(items), exact=float(np.mean(exact)), r1=recall(ranks, 1), r5=recall(ranks, 5),
                sec_per_clip=seconds, misses=misses)


def eval_fsdd(transcriber: Transcriber, embedder) -> dict:
    """One decoding pass; scored twice: every clip transcribed, and with the VAD gate (clips that
    are not mostly speech get an empty transcript, as in the app)."""
    rows = [json.loads(line) for line in FSDD.read_text().splitlines() if line.strip()]
    target_vecs = text_vectors(embedder, [r["text"] for r in rows])
    groups = np.array([r.get("group", r["id"]) for r in rows])
    texts, passed = [], []
    for r in rows:
        waveform = load_audio(FSDD.parent / r["audio"])
        passed.append(is_mostly_speech(waveform))
        texts.append(transcriber.decode_text(waveform))
    words = sorted({r["text"] for r in rows})
    word_vecs = text_vectors(embedder, words)
    out = {}
    for gate in (False, True):
        used = [t if (ok or not gate) else "" for t, ok in zip(texts, passed)]
        q = text_vectors(embedder, used)
        common = dict(n=len(rows), exact=float(np.mean([norm(t) == norm(r["text"]) for t, r in zip(used, rows)])),
                      gated_out=int(gate) * (len(rows) - int(sum(passed))))
        # DATA.md protocol: every target instance (300 texts, 30 per digit; a wrong digit's 30 tied
        # copies all rank above, so R@1 = R@5 = R@10 here)
        ranks = [rank_of_best(target_vecs @ vec, groups == g) for g, vec in zip(groups, q)]
        out[f"gate={'on' if gate else 'off'}, 300 targets"] = dict(
            r1=recall(ranks, 1), r5=recall(ranks, 5), r10=recall(ranks, 10), **common)
        # the 10 distinct digit words as targets
        ranks = [rank_of_best(word_vecs @ vec, np.array([w == r["text"] for w in words])) for r, vec in zip(rows, q)]
        out[f"gate={'on' if gate else 'off'}, 10 words"] = dict(
            r1=recall(ranks, 1), r5=recall(ranks, 5), r10=recall(ranks, 10), **common)
    out["transcripts"] = [(r["id"], t, ok) for r, t, ok in zip(rows, texts, passed)]
    return out


def espeak_clips(tmp: Path) -> list[tuple[str, Path]]:
    if not shutil.which("espeak-ng"):
        return []
    out = []
    for i, sentence in enumerate(ESPEAK_SENTENCES):
        for voice in ("en-us", "en+f3"):
            path = tmp / f"espeak_{i}_{voice.replace('+', '_')}.wav"
            subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), sentence], check=True,
                           capture_output=True)
            out.append((f"espeak:{voice}:{i}", path))
    return out


def synthetic_nonspeech() -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    t = np.arange(3 * SAMPLE_RATE) / SAMPLE_RATE
    sweep = 0.3 * np.sin(2 * np.pi * (200 * t + (4000 - 200) / (2 * 3) * t**2))
    tone = 0.3 * np.sin(2 * np.pi * 440 * t)
    noise = 0.1 * rng.standard_normal(t.size)
    return [("synthetic:sweep", sweep), ("synthetic:440Hz", tone), ("synthetic:white noise", noise),
            ("synthetic:silence", np.zeros(t.size))]


def eval_vad(args) -> dict:
    speech, nonspeech = [], []
    tmp = Path(tempfile.mkdtemp())
    speech += [(f"art4apps:{p.stem}", p) for p in sorted(DEV_DIR.glob("*.ogg"))]
    speech += espeak_clips(tmp)
    speech += [(f"memo:{p.name}", p) for p in sorted((PROJECT_ROOT / "resources/demo/memos").glob("*"))]
    sound_files = sorted((PROJECT_ROOT / "resources/demo/sounds").glob("*"))
    for folder in ["/usr/share/sounds", *args.nonspeech_dir]:
        sound_files += sorted(Path(p) for p in glob.glob(f"{folder}/**/*", recursive=True)
                              if Path(p).suffix.lower() in {".ogg", ".oga", ".wav", ".mp3", ".flac"})
    for p in sound_files:
        # freedesktop's audio-channel-* files are a voice saying "front left" etc.
        (speech if p.name.startswith("audio-channel-") else nonspeech).append((f"sound:{p.name}", p))
    nonspeech += synthetic_nonspeech()
    result = {}
    for side, items in (("speech", speech), ("nonspeech", nonspeech)):
        decisions, fractions, failures, vad_seconds = [], [], [], []
        for name, src in items:
            try:
                waveform = load_audio(src) if isinstance(src, Path) else src.astype(np.float32)
            except Exception as exc:  # noqa: BLE001
                failures.append(f"{name}: {exc}")
                continue
            started = time.perf_counter()
            fraction = speech_fraction(waveform)
            vad_seconds.append((time.perf_counter() - started) / max(waveform.size / SAMPLE_RATE, 1e-3))
            decisions.append(is_mostly_speech(waveform, fraction))
            fractions.append((name, round(fraction, 2), round(waveform.size / SAMPLE_RATE, 1)))
        wrong = [f for f, d in zip(fractions, decisions) if d != (side == "speech")]
        result[side] = dict(n=len(decisions), correct=float(np.mean([d == (side == "speech") for d in decisions])),
                            wrong=wrong, failures=failures,
                            vad_ms_per_audio_second=1000 * float(np.mean(vad_seconds)))
    shutil.rmtree(tmp, ignore_errors=True)
    return result


def timing(transcriber: Transcriber, label: str, rows: list):
    espeak = shutil.which("espeak-ng")
    tmp = Path(tempfile.mkdtemp())
    clips = {}
    if espeak:
        for name, text in (("1 s", "Good morning."),
                           ("10 s", " ".join(ESPEAK_SENTENCES[:3]))):
            path = tmp / "clip.wav"
            subprocess.run(["espeak-ng", "-w", str(path), text], check=True, capture_output=True)
            clips[name] = load_audio(path)
    else:
        rng = np.random.default_rng(0)
        clips = {"1 s": 0.1 * rng.standard_normal(SAMPLE_RATE), "10 s": 0.1 * rng.standard_normal(10 * SAMPLE_RATE)}
    for name, waveform in clips.items():
        speech_fraction(waveform)  # warm
        transcriber.decode_text(waveform[:SAMPLE_RATE])
        reps = 3
        started = time.perf_counter()
        for _ in range(reps):
            speech_fraction(waveform)
        vad = (time.perf_counter() - started) / reps
        started = time.perf_counter()
        for _ in range(reps):
            transcriber.decode_text(waveform)
        asr = (time.perf_counter() - started) / reps
        rows.append((label, f"{name} ({waveform.size / SAMPLE_RATE:.1f} s)", vad * 1000, asr * 1000))
    shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sweep", action="store_true", help="score every setting in SETTINGS on dev")
    parser.add_argument("--settings", nargs="*", help="subset of SETTINGS names for --sweep")
    parser.add_argument("--dev-every", type=int, default=3, help="use every Nth dev word (1 = all 623)")
    parser.add_argument("--base-dir", default=os.environ.get("WHISPER_BASE_DIR", "/tmp/whisper-base"),
                        help="optional CTranslate2 Whisper base folder to compare")
    parser.add_argument("--threads", type=int, default=min(4, os.cpu_count() or 1))
    parser.add_argument("--nonspeech-dir", nargs="*", default=[], help="extra folders of non-speech sounds")
    parser.add_argument("--skip", nargs="*", default=[], choices=["timing", "vad", "dev", "test"])
    parser.add_argument("--json", help="write all results here")
    args = parser.parse_args()

    from core.model import Embedder

    embedder = Embedder(BUNDLED_MODEL_DIR)
    all_words, items = dev_items(args.dev_every)
    results: dict = {}
    cache: dict = {}

    if args.sweep:
        names = args.settings or list(SETTINGS)
        print(f"dev sweep: {len(items)} of {len(all_words)} Art4Apps words, {args.threads} threads")
        print(f"{'setting':28s} {'exact':>6s} {'R@1':>6s} {'R@5':>6s} {'s/clip':>7s}")
        for name in names:
            key, decode, pad = SETTINGS[name]
            transcriber = make_transcriber(key, args, decode, pad)
            if transcriber is None:
                print(f"{name:28s} (model not found)")
                continue
            r = eval_dev(transcriber, embedder, all_words, items, cache)
            results[name] = r
            print(f"{name:28s} {r['exact']:6.3f} {r['r1']:6.3f} {r['r5']:6.3f} {r['sec_per_clip']:7.2f}  "
                  f"misses: {r['misses'][:6]}", flush=True)
    else:
        tiny = Transcriber(threads=args.threads)
        print(f"chosen settings: {DEFAULT_DECODE}, pad_to_seconds={PAD_TO_SECONDS}, model {tiny.model_dir}")
        if "timing" not in args.skip:
            rows = []
            timing(tiny, "tiny.en int8", rows)
            base = make_transcriber("base", args, {}, PAD_TO_SECONDS)
            if base is not None:
                timing(base, "base int8", rows)
            print(f"\n{'model':14s} {'clip':14s} {'VAD ms':>8s} {'ASR ms':>8s}   ({args.threads} threads)")
            for label, clip, vad, asr in rows:
                print(f"{label:14s} {clip:14s} {vad:8.1f} {asr:8.0f}")
            results["timing"] = rows
        if "vad" not in args.skip:
            vad = eval_vad(args)
            results["vad"] = vad
            print("\nVAD rule (is_mostly_speech):")
            for side in ("speech", "nonspeech"):
                v = vad[side]
                print(f"  {side:10s} n={v['n']:4d} correct={v['correct']:.3f}  "
                      f"VAD {v['vad_ms_per_audio_second']:.1f} ms per audio second  wrong: {v['wrong'][:10]}")
                if v["failures"]:
                    print(f"  unreadable: {v['failures'][:5]}")
        if "dev" not in args.skip:
            r = eval_dev(tiny, embedder, all_words, items, cache)
            results["dev"] = r
            print(f"\ndev (Art4Apps, {r['n']} words): exact {r['exact']:.3f}  R@1 {r['r1']:.3f}  "
                  f"R@5 {r['r5']:.3f}  {r['sec_per_clip']:.2f} s/clip")
        if "test" not in args.skip:
            fsdd = eval_fsdd(tiny, embedder)
            results["fsdd transcripts"] = fsdd.pop("transcripts")
            for name, r in fsdd.items():
                results[f"fsdd {name}"] = r
                print(f"fsdd-test transcript-only (VAD {name}, n={r['n']}): R@1 {r['r1']:.3f}  "
                      f"R@5 {r['r5']:.3f}  R@10 {r['r10']:.3f}  exact {r['exact']:.3f}  gated out {r['gated_out']}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
