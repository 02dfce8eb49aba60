"""Audio tower speed: milliseconds per 10 s of audio, ONNX runtime path vs aisfx in torch eager.

    NUMBA_CACHE_DIR=/tmp/numba-cache python bench/embed_audio.py [--trunk DIR/audio_trunk.onnx]
        [--runs 5] [--threads 2] [--hops 51200 102400] (first = reference hop)

Without --trunk it exports the trunk into a temp folder first (needs torch + aisfx + librosa).
The test clips are 10 s long, written from a demo sound: 48 kHz stereo Ogg Vorbis (decode, downmix
and resampling all count) and 44.1 kHz mono WAV. Per clip and path the median of --runs runs is
printed; "ratio" is torch / ONNX (higher is better). Also prints, for each extra hop, the cosine
of its pooled vector to the default hop's on the demo sounds (what a cheaper hop would cost).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from core.model.audio import AudioTower  # noqa: E402
from training import export_audio_trunk as E  # noqa: E402

DEMO_SOUNDS = REPO / "resources" / "demo" / "sounds"


def make_clips(folder: Path) -> list[Path]:
    import soundfile as sf

    source, rate = sf.read(str(DEMO_SOUNDS / "alarm_clock.ogg"), dtype="float32", always_2d=True)
    stereo48 = np.resize(source, (10 * rate, source.shape[1]))  # tile to 10 s
    ogg = folder / "ten_seconds_48k_stereo.ogg"
    sf.write(str(ogg), stereo48, rate, format="OGG", subtype="VORBIS")
    import soxr

    mono44 = soxr.resample(stereo48.mean(1), rate, 44100)[: 10 * 44100]
    wav = folder / "ten_seconds_44k_mono.wav"
    sf.write(str(wav), mono44, 44100, subtype="PCM_16")
    return [ogg, wav]


def median_ms(fn, runs: int) -> float:
    fn()  # warm-up (session creation, numba, caches)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main(argv=None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trunk", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--hops", type=int, nargs="*", default=[E.AISFX_HOP_SAMPLES, E.HOP_SAMPLES])
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    tmp = Path(tempfile.mkdtemp(prefix="bench-audio-"))
    trunk = args.trunk or (E.export(tmp) and tmp / E.TRUNK_FILE)
    clips = make_clips(tmp)
    net = E.load_embedding_net()
    settings = E.runtime_settings()
    # aisfx's own hop runs with aisfx's blocking (tail dropped); other hops keep the tail.
    towers = {hop: AudioTower(trunk, None, settings["sample_rate"], settings["block_samples"], hop,
                              keep_tail=hop != E.AISFX_HOP_SAMPLES, threads=args.threads) for hop in args.hops}
    default = towers[args.hops[0]]

    print(f"trunk {trunk} ({trunk.stat().st_size / 1e6:.1f} MB), threads {args.threads}, "
          f"median of {args.runs} runs, ms per 10 s of audio")
    print(f"{'clip':32s} {'path':28s} {'ms':>8s} {'ratio':>7s}")
    results = []
    for clip in clips:
        torch_ms = median_ms(lambda: E.reference_features(clip, net).mean(0), args.runs)
        load_ms = median_ms(lambda: default.load(clip), args.runs)
        print(f"{clip.name:32s} {'torch eager (librosa+aisfx)':28s} {torch_ms:8.1f} {'1.00':>7s}")
        print(f"{clip.name:32s} {'onnx: load+resample only':28s} {load_ms:8.1f}")
        for hop, tower in towers.items():
            blocks = len(tower.blocks(tower.load(clip)))
            ms = median_ms(lambda: tower.pooled_features(clip), args.runs)
            label = f"onnx hop {hop} ({blocks} blocks)"
            print(f"{clip.name:32s} {label:28s} {ms:8.1f} {torch_ms / ms:7.2f}")
            results.append({"clip": clip.name, "hop": hop, "blocks": blocks, "onnx_ms": round(ms, 1),
                            "torch_ms": round(torch_ms, 1), "ratio": round(torch_ms / ms, 2)})
    if len(args.hops) > 1:
        print("pooled cosine of each hop to hop", args.hops[0], "on the demo sounds:")
        for path in sorted(DEMO_SOUNDS.glob("*.ogg")):
            base = default.pooled_features(path)
            row = [f"{float(t.pooled_features(path) @ base / np.linalg.norm(t.pooled_features(path)) / np.linalg.norm(base)):.4f}"
                   for t in list(towers.values())[1:]]
            print(f"  {path.name:24s} {' '.join(row)}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
