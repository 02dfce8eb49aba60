"""Pictures to 256-px PNG on white, MP3 to WAV, and espeak-ng speech; all cached under rendered/.

Work runs in 2 processes and skips every output file that already exists.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
from concurrent.futures import ProcessPoolExecutor

from training import workdir

SIZE = 256
WORKERS = 2
VOICES = [  # (tag, espeak-ng arguments)
    ("us", ["-v", "en-us"]),
    ("gb", ["-v", "en-gb", "-s", "160"]),
    ("f3", ["-v", "en-us+f3", "-s", "150", "-p", "60"]),
    ("slow", ["-v", "en-us+m3", "-s", "140", "-p", "70"]),
]


def safe_name(item_id: str) -> str:
    base = "".join(c if c.isalnum() or c in "-_" else "_" for c in item_id)[-80:]
    return f"{base}_{hashlib.sha1(item_id.encode()).hexdigest()[:8]}"


def _image_job(args: tuple[str, str]) -> str | None:
    src, dst = args
    if os.path.exists(dst):
        return dst
    from PIL import Image
    tmp = dst + ".tmp.png"
    try:
        if src.endswith(".svg"):
            r = subprocess.run(["rsvg-convert", "-w", str(SIZE), "-h", str(SIZE), "--keep-aspect-ratio",
                                "-b", "white", "-o", tmp, src], capture_output=True, timeout=60)
            if r.returncode != 0:
                return None
            im = Image.open(tmp)
        else:
            im = Image.open(src)
            im.load()
        im = im.convert("RGBA")
        im.thumbnail((SIZE, SIZE), Image.LANCZOS)
        canvas = Image.new("RGB", (SIZE, SIZE), "white")
        canvas.paste(im, ((SIZE - im.width) // 2, (SIZE - im.height) // 2), im)
        canvas.save(tmp, "PNG", optimize=False)
        os.replace(tmp, dst)
        return dst
    except Exception:
        if os.path.exists(tmp):
            os.remove(tmp)
        return None


def normalise_images(items: list[dict], name: str) -> None:
    """Set item["image"] to a 256-px white-background PNG made from item["image_src"]."""
    out = workdir.rendered_dir(name)
    jobs = []
    for it in items:
        src = it.pop("image_src", None)
        it["image"] = None
        if src:
            jobs.append((it, (src, str(out / (safe_name(it["id"]) + ".png")))))
    todo = [j for _, j in jobs if not os.path.exists(j[1])]
    if todo:
        with ProcessPoolExecutor(WORKERS) as ex:
            list(ex.map(_image_job, todo, chunksize=16))
    for it, (_, dst) in jobs:
        it["image"] = dst if os.path.exists(dst) else None


def mp3_to_wav(items: list[dict], name: str) -> None:
    import soundfile as sf
    out = workdir.rendered_dir(name)
    for it in items:
        a = it.get("audio")
        if a and a.endswith(".mp3"):
            dst = out / (safe_name(it["id"]) + ".wav")
            if not dst.exists():
                x, sr = sf.read(a)
                sf.write(dst, x, sr, subtype="PCM_16")
            it["audio"] = str(dst)


def _speak_job(args: tuple[str, list[str], str]) -> str | None:
    text, voice, dst = args
    if os.path.exists(dst):
        return dst
    tmp = dst + ".tmp.wav"
    r = subprocess.run(["espeak-ng", *voice, "-w", tmp, text], capture_output=True, timeout=60)
    if r.returncode != 0 or not os.path.exists(tmp):
        return None
    os.replace(tmp, dst)
    return dst


def speak(requests: list[tuple[str, str, str]]) -> dict[tuple[str, str], str]:
    """requests: (key, text, voice tag) -> {(key, tag): wav path} for the wavs that exist."""
    out = workdir.rendered_dir("speech")
    voice = dict(VOICES)
    jobs, paths = [], {}
    for key, text, tag in requests:
        dst = str(out / f"{safe_name(key + '|' + text)}_{tag}.wav")
        paths[(key, tag)] = dst
        if not os.path.exists(dst):
            jobs.append((text, voice[tag], dst))
    if jobs:
        with ProcessPoolExecutor(WORKERS) as ex:
            list(ex.map(_speak_job, jobs, chunksize=32))
    return {k: v for k, v in paths.items() if os.path.exists(v)}
