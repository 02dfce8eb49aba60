"""Vector-only, keyword-only and fused ranking on queries with known answers
(docs/experiments/hybrid-search.md).

Run by hand: `python bench/hybrid.py [--weights 1 2 3 4 6] [--json results.json]`.

The library is the demo library (resources/demo) plus the coco-mini photos (../shared/data), copied
into a temporary folder and indexed through the one door. The queries are built from the files
themselves, so nobody picks answers by hand:

* note words: words of a note that no other item holds (by name, text or transcript), at least 5
  letters, not in its own name, up to 6 per note spread over the text; answer: that note.
* note word pairs: two adjacent words (4+ letters each) of a note that no other item holds side by
  side (each word alone may be common); up to 6 per note; answer: that note.
* memo words: the same, from what each speech memo says (its text in resources/demo/CREDITS.md,
  not the transcript the index made of it); answer: that memo.
* file names: each demo file's name as words (`chelsea_the_cat` → "chelsea the cat"); answer: the
  file(s) of that name.
* captions dev / test: coco-mini's human captions of each photo; answer: that photo. Semantic
  queries where keywords should not hurt; dev is where the weight is chosen, test only reports.

Each query is a search through the engine (limit 10, every kind), as the CLI and GUI make it.
Reported per group and method: R@1, R@10 and MRR (reciprocal rank of the first answer, 0 past 10).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout, no install

from core.library import DEMO_LIBRARY_DIR, Library, Query  # noqa: E402
from core.search import fusion  # noqa: E402
from core.store.keywords import name_words  # noqa: E402

COCO = REPO.parent / "shared" / "data" / "coco-mini"
WORD = re.compile(r"\w+")
LIMIT = 10
PER_ITEM = 6


def build_library(folder: Path) -> tuple[Library, dict[str, list]]:
    """The demo library and the coco-mini photos, indexed; plus the coco captions per photo path."""
    library_dir = folder / "library"
    shutil.copytree(DEMO_LIBRARY_DIR, library_dir)
    captions: dict[str, list] = {"captions dev": [], "captions test": []}
    for split, group in (("dev", "captions dev"), ("test", "captions test")):
        manifest = COCO / f"{split}.jsonl"
        if not manifest.exists():
            continue
        for line in manifest.read_text().splitlines():
            record = json.loads(line)
            target = library_dir / "coco" / Path(record["image"]).name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(COCO / record["image"], target)
            captions[group] += [(text, {str(target)}) for text in record["text"]]
    library = Library(folder / "library.db")
    started = time.perf_counter()
    library.index([library_dir])
    print(f"indexed {library.status()['total']} items in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return library, captions


def spoken_memos() -> dict[str, str]:
    """{memo file name: what it says}, from the demo's credits."""
    credits = (DEMO_LIBRARY_DIR / "CREDITS.md").read_text()
    return dict(re.findall(r"`memos/(memo_\d+\.wav)`: \"([^\"]+)\"", credits))


def words(text: str) -> list[str]:
    return [w.lower() for w in WORD.findall(text)]


def pairs(text: str) -> list[str]:
    """Adjacent words of at least 4 letters each, as "word word"."""
    found = words(text)
    return [f"{a} {b}" for a, b in zip(found, found[1:]) if a.isalpha() and b.isalpha() and min(len(a), len(b)) >= 4]


def spread(candidates: list[str], n: int) -> list[str]:
    if len(candidates) <= n:
        return candidates
    return [candidates[round(i * (len(candidates) - 1) / (n - 1))] for i in range(n)]


def word_groups(library: Library) -> dict[str, list]:
    """Exact-word and file-name queries built from the demo files' own text and names."""
    spoken = spoken_memos()
    texts: dict[str, str] = {}
    for item in library.store.all_items():
        name, body = library.store.keyword_row(item.id) or ("", "")
        texts[item.path] = name + "\n" + spoken.get(Path(item.path).name, body)
    frequency = Counter(w for text in texts.values() for w in set(words(text)))
    pair_frequency = Counter(p for text in texts.values() for p in set(pairs(text)))
    groups: dict[str, list] = {"note words": [], "note word pairs": [], "memo words": [], "file names": []}
    for item in library.store.all_items():
        path = Path(item.path)
        if "coco" in path.parts:
            continue
        own_name = set(words(name_words(item.path)))
        body = texts[item.path].split("\n", 1)[1]
        unique = list(dict.fromkeys(w for w in words(body) if frequency[w] == 1 and w not in own_name
                                    and w.isalpha() and len(w) >= 5))
        group = "note words" if item.kind == "text" else "memo words" if path.name in spoken else None
        if group:
            groups[group] += [(w, {item.path}) for w in spread(unique, PER_ITEM)]
        if item.kind == "text":
            unique_pairs = list(dict.fromkeys(p for p in pairs(body) if pair_frequency[p] == 1))
            groups["note word pairs"] += [(p, {item.path}) for p in spread(unique_pairs, PER_ITEM)]
        same_name = {p for p in texts if "coco" not in Path(p).parts and name_words(p) == name_words(item.path)}
        groups["file names"].append((name_words(item.path), same_name))
    return groups


def rank_of(hits, answers: set[str]) -> int | None:
    return next((rank for rank, hit in enumerate(hits, 1) if hit.item.path in answers), None)


def evaluate(library: Library, queries: list, fuse: str, weight: float, gate: float, vectors: dict) -> dict:
    engine = library.search_engine
    engine.keyword_weight, engine.keyword_min_share = weight, gate
    ranks = []
    for text, answers in queries:
        if text not in vectors:
            vectors[text] = engine.query_vector(Query.text(text))
        hits = engine.search(vectors[text], limit=LIMIT, keywords=Query.text(text).keyword_text, fuse=fuse)
        ranks.append(rank_of(hits, answers))
    n = len(ranks)
    return {"n": n, "R@1": sum(r == 1 for r in ranks) / n, "R@10": sum(r is not None for r in ranks) / n,
            "MRR": sum(1 / r for r in ranks if r) / n}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", type=float, nargs="+", default=[4, 6, 8],
                        help="calibrated fusion's keyword weights to try")
    parser.add_argument("--gates", type=float, nargs="+", default=[0, 0.5, 0.7, 0.8],
                        help="least keyword share fused (keyword matches below it are left out)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        library, captions = build_library(Path(tmp))
        with library:
            groups = {**word_groups(library), **{k: v for k, v in captions.items() if v}}
            methods = [("vector", fusion.VECTOR, 0.0, 0.0), ("keywords", fusion.KEYWORDS, 0.0, 0.0)]
            methods += [(f"rrf k={fusion.RRF_K} gate={g:g}", fusion.RRF, 0.0, g) for g in args.gates]
            methods += [(f"calibrated w={w:g} gate={g:g}", fusion.CALIBRATED, w, g)
                        for w in args.weights for g in args.gates]
            vectors: dict = {}
            results = {group: {label: evaluate(library, queries, fuse, weight, gate, vectors)
                               for label, fuse, weight, gate in methods}
                       for group, queries in groups.items()}
    print("| group | n | method | R@1 | R@10 | MRR |\n|---|---|---|---|---|---|")
    for group, by_method in results.items():
        for label, scores in by_method.items():
            print(f"| {group} | {scores['n']} | {label} | {scores['R@1']:.3f} | {scores['R@10']:.3f} "
                  f"| {scores['MRR']:.3f} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
