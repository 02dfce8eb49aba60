"""Per-item embedding cost of a model folder on this machine, through the runtime `Embedder`.

    python bench/embed.py [--model DIR ...] [--runs 5] [--out TABLE.md]

For each model (default: the bundled model, then the baseline, in the same run) prints the median
of --runs runs of: one 3:2 photo and one square photo (decode + resize + trunk + head), one
caption (tokenise + trunk), a 10 s recording without speech recognition (decode + resample +
trunk + head) and, where the model transcribes speech, a 10 s spoken recording and a one-word
recording (its short voiced span is heard at five resampling rates by the speech head) with
Whisper, and a 1 s sound effect with the speech checks (the VAD and, where the model has one, the
short-clip speech gate's Whisper encoder pass) next to the same sound without them. Numbers are ms
per item at batch 1.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from core.model import Embedder, ModalityUnavailable  # noqa: E402
from core.paths import BASELINE_MODEL_DIR, BUNDLED_MODEL_DIR  # noqa: E402

DEMO = REPO / "resources" / "demo"


def bench_clips(folder: Path) -> tuple[Path, Path, Path | None, Path | None]:
    """A 10 s sound effect, its first second (a clip the speech gate is asked about), and where
    espeak-ng is installed a 10 s memo and one spoken word."""
    import soundfile as sf

    sound, rate = sf.read(str(DEMO / "sounds" / "alarm_clock.ogg"), dtype="float32", always_2d=True)
    sound_path = folder / "sound_10s.ogg"
    sf.write(str(sound_path), np.resize(sound, (10 * rate, sound.shape[1])), rate, format="OGG", subtype="VORBIS")
    short_path = folder / "sound_1s.wav"
    sf.write(str(short_path), sound[:rate], rate)
    speech_path = folder / "speech_10s.wav"
    text = "Remember to buy milk and bread on the way home, and call the garage about the car on Monday."
    try:
        subprocess.run(["espeak-ng", "-w", str(speech_path), text], check=True, capture_output=True)
        word_path = folder / "word.wav"
        subprocess.run(["espeak-ng", "-w", str(word_path), "umbrella"], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        return sound_path, short_path, None, None
    return sound_path, short_path, speech_path, word_path


def median_ms(fn, runs: int) -> float:
    fn()  # warm-up: sessions load lazily
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def bench(model_dir: Path, runs: int, sound: Path, speech: Path | None,
          word: Path | None = None, short: Path | None = None) -> dict[str, float | None]:
    acoustic = Embedder(model_dir, transcribe=False)
    row: dict[str, float | None] = {
        # 3:2, so a model with end views sees it three times; the square one once
        "image 3:2": median_ms(lambda: acoustic.embed_image([DEMO / "photos" / "coffee.jpg"]), runs),
        "image square": median_ms(lambda: acoustic.embed_image([DEMO / "photos" / "astronaut.jpg"]), runs),
        "text": median_ms(lambda: acoustic.embed_text(["a dog running on the beach at sunset"]), runs),
    }
    try:
        row["audio 10 s, no ASR"] = median_ms(lambda: acoustic.embed_audio([sound]), runs)
    except ModalityUnavailable:
        row["audio 10 s, no ASR"] = None
    speech_columns = ("audio 10 s speech, with ASR + speech head", "one spoken word, with ASR + speech head",
                      "sound 1 s, no ASR", "sound 1 s, with speech checks")
    row.update(dict.fromkeys(speech_columns))
    spoken = Embedder(model_dir, transcribe=True)
    if speech is not None and spoken.supports("audio") and spoken.speech_weights.transcript and spoken.transcriber():
        row["audio 10 s speech, with ASR + speech head"] = median_ms(lambda: spoken.embed_audio([speech]), runs)
        if word is not None:
            row["one spoken word, with ASR + speech head"] = median_ms(lambda: spoken.embed_audio([word]), runs)
        if short is not None:
            row["sound 1 s, no ASR"] = median_ms(lambda: acoustic.embed_audio([short]), runs)
            row["sound 1 s, with speech checks"] = median_ms(lambda: spoken.embed_audio([short]), runs)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, action="append")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, help="also write the table here (for training.model_card --timings)")
    args = parser.parse_args()
    models = args.model or [BUNDLED_MODEL_DIR, BASELINE_MODEL_DIR]
    with tempfile.TemporaryDirectory() as tmp:
        sound, short, speech, word = bench_clips(Path(tmp))
        rows = {Embedder(m, transcribe=False).model_id: bench(m, args.runs, sound, speech, word, short)
                for m in models}
    names = list(next(iter(rows.values())))
    lines = ["| model | " + " | ".join(f"{n} (ms)" for n in names) + " |", "|---" * (len(names) + 1) + "|"]
    for model, row in rows.items():
        cells = ["–" if row[n] is None else f"{row[n]:.1f}" for n in names]
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    print("\n".join(lines))
    if args.out:
        args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
