"""Prepare the training data of Trimodal-Bind, end to end and re-runnably.

    .venv/bin/python -m training.data.prepare [--only SOURCE ...] [--reselect]

Stages: tools -> fetch -> collect -> media -> held-out -> speech -> write. Everything downloaded,
rendered and written lives in the training cache (training.workdir), outside the repository; the
held-out concept lists are the only files written into the repository (once, when missing, or with
--reselect). See training/data/README.md.
"""
from __future__ import annotations

import argparse
import json
import random
import time
from collections import Counter, defaultdict
from pathlib import Path

from training import workdir
from training.data import heldout, sources

ALL_SOURCES = ["art4apps", "tuxpaint", "openclipart", "openmoji", "sonic-pi", "freedesktop", "yaru", "ovos",
               "gm", "hydrogen"]
FETCH_FOR = {"openclipart": ["openclipart", "openclipart-svg"], "art4apps": []}
SPEECH_TEXTS = 1500
VOICES_PER_TEXT = 3
SEED = 20261126
EVAL_EXTRA_IMAGES = 3
EVAL_EXTRA_SOUNDS = 6


class Stages:
    def __init__(self):
        self.times = {}
        self.t0 = time.time()

    def run(self, name, fn, *a, **k):
        print(f"== {name}", flush=True)
        t = time.time()
        out = fn(*a, **k)
        self.times[name] = round(time.time() - t, 1)
        print(f"   {name}: {self.times[name]:.1f} s", flush=True)
        return out


def fetch(selected):
    sources.ensure_python_deps()
    missing = sources.ensure_tools()
    if missing:
        print(f"  !! missing tools: {missing}")
    names = ["words"]
    for s in selected:
        names += FETCH_FOR.get(s, [s])
    sources.fetch_all(set(names))


def collect(selected):
    from training.data import collect as C
    vocab = C.art4apps_vocab()
    raw, word_cat = {}, {}
    if "art4apps" in selected:
        a, s, word_cat = C.art4apps_items()
        raw["art4apps"], raw["art4apps-speech"] = a, s
    makers = {
        "tuxpaint": lambda: C.tuxpaint_items(vocab), "openclipart": lambda: C.openclipart_items(vocab),
        "openmoji": lambda: C.openmoji_items(vocab), "sonic-pi": lambda: C.sonic_pi_items(vocab),
        "freedesktop": lambda: C.event_sound_items("freedesktop", "freedesktop",
                                                   "CC BY / CC BY-SA 3.0 / GPL-2 (sound-theme-freedesktop; see copyright)"),
        "yaru": lambda: C.event_sound_items("yaru", "Yaru", "CC BY-SA 4.0 / GPL-3 (yaru-theme-sound; see copyright)"),
        "ovos": C.ovos_items, "hydrogen": C.hydrogen_items,
    }
    for name, make in makers.items():
        if name in selected:
            try:
                raw[name] = make()
            except Exception as e:
                print(f"  !! {name}: {e}")
    if "gm" in selected:
        from training.data import gm
        try:
            raw["gm"] = gm.render()
        except Exception as e:
            print(f"  !! gm: {e}")
    for k, v in raw.items():
        print(f"   {k:16s} {len(v):6d} items")
    return raw, word_cat


def media(raw):
    from training.data import media as M
    for name, items in raw.items():
        t = time.time()
        M.normalise_images(items, name)
        M.mp3_to_wav(items, name)
        print(f"   {name:16s} images {sum(1 for i in items if i['image']):6d}  ({time.time() - t:.1f} s)", flush=True)


def modalities(it):
    return [m for m in ("image", "audio", "text") if it.get(m)]


def select_heldout(all_items, word_cat, reselect, partial):
    val, test = heldout.read_list(heldout.VAL_FILE), heldout.read_list(heldout.TEST_FILE)
    if (not val or not test or reselect) and not partial:
        val, test = heldout.choose(all_items, word_cat)
        note = "Sources when chosen: " + ", ".join(sorted({i["source"] for i in all_items})) + "."
        heldout.write_list(heldout.VAL_FILE, "Validation", val, note)
        heldout.write_list(heldout.TEST_FILE, "Test", test, note)
        print(f"   chose {len(val)} validation and {len(test)} test concepts (written to the repo)")
    else:
        print(f"   read {len(val)} validation and {len(test)} test concepts from the repo")
    if not val or not test:
        raise SystemExit("no held-out lists: run once without --only")
    return val, test


