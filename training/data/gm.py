"""General MIDI instruments of FluidR3_GM rendered with fluidsynth: one short phrase per instrument.

One MIDI file plays every kept program in turn (a C major arpeggio, then a held note); one fluidsynth
run renders it and the result is cut into one WAV per instrument in ``rendered/gm/``.
"""
from __future__ import annotations

import shutil
import struct
import subprocess

import numpy as np
import soundfile as sf

from training import workdir
from training.data import sources

GM_NAMES = """Acoustic Grand Piano|Bright Acoustic Piano|Electric Grand Piano|Honky-tonk Piano|Electric Piano 1|Electric Piano 2|Harpsichord|Clavinet|Celesta|Glockenspiel|Music Box|Vibraphone|Marimba|Xylophone|Tubular Bells|Dulcimer|Drawbar Organ|Percussive Organ|Rock Organ|Church Organ|Reed Organ|Accordion|Harmonica|Tango Accordion|Acoustic Guitar (nylon)|Acoustic Guitar (steel)|Electric Guitar (jazz)|Electric Guitar (clean)|Electric Guitar (muted)|Overdriven Guitar|Distortion Guitar|Guitar Harmonics|Acoustic Bass|Electric Bass (finger)|Electric Bass (pick)|Fretless Bass|Slap Bass 1|Slap Bass 2|Synth Bass 1|Synth Bass 2|Violin|Viola|Cello|Contrabass|Tremolo Strings|Pizzicato Strings|Orchestral Harp|Timpani|String Ensemble 1|String Ensemble 2|Synth Strings 1|Synth Strings 2|Choir Aahs|Voice Oohs|Synth Choir|Orchestra Hit|Trumpet|Trombone|Tuba|Muted Trumpet|French Horn|Brass Section|Synth Brass 1|Synth Brass 2|Soprano Sax|Alto Sax|Tenor Sax|Baritone Sax|Oboe|English Horn|Bassoon|Clarinet|Piccolo|Flute|Recorder|Pan Flute|Blown Bottle|Shakuhachi|Whistle|Ocarina|Lead 1 (square)|Lead 2 (sawtooth)|Lead 3 (calliope)|Lead 4 (chiff)|Lead 5 (charang)|Lead 6 (voice)|Lead 7 (fifths)|Lead 8 (bass + lead)|Pad 1 (new age)|Pad 2 (warm)|Pad 3 (polysynth)|Pad 4 (choir)|Pad 5 (bowed)|Pad 6 (metallic)|Pad 7 (halo)|Pad 8 (sweep)|FX 1 (rain)|FX 2 (soundtrack)|FX 3 (crystal)|FX 4 (atmosphere)|FX 5 (brightness)|FX 6 (goblins)|FX 7 (echoes)|FX 8 (sci-fi)|Sitar|Banjo|Shamisen|Koto|Kalimba|Bagpipe|Fiddle|Shanai|Tinkle Bell|Agogo|Steel Drums|Woodblock|Taiko Drum|Melodic Tom|Synth Drum|Reverse Cymbal|Guitar Fret Noise|Breath Noise|Seashore|Bird Tweet|Telephone Ring|Helicopter|Applause|Gunshot""".split("|")

CONCEPT = {  # program -> concept; programs not listed (synth leads, pads, FX) are skipped
    **{p: "piano" for p in range(0, 6)}, 6: "harpsichord", 7: "clavinet", 8: "celesta", 9: "glockenspiel",
    10: "music box", 11: "vibraphone", 12: "marimba", 13: "xylophone", 14: "bell", 15: "dulcimer",
    **{p: "organ" for p in range(16, 21)}, 21: "accordion", 22: "harmonica", 23: "accordion",
    **{p: "guitar" for p in range(24, 32)}, **{p: "bass guitar" for p in range(32, 38)},
    40: "violin", 41: "viola", 42: "cello", 43: "double bass", 44: "violin", 45: "violin", 46: "harp",
    47: "timpani", 52: "choir", 53: "choir", 56: "trumpet", 57: "trombone", 58: "tuba", 59: "trumpet",
    60: "french horn", 61: "trumpet", 64: "saxophone", 65: "saxophone", 66: "saxophone", 67: "saxophone",
    68: "oboe", 69: "oboe", 70: "bassoon", 71: "clarinet", 72: "piccolo", 73: "flute", 74: "recorder",
    75: "pan flute", 76: "bottle", 77: "flute", 78: "whistle", 79: "ocarina", 104: "sitar", 105: "banjo",
    106: "shamisen", 107: "koto", 108: "kalimba", 109: "bagpipe", 110: "violin", 111: "oboe", 112: "bell",
    113: "bell", 114: "steel drum", 115: "wood block", 116: "drum", 117: "drum", 119: "cymbal",
    120: "guitar", 121: "breath", 122: "sea", 123: "bird", 124: "telephone", 125: "helicopter",
    126: "applause", 127: "gun",
}
EXTRA_TEXT = {122: "waves on the seashore", 123: "a bird tweeting", 124: "a telephone ringing",
              125: "a helicopter flying", 126: "people clapping, applause", 127: "a gunshot",
              121: "breathing", 120: "guitar fret noise", 114: "steel drums", 116: "taiko drum"}
