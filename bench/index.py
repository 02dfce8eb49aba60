"""Indexing speed on real files, through the door (`Library.index`), per kind, with all cores and
with one (the baseline, measured in the same run: other processes share this machine).

    nice -n 10 .venv/bin/python bench/index.py [--threads N] [--photos 40] [--notes 240] [--json OUT]

The media, written once into a temp folder:
- photos: COCO photos (../shared/data/coco-mini, test and dev) resized to 1-4 MP (random per photo,
  seeded), saved as JPEG quality 90 — real pictures at the sizes phones and cameras give;
- recordings without speech: the demo library's sounds, and 25-30 s clips joined from them
  (48/44.1 kHz Ogg Vorbis and WAV);
- recordings with speech: the demo memos and Free Spoken Digit recordings (8 kHz);
- notes: the COCO photos' captions, five to a note (.txt).
Each (kind, threads) run indexes its folder into a fresh database in a child process: the model
is loaded and every tower (and Whisper) warmed up before timing, so the figures are the
indexing's own. Reported: items/s, audio real-time factor (seconds of audio per second), peak RSS
of the child, CPU use while indexing (cores busy = CPU seconds / wall seconds), and the ratio of
each to the one-thread run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SHARED = REPO.parent / "shared" / "data"
DEMO = REPO / "resources" / "demo"
KINDS = ("photos", "sounds", "speech", "notes")
TARGETS = {"photos": "≥ 8 photos/s", "sounds": "≥ 20× real time", "notes": "≥ 200 notes/s", "speech": "—"}


# -- the media ----------------------------------------------------------------------------------
def coco_lines() -> list[dict]:
    lines = []
    for name in ("test.jsonl", "dev.jsonl"):
        with open(SHARED / "coco-mini" / name, encoding="utf-8") as handle:
            lines += [json.loads(line) for line in handle if line.strip()]
    return lines


def write_photos(folder: Path, count: int, chance: random.Random) -> None:
    from PIL import Image

    folder.mkdir(parents=True)
    for n, line in enumerate(coco_lines()[:count]):
        with Image.open(SHARED / "coco-mini" / line["image"]) as image:
            image = image.convert("RGB")
            megapixels = chance.uniform(1.0, 4.0)
            scale = (megapixels * 1e6 / (image.width * image.height)) ** 0.5
            size = (round(image.width * scale), round(image.height * scale))
            image.resize(size, Image.LANCZOS).save(folder / f"photo_{n:03d}.jpg", quality=90)


def write_sounds(folder: Path, chance: random.Random) -> None:
    import numpy as np
    import soundfile as sf
    import soxr

    folder.mkdir(parents=True)
    sounds = sorted((DEMO / "sounds").iterdir())
    clips = []
    for path in sounds:
        (folder / path.name).write_bytes(path.read_bytes())
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
        mono = data.mean(axis=1)
        clips.append(mono if rate == 44100 else soxr.resample(mono, rate, 44100))
    for n in range(8):
        parts, length = [], 0
        while length < chance.uniform(25, 30) * 44100:
            part = clips[chance.randrange(len(clips))]
            parts.append(part)
            length += len(part)
        joined = np.concatenate(parts)
        suffix = "ogg" if n % 2 else "wav"
        sf.write(str(folder / f"joined_{n}.{suffix}"), joined, 44100,
                 **({"format": "OGG", "subtype": "VORBIS"} if suffix == "ogg" else {"subtype": "PCM_16"}))


def write_speech(folder: Path) -> None:
    folder.mkdir(parents=True)
    for path in sorted((DEMO / "memos").iterdir()):
        (folder / path.name).write_bytes(path.read_bytes())
    for path in sorted((SHARED / "fsdd-test").glob("*.wav"))[:20]:
        (folder / path.name).write_bytes(path.read_bytes())


def write_notes(folder: Path, count: int) -> None:
    folder.mkdir(parents=True)
    lines = coco_lines()
    for n in range(count):
        captions = lines[n % len(lines)]["text"]
        captions = captions if isinstance(captions, list) else [captions]
        (folder / f"note_{n:03d}.txt").write_text("\n".join(captions) + "\n", encoding="utf-8")


def audio_seconds(folder: Path) -> float:
    import soundfile as sf

    return sum(sf.info(str(p)).duration for p in folder.iterdir())


# -- one measured run (a child process) --------------------------------------------------------------
def warm_up(embedder) -> None:
    import numpy as np
    from PIL import Image

    from core.model import Waveform

    embedder.embed("text", ["a warm-up"])
    embedder.embed("image", [Image.new("RGB", (320, 240), (120, 90, 60))])
    memo = DEMO / "memos" / "memo_01.wav"
    embedder.embed("audio", [str(memo), Waveform(np.zeros(44100, np.float32), 44100)])


def worker(folder: Path, threads: int, only_embed: bool = False) -> dict:
    from core.library import Library, load_model

    if only_embed:  # leave out the other registered tasks (melody, …) to time embedding alone
        from core.index.pipeline import TASKS

        for name in [n for n in TASKS if n != "embed"]:
            del TASKS[name]

    model = load_model(threads=threads)
    warm_up(model)
    with tempfile.TemporaryDirectory() as scratch, Library(Path(scratch) / "bench.db", embedder=model,
                                                           threads=threads) as library:
        library.add_folder(folder)
        cpu_before, wall_before = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        result = library.index()
        wall = time.perf_counter() - wall_before
        cpu_after = resource.getrusage(resource.RUSAGE_SELF)
        embedding = result.embedding
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    return {"items": embedding.embedded + embedding.metadata_only, "failed": len(embedding.failed),
            "seconds": wall, "embed_seconds": embedding.seconds, "cores_busy": cpu / wall,
            "peak_rss_mb": cpu_after.ru_maxrss / 1024}


def measure(folder: Path, threads: int, only_embed: bool) -> dict:
    command = [sys.executable, __file__, "--worker", str(folder), "--threads", str(threads)]
    out = subprocess.run(command + (["--only-embed"] if only_embed else []), capture_output=True, text=True,
                         check=False)
    if out.returncode != 0:
        raise RuntimeError(f"worker failed on {folder}:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--photos", type=int, default=40)
    parser.add_argument("--notes", type=int, default=240)
    parser.add_argument("--kinds", nargs="*", default=list(KINDS), choices=KINDS)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--only-embed", action="store_true", help="time the embed task alone (no melody, …)")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.threads, args.only_embed)))
        return
    chance = random.Random(37)
    rows = {}
    with tempfile.TemporaryDirectory() as media:
        media = Path(media)
        writers = {"photos": lambda f: write_photos(f, args.photos, chance), "sounds": lambda f: write_sounds(f, chance),
                   "speech": write_speech, "notes": lambda f: write_notes(f, args.notes)}
        for kind in args.kinds:
            writers[kind](media / kind)
        for kind in args.kinds:
            folder = media / kind
            seconds_of_audio = audio_seconds(folder) if kind in ("sounds", "speech") else None
            try:
                runs = {threads: measure(folder, threads, args.only_embed) for threads in (args.threads, 1)}
            except RuntimeError as exc:
                print(f"\n{kind}: {exc}")
                continue
            row = {"files": len(list(folder.iterdir())), "audio_seconds": seconds_of_audio}
            for threads, run in runs.items():
                label = "all" if threads == args.threads else "one"
                row[label] = {**run, "items_per_s": run["items"] / run["seconds"],
                              "real_time_factor": seconds_of_audio / run["seconds"] if seconds_of_audio else None}
            row["speed_up"] = row["all"]["items_per_s"] / row["one"]["items_per_s"]
            rows[kind] = row
            report(kind, row, args.threads)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


def report(kind: str, row: dict, threads: int) -> None:
    print(f"\n{kind}: {row['files']} files" + (f", {row['audio_seconds']:.0f} s of audio" if row["audio_seconds"] else "")
          + f"  (target {TARGETS[kind]})")
    for label in ("all", "one"):
        run = row[label]
        rtf = f", {run['real_time_factor']:.1f}× real time" if run["real_time_factor"] else ""
        print(f"  {threads if label == 'all' else 1} thread(s): {run['items_per_s']:.1f} items/s{rtf}, "
              f"{run['seconds']:.1f} s, cores busy {run['cores_busy']:.2f}, peak RSS {run['peak_rss_mb']:.0f} MB"
              + (f", {run['failed']} failed" if run["failed"] else ""))
    print(f"  speed-up over one thread: {row['speed_up']:.2f}×")


if __name__ == "__main__":
    main()