def split(all_items, val, test):
    mv, mt = heldout.Matcher(val), heldout.Matcher(test)
    train, val_items, test_items = [], [], []
    removed = Counter()
    for it in all_items:
        hv, ht = mv.matches(it), mt.matches(it)
        if not hv and not ht:
            train.append(it)
            continue
        removed[it["source"]] += 1
        if it["concept"] in test:
            test_items.append(it)
        elif it["concept"] in val:
            val_items.append(it)
    return train, val_items, test_items, removed


def speech(train):
    """espeak-ng renders of short training texts, as separate speech items."""
    from training.data import media as M
    rnd = random.Random(SEED)
    cands = [it for it in train if it["source"] not in ("art4apps-speech",) and it.get("text")]
    rnd.shuffle(cands)
    seen_text, first, second = set(), [], []
    seen_concept = set()
    for it in cands:
        text = min(it["text"], key=len)
        if len(text.split()) > 6 or len(text) < 3 or text.lower() in seen_text:
            continue
        seen_text.add(text.lower())
        (second if it["concept"] in seen_concept else first).append((it, text))
        seen_concept.add(it["concept"])
    picked = (first + second)[:SPEECH_TEXTS]
    tags = [t for t, _ in M.VOICES]
    req = []
    for i, (it, text) in enumerate(picked):
        for j in range(VOICES_PER_TEXT):
            req.append((it["id"], text, tags[(i + j) % len(tags)]))
    wavs = M.speak(req)
    out = []
    by_id = {it["id"]: (it, text) for it, text in picked}
    for key, text, tag in req:
        if (key, tag) not in wavs:
            continue
        it, _ = by_id[key]
        out.append(dict(id=f"espeak-{tag}:{key}", source="espeak", concept=it["concept"], image=it.get("image"),
                        audio=wavs[(key, tag)], audio_kind="speech", text=[text],
                        licence=f"speech: espeak-ng output; text/image: {it['licence']}"))
    print(f"   {len(picked)} texts x {VOICES_PER_TEXT} voices = {len(out)} speech items")
    return out


KEYS = ["id", "source", "concept", "image", "audio", "audio_kind", "text", "licence"]


