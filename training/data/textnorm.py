"""Small English text helpers: tokens, singular forms, head words (concepts), an English word list."""
from __future__ import annotations

import functools
import re

from training.data import sources

WORD_RE = re.compile(r"[a-z]+(?:[-'][a-z]+)*")

# modifiers dropped when looking for the head word of a short noun phrase
MODIFIERS = set("""
a an the of and with for in on at to from by or its his her their my your our this that these those
small little big large huge tiny tall short long old new young baby cute happy sad funny simple cartoon
red green blue yellow orange purple pink brown black white gray grey golden silver dark light bright colorful
left right front back side top bottom open closed full empty half two three four five single double
stylized style icon clipart clip art drawing picture image symbol sign outline filled version
""".split())

# too generic to be a held-out concept (would remove too much training data or is not a thing)
GENERIC = set("""
man woman men women boy girl person people child kid face head hand body thing object animal plant food
red green blue yellow orange purple pink brown black white gray grey color colour big small little
one two three four five six seven eight nine ten zero eleven twelve number letter alphabet
sign symbol icon button arrow line shape circle square star heart box dot mark flag
sound noise music note tone beep click hit drum bass kick snare loop perc
world earth map house home water fire light sun day night time air
""".split())


def tokens(text: str) -> list[str]:
    return WORD_RE.findall(text.lower().replace("_", " "))


def singular(word: str) -> str:
    w = word
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 4 and re.search(r"(ches|shes|sses|xes|zes|oes)$", w):
        return w[:-2]
    if len(w) > 3 and w.endswith("s") and not re.search(r"(ss|us|is|ous)$", w):
        return w[:-1]
    return w


@functools.lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    path = sources.source_root("words") / "usr/share/dict/american-english"
    words = set()
    if path.exists():
        for line in path.read_text(encoding="utf-8", errors="ignore").splitlines():
            w = line.strip()
            if w and w.isalpha() and w.islower():  # proper names start with a capital letter
                words.add(w)
    return frozenset(words)


def is_english_word(w: str) -> bool:
    ew = english_words()
    return w in ew or singular(w) in ew


def clean_phrase(text: str) -> str:
    text = text.replace("_", " ").replace("\u2019", "'")
    text = re.sub(r"\s+", " ", text).strip(" .,:;-")
    return text


def head(phrase: str, vocab: frozenset[str] | set[str] = frozenset()) -> str:
    """Normalised head word of a short noun phrase ("A black cat." -> "cat")."""
    toks = [t for t in tokens(phrase) if not t.isdigit() and len(t) > 1]
    content = [t for t in toks if t not in MODIFIERS] or toks
    if not content:
        return ""
    if len(content) >= 2:
        two = singular(content[-2]) + " " + singular(content[-1])
        if two in vocab:
            return two
        two_raw = content[-2] + " " + singular(content[-1])
        if two_raw in vocab:
            return two_raw
    return singular(content[-1])
