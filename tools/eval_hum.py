"""Evaluate hum-to-search on the set tools.hum_set builds: top-1, top-5 and MRR of the melody channel
(vector candidates, then alignment) against plain baselines in the same run.

    python -m tools.eval_hum [--set DIR] [--candidates 50] [--baselines]

Methods: `melody` (the app's: melody-vector candidates re-ranked by alignment), `melody-vector`
(the candidates' own order), `melody-align-all` (alignment against every recording), and with
--baselines `chroma-dtw` (chroma features, subsequence DTW, best of 12 key rotations) and
`semantic` (the trimodal model's audio embedding, cosine).
"""

from __future__ import annotations

import argparse
import json
import pickle
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from core.melody import alignment_score, melody_of, melody_vector
from core.melody.presence import has_melody


def _load(path: Path):
    audio, rate = sf.read(path, dtype="float32", always_2d=True)
    return audio.mean(axis=1), rate


def melodies(paths: list[Path], cache: Path) -> dict:
    known = pickle.loads(cache.read_bytes()) if cache.exists() else {}
    out = {}
    for path in paths:
        key = (str(path), path.stat().st_mtime)
        if key not in known:
            known[key] = melody_of(*_load(path))
        out[path] = known[key]
    cache.write_bytes(pickle.dumps(known))
    return out


def ranks_of(scores: dict, target) -> int:
    ordered = sorted(scores, key=lambda k: -scores[k])
    return ordered.index(target) + 1 if target in scores else len(scores) + 1


def summary(ranks: list[int]) -> dict:
    ranks = np.asarray(ranks)
    return {"top1": float(np.mean(ranks == 1)), "top5": float(np.mean(ranks <= 5)), "mrr": float(np.mean(1 / ranks))}


def chroma(audio, rate):
    import librosa

    return librosa.feature.chroma_cqt(y=librosa.resample(audio, orig_sr=rate, target_sr=11025), sr=11025,
                                      hop_length=2048)


def chroma_dtw_cost(query, reference) -> float:
    import librosa

    best = np.inf
    for shift in range(12):
        rolled = np.roll(query, shift, axis=0)
        cost, path = librosa.sequence.dtw(X=rolled, Y=reference, metric="cosine", subseq=True)
        best = min(best, float(cost[-1].min()) / rolled.shape[1])
    return -best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", type=Path, default=Path.home() / ".cache" / "trimodal-bind-hum")
    parser.add_argument("--candidates", type=int, default=50)
    parser.add_argument("--baselines", action="store_true")
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = parser.parse_args()
    lines = [json.loads(line) for line in (args.set / "queries.jsonl").read_text().splitlines()]
    library = sorted((args.set / "library").iterdir())
    started = time.perf_counter()
    references = melodies(library, args.set / "melodies.pkl")
    print(f"melodies of {len(library)} recordings: {time.perf_counter() - started:.1f} s")
    kept = {p: m for p, m in references.items() if has_melody(m)}
    vectors = {p: melody_vector(m) for p, m in kept.items()}
    vectors = {p: v for p, v in vectors.items() if v is not None}
    print(f"{len(vectors)} of {len(library)} recordings hold a melody "
          f"({sum(1 for p in vectors if p.name.startswith('tune_'))} tunes, "
          f"{sum(1 for p in vectors if not p.name.startswith('tune_'))} other)")
    paths = list(vectors)
    matrix = np.stack([vectors[p] for p in paths])
    queries = melodies([args.set / line["query"] for line in lines], args.set / "query_melodies.pkl")
    results: dict[str, dict[str, list[int]]] = {}
    seconds = []

    def record(method, timbre, rank):
        results.setdefault(method, {}).setdefault(timbre, []).append(rank)
        results[method].setdefault("all", []).append(rank)

    for line in lines:
        query = queries[args.set / line["query"]]
        target = args.set / line["target"]
        clock = time.perf_counter()
        vector = melody_vector(query)
        cosine = matrix @ vector if vector is not None else np.zeros(len(paths))
        top = np.argsort(-cosine)[: args.candidates]
        reranked = {paths[i]: alignment_score(query, kept[paths[i]]) + 1e-3 * cosine[i] for i in top}
        seconds.append(time.perf_counter() - clock)
        record("melody", line["timbre"], ranks_of(reranked, target))
        record("melody-vector", line["timbre"], ranks_of(dict(zip(paths, cosine)), target))
        everything = {p: alignment_score(query, m) for p, m in kept.items()}
        record("melody-align-all", line["timbre"], ranks_of(everything, target))
    if args.baselines:
        _baselines(args.set, lines, library, record)
    figures = {method: {timbre: summary(r) for timbre, r in by.items()} for method, by in results.items()}
    print(f"queries: {len(lines)}; melody search {1000 * np.median(seconds):.1f} ms median, "
          f"{1000 * np.percentile(seconds, 95):.1f} ms p95 (after the query's melody)")
    print(f"{'method':18} {'timbre':8} {'top1':>6} {'top5':>6} {'mrr':>6}")
    for method, by in figures.items():
        for timbre, s in by.items():
            print(f"{method:18} {timbre:8} {s['top1']:6.3f} {s['top5']:6.3f} {s['mrr']:6.3f}")
    if args.out:
        args.out.write_text(json.dumps(figures, indent=1))


def _baselines(root: Path, lines, library, record) -> None:
    from core.library import load_model

    model = load_model()
    from core.model.modality import Modality

    embed = lambda paths: model.embed(Modality.AUDIO, [str(p) for p in paths]).vectors  # noqa: E731
    library_vectors = np.stack(embed(library))
    query_paths = [root / line["query"] for line in lines]
    query_vectors = np.stack(embed(query_paths))
    chromas = {p: chroma(*_load(p)) for p in library}
    for line, qv, qp in zip(lines, query_vectors, query_paths):
        target = root / line["target"]
        record("semantic", line["timbre"], ranks_of(dict(zip(library, library_vectors @ qv)), target))
        qc = chroma(*_load(qp))
        record("chroma-dtw", line["timbre"], ranks_of({p: chroma_dtw_cost(qc, c) for p, c in chromas.items()}, target))


if __name__ == "__main__":
    main()