def write_jsonl(path: Path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def clean(it):
    return {k: it.get(k) for k in KEYS}


SOURCE_RANK = {"tuxpaint": 0, "art4apps": 1, "openclipart": 2, "openmoji": 3}


def eval_manifests(held_items, concepts, prefix):
    """DATA.md manifests: <prefix>_concepts.jsonl and <prefix>_speech.jsonl."""
    by_c = defaultdict(list)
    for it in held_items:
        by_c[it["concept"]].append(it)
    rows, speech_rows = [], []
    stats = dict(concepts=0, concepts_with_image=0, concepts_with_sound=0, images=0, sound_clips=0,
                 speech_clips=0, concepts_with_speech=0)
    for c in sorted(concepts):
        its = by_c.get(c, [])
        imgs = sorted({(SOURCE_RANK.get(i["source"], 9), i["id"], i["image"]) for i in its
                       if i.get("image") and i["source"] in SOURCE_RANK})
        # prefer the picture that comes with a sound (Tux Paint stamps with an effect)
        with_sound = {i["image"] for i in its if i.get("image") and i.get("audio_kind") == "sound"}
        imgs.sort(key=lambda x: (x[2] not in with_sound, x[0], x[1]))
        imgs = [x[2] for x in imgs][:1 + EVAL_EXTRA_IMAGES]
        snds = sorted((i["id"], i["audio"], i.get("image")) for i in its if i.get("audio_kind") == "sound")
        snds.sort(key=lambda x: (x[2] not in imgs[:1] if x[2] else True, x[0]))
        snds = [x[1] for x in snds][:1 + EVAL_EXTRA_SOUNDS]
        stats["concepts"] += 1
        stats["concepts_with_image"] += bool(imgs)
        stats["concepts_with_sound"] += bool(snds)
        stats["images"] += len(imgs)
        stats["sound_clips"] += len(snds)
        slug = c.replace(" ", "_")
        first = {"id": f"{prefix}:{slug}", "text": c, "group": c}
        if imgs:
            first["image"] = imgs[0]
        if snds:
            first["audio"] = snds[0]
        rows.append(first)
        for k, im in enumerate(imgs[1:], 1):
            rows.append({"id": f"{prefix}:{slug}:image{k}", "image": im, "group": c})
        for k, a in enumerate(snds[1:], 1):
            rows.append({"id": f"{prefix}:{slug}:sound{k}", "audio": a, "group": c})
        sp = [i for i in its if i["source"] == "art4apps-speech"]
        stats["concepts_with_speech"] += bool(sp)
        for i in sp:
            row = {"id": f"{prefix}-speech:{i['id'].split(':', 1)[1]}", "audio": i["audio"], "text": c, "group": c,
                   "speaker": "art4apps-en"}
            if i.get("image"):
                row["image"] = i["image"]
            speech_rows.append(row)
            stats["speech_clips"] += 1
    return rows, speech_rows, stats


def pair_counts(items):
    combo = Counter("+".join(modalities(it)) for it in items)
    pairs = Counter()
    for it in items:
        m = modalities(it)
        for a in range(len(m)):
            for b in range(a + 1, len(m)):
                pairs[f"{m[a]}-{m[b]}"] += 1
    kinds = Counter(it.get("audio_kind") or "none" for it in items)
    return dict(combinations=dict(combo), pairs=dict(pairs), audio_kind=dict(kinds))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="+", choices=ALL_SOURCES, help="fetch and include only these sources")
    ap.add_argument("--reselect", action="store_true", help="choose the held-out lists again and rewrite them")
    args = ap.parse_args(argv)
    selected = args.only or ALL_SOURCES
    st = Stages()
    st.run("fetch", fetch, selected)
    raw, word_cat = st.run("collect", collect, selected)
    st.run("media", media, raw)
    all_items = []
    for items in raw.values():
        for it in items:
            it.pop("category", None)
            if len(modalities(it)) >= 2:
                all_items.append(it)
    ids = Counter(it["id"] for it in all_items)
    assert max(ids.values()) == 1, [k for k, v in ids.items() if v > 1][:5]
    val, test = st.run("held-out", select_heldout, all_items, word_cat, args.reselect, bool(args.only))
    train, val_items, test_items, removed = st.run("split", split, all_items, val, test)
    spoken = st.run("speech", speech, train)
    train = train + spoken

    # a partial run (--only) never overwrites the full outputs
    out = workdir.prepared_dir() / "partial" if args.only else workdir.prepared_dir()
    out.mkdir(parents=True, exist_ok=True)

    def write():
        write_jsonl(out / "train.jsonl", [clean(i) for i in train])
        write_jsonl(out / "val.jsonl", [clean(i) for i in val_items])
        res = {}
        for prefix, items, concepts in (("test", test_items, test), ("val", val_items, val)):
            rows, sp, stats = eval_manifests(items, concepts, prefix)
            write_jsonl(out / "eval" / f"{prefix}_concepts.jsonl", rows)
            write_jsonl(out / "eval" / f"{prefix}_speech.jsonl", sp)
            res[prefix] = stats
        return res

    evals = st.run("write", write)
    summary = {
        "cache": str(workdir.cache_root()),
        "output": str(out),
        "sources": args.only or "all",
        "train_items": len(train),
        "train_by_source": dict(Counter(i["source"] for i in train)),
        "train_modalities": pair_counts(train),
        "train_concepts": len({i["concept"] for i in train}),
        "heldout_removed_from_training": {"total": sum(removed.values()), "by_source": dict(removed)},
        "val_items": len(val_items),
        "test_items_held_out": len(test_items),
        "test": {"concept_list": len(test), **evals["test"]},
        "validation": {"concept_list": len(val), **evals["val"]},
        "stage_seconds": {**st.times, "total": round(time.time() - st.t0, 1)},
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    main()
