"""Isolated spoken words for the speech head: every word of the training texts, said by espeak-ng.

    .venv/bin/python -m training.data.spoken_words [--takes 32]

The speech head (training.speech_head) learns to place a short recording near the text of what
was said, from Whisper's encoder states. The prepared espeak items are mostly phrases said by
four fixed voices, so single words by many voices, speeds and pitches are rendered here. The
vocabulary is the words of `prepared/train.jsonl`'s texts; words that match a validation or test
concept are dropped, as everywhere in training. Nothing comes from an evaluation set.

Writes `prepared/spoken_words.jsonl` ({"id", "audio", "text", "voice"} per line); the WAVs live in
`rendered/spoken-words/` and are skipped when present (re-runnable).
"""
from __future__ import annotations

import argparse
import json
import random
import re
from collections import Counter

from training import workdir
from training.data import heldout
from training.data.media import WORKERS, _speak_job, safe_name

SEED = 20261126
# espeak-ng English voices and the variant voices layered on them (`-v en-us+f2`): accents × timbres.
ACCENTS = ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan", "en-gb-x-gbcwmd"]
VARIANTS = ["", "+m1", "+m2", "+m3", "+m4", "+m5", "+m7", "+f1", "+f2", "+f3", "+f4", "+f5",
            "+Andy", "+Annie", "+Denis", "+linda", "+Michael", "+john", "+max", "+grandma", "+grandpa", "+klatt", "+klatt3"]
WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


def training_vocabulary() -> list[str]:
    """Words (≥ 2 letters) of the training texts, minus any that name a held-out concept."""
    counts = Counter()
    for line in (workdir.prepared_dir() / "train.jsonl").open(encoding="utf-8"):
        for text in json.loads(line).get("text") or []:
            counts.update(w for w in WORD.findall(text.lower()) if len(w) >= 2)
    held = heldout.Matcher(heldout.read_list(heldout.VAL_FILE) + heldout.read_list(heldout.TEST_FILE))
    return sorted(w for w in counts if not held.matches({"concept": "", "text": [w]}))


def voice_arguments(rng: random.Random) -> list[str]:
    accent, variant = rng.choice(ACCENTS), rng.choice(VARIANTS)
    return ["-v", accent + variant, "-s", str(rng.randint(120, 200)), "-p", str(rng.randint(25, 75))]


def render(takes: int) -> list[dict]:
    from concurrent.futures import ProcessPoolExecutor

    out_dir = workdir.rendered_dir("spoken-words")
    rows, jobs = [], []
    for word in training_vocabulary():
        for take in range(takes):
            # seeded per word and take: more takes later keep the voices of the earlier ones
            voice = voice_arguments(random.Random(f"{SEED}:{word}:{take}"))
            path = out_dir / f"{safe_name(f'{word}|{take}')}.wav"
            rows.append({"id": f"word:{word}:{take}", "audio": str(path), "text": word, "voice": " ".join(voice)})
            if not path.exists():
                jobs.append((word, voice, str(path)))
    if jobs:
        with ProcessPoolExecutor(WORKERS) as pool:
            list(pool.map(_speak_job, jobs, chunksize=64))
    return [r for r in rows if (out_dir / r["audio"]).exists()]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    # Speech-head R@1 on held-out human words grew with every doubling: 4 takes 0.383, 8 0.546,
    # 16 0.598, 32 0.633.
    parser.add_argument("--takes", type=int, default=32, help="renders per word, each with its own voice")
    args = parser.parse_args(argv)
    rows = render(args.takes)
    path = workdir.prepared_dir() / "spoken_words.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
    print(f"{len(rows)} spoken words ({len({r['text'] for r in rows})} words) -> {path}")


if __name__ == "__main__":
    main()
