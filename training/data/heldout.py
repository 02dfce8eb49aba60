"""Held-out concepts (validation and test) and the rule that keeps them out of training.

The lists are chosen once, deterministically (seeded), and committed as
``concepts_validation.txt`` / ``concepts_test.txt``; later runs read the committed files, so the
split never drifts. An item is removed from training when its concept, or any word / phrase of its
texts (word boundary, case-insensitive, plural "s"/"es" allowed), is a held-out concept.
"""
from __future__ import annotations

import random
import re
from collections import defaultdict
from pathlib import Path

from training.data.textnorm import GENERIC, is_english_word, tokens

HERE = Path(__file__).resolve().parent
VAL_FILE = HERE / "concepts_validation.txt"
TEST_FILE = HERE / "concepts_test.txt"
SEED = 20261126
TEST_SOUND_SHARE = 0.33
VAL_SOUND_SHARE = 0.20
TEST_IMAGE_CONCEPTS = 170
VAL_IMAGE_CONCEPTS = 90
MAX_REMOVED_PER_CONCEPT = 40  # a held-out concept may not knock out more training items than this
NOT_CONCRETE = set("""
collection core gender warning point drop page price off kit pop friend grin aerobic score record scale board
machine vehicle temperature kingdom stack patch screen mobile tick taller error information question message
complete login logout change ready added removed lost capture attention envelop trap lane path ground dirt
elder illustration volume yield ahead short rating mate class fair game pair peace picture land winter bump
firewall crossing cleaner china auto real tribe herd stream store drink drawn entry experience republic
stripper hitch well beige example chile hub pick squirt tag spike cash fry stage server disc cold cent
male pal user trip verdure pant sole cross flash post heat part step match summer chief prize meal
""".split())
NON_NOUN_CATEGORIES = {"letters", "numbers", "colors", "adjectives", "actions", "emotions", "other", "sports"}

HEADER = """# {kind} concepts of Trimodal-Bind: held out, they NEVER appear in training.
# Chosen deterministically (seed {seed}) by training/data/heldout.py and then frozen here.
# Every training item whose concept, or any word of whose texts (word boundary, case-insensitive,
# plural s/es), matches one of these lines is removed from train.jsonl.
# {note}
"""


def item_words(item: dict) -> str:
    return " " + " ".join(tokens(" ".join(item.get("text") or []) + " " + item["concept"])) + " "


def concept_pattern(concept: str) -> re.Pattern:
    words = tokens(concept)
    body = r"\s+".join(re.escape(w) for w in words)
    return re.compile(r"(?<![a-z'-])" + body + r"(?:s|es)?(?![a-z'-])")


class Matcher:
    """Finds items that mention any of a set of concepts."""

    def __init__(self, concepts):
        self.concepts = sorted(set(concepts))
        self.by_first = defaultdict(list)
        for c in self.concepts:
            first = tokens(c)[0] if tokens(c) else c
            self.by_first[first].append((c, concept_pattern(c)))

    def matches(self, item: dict) -> set[str]:
        hit = set()
        if item["concept"] in self.concepts:
            hit.add(item["concept"])
        text = item_words(item)
        toks = set(text.split())
        cands = set()
        for t in toks:
            for form in (t, t[:-1] if t.endswith("s") else None, t[:-2] if t.endswith("es") else None):
                if form and form in self.by_first:
                    cands.add(form)
        for first in cands:
            for c, pat in self.by_first[first]:
                if pat.search(text):
                    hit.add(c)
        return hit


def read_list(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [l.strip() for l in path.read_text().splitlines() if l.strip() and not l.startswith("#")]


def write_list(path: Path, kind: str, concepts: list[str], note: str) -> None:
    path.write_text(HEADER.format(kind=kind, seed=SEED, note=note) + "\n".join(sorted(concepts)) + "\n")


def choose(items: list[dict], art4apps_category: dict[str, str]) -> tuple[list[str], list[str]]:
    """Pick (validation, test) concepts from all raw items."""
    image_c, sound_c, speech_c = defaultdict(int), defaultdict(int), set()
    for it in items:
        c = it["concept"]
        if it.get("image"):
            image_c[c] += 1
        if it.get("audio") and it.get("audio_kind") == "sound":
            sound_c[c] += 1
        if it["source"] == "art4apps-speech":
            speech_c.add(c)
    a4a_nouns = {w.replace("_", " ").lower() for w, cat in art4apps_category.items()
                 if cat not in NON_NOUN_CATEGORIES}
    non_noun = {w.replace("_", " ").lower() for w, cat in art4apps_category.items() if cat in NON_NOUN_CATEGORIES}

    def ok(c: str) -> bool:
        toks = tokens(c)
        return (bool(toks) and len(c) >= 3 and " ".join(toks) == c and len(toks) <= 2
                and c not in GENERIC and not any(t in GENERIC for t in toks) and c not in non_noun
                and image_c[c] > 0 and c not in NOT_CONCRETE
                and all(t.isalpha() and is_english_word(t) for t in toks)  # no names, flags, run-ons
                and (c in a4a_nouns or not re.search(r"(ing|ed|ly)$", c))
                and (c in a4a_nouns or image_c[c] >= 2 or sound_c.get(c, 0) > 0))

    cands = sorted(c for c in image_c if ok(c))
    matcher = Matcher(cands)
    removed = defaultdict(int)
    for it in items:
        for c in matcher.matches(it):
            removed[c] += 1
    cands = [c for c in cands if removed[c] <= MAX_REMOVED_PER_CONCEPT]

    rnd = random.Random(SEED)
    sound = [c for c in cands if sound_c[c] > 0]
    rnd.shuffle(sound)
    n_test, n_val = round(TEST_SOUND_SHARE * len(sound)), round(VAL_SOUND_SHARE * len(sound))
    test, val = sound[:n_test], sound[n_test:n_test + n_val]

    chosen = set(test) | set(val)
    # the rest: concrete nouns with images, half with a human English recording (speech evaluation)
    rest_speech = [c for c in cands if not sound_c.get(c) and c in speech_c]
    rest_other = [c for c in cands if not sound_c.get(c) and c not in speech_c]
    rnd.shuffle(rest_speech)
    rnd.shuffle(rest_other)
    pool = []
    for a, b in zip(rest_speech, rest_other):
        pool += [a, b]
    n = min(len(rest_speech), len(rest_other))
    pool += rest_speech[n:] + rest_other[n:]

    def related(c: str, others: set[str]) -> bool:  # avoid "cat" in test and "cats"/"wildcat" in val
        return any(c in o.split() or o in c.split() for o in others)

    for c in pool:
        if len(test) >= TEST_IMAGE_CONCEPTS and len(val) >= VAL_IMAGE_CONCEPTS:
            break
        if c in chosen or related(c, chosen):
            continue
        if len(test) < TEST_IMAGE_CONCEPTS and (len(val) >= VAL_IMAGE_CONCEPTS or len(test) <= 2 * len(val)):
            test.append(c)
        else:
            val.append(c)
        chosen.add(c)
    return sorted(val), sorted(test)