SECONDS = 3.0
SF2 = "usr/share/sounds/sf2/FluidR3_GM.sf2"


def _vlq(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    return bytes(reversed(out))


def _midi(programs: list[int], tpq: int = 480) -> bytes:
    """Type-0 MIDI at 120 bpm (0.5 s per quarter): per program 6 quarters (3 s)."""
    ev = bytearray()
    ev += _vlq(0) + bytes([0xFF, 0x51, 3]) + (500000).to_bytes(3, "big")
    for p in programs:
        low = p in (32, 33, 34, 35, 36, 37, 43, 47, 57, 58, 70)
        base = 48 if low else 60
        ev += _vlq(0) + bytes([0xC0, p])
        notes = [base, base + 4, base + 7]
        for n in notes:  # arpeggio: three eighth notes
            ev += _vlq(0) + bytes([0x90, n, 100]) + _vlq(tpq // 2) + bytes([0x80, n, 0])
        ev += _vlq(0) + bytes([0x90, base + 12 if not low else base, 100])  # held note, 2.5 quarters
        ev += _vlq(int(tpq * 2.5)) + bytes([0x80, base + 12 if not low else base, 0])
        ev += _vlq(int(tpq * 2)) + bytes([0xB0, 123, 0])  # rest: 1 s of release, then all notes off
    ev += _vlq(0) + bytes([0xFF, 0x2F, 0])
    return (b"MThd" + struct.pack(">IHHH", 6, 0, 1, tpq) + b"MTrk" + struct.pack(">I", len(ev)) + bytes(ev))


def render() -> list[dict]:
    out_dir = workdir.rendered_dir("gm")
    sf2 = sources.source_root("gm") / SF2
    programs = sorted(CONCEPT)
    items = []
    done = all((out_dir / f"{p:03d}.wav").exists() for p in programs)
    if not done:
        if not sf2.exists() or not shutil.which("fluidsynth"):
            print("  !! gm: FluidR3_GM.sf2 or fluidsynth missing: skipped", flush=True)
            return []
        mid = out_dir / "all.mid"
        mid.write_bytes(_midi(programs))
        wav = out_dir / "all.wav"
        subprocess.run(["fluidsynth", "-ni", "-q", "-g", "0.8", "-r", "22050", "-F", str(wav), str(sf2), str(mid)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        audio, sr = sf.read(wav, always_2d=True)
        audio = audio.mean(axis=1)
        seg = int(SECONDS * sr)  # 3 s slot per program: 2 s of notes + 1 s of release
        for i, p in enumerate(programs):
            x = audio[i * seg:(i + 1) * seg]
            peak = float(np.abs(x).max()) if len(x) else 0.0
            if peak > 0:
                x = x / peak * 0.9
            sf.write(out_dir / f"{p:03d}.wav", x.astype(np.float32), sr, subtype="PCM_16")
        wav.unlink()
    for p in programs:
        name = GM_NAMES[p]
        clean = name.replace("(", "").replace(")", "").lower()
        clean = " ".join(w for w in clean.split() if not w.isdigit())
        texts = [clean, f"{clean} sound"]
        if p in EXTRA_TEXT:
            texts.insert(0, EXTRA_TEXT[p])
        else:
            texts.append(f"a {CONCEPT[p]} playing")
        items.append(dict(id=f"gm:{p:03d}", source="gm", concept=CONCEPT[p], image_src=None,
                          audio=str(out_dir / f"{p:03d}.wav"), audio_kind="sound", text=texts[:3],
                          licence="MIT (FluidR3_GM soundfont, fluid-soundfont-gm)"))
    return items
