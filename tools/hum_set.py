"""Build the hum-to-search evaluation set: public-domain tunes rendered with real instrument samples,
placed among distractors, and hummed, sung and whistled queries of them with realistic faults.

Nobody picks the answers: tunes are drawn by a seeded shuffle of Ryan's Mammoth Collection (1883,
public domain; the ABC encodings ship in music21's corpus), rendered with FluidSynth and the
FluidR3 GM soundfont (Debian `fluid-soundfont-gm`, MIT). Each query is a 5-10 s stretch of one
tune starting mid-tune, transposed by up to 5 semitones, 30 % faster or slower, with one or two
wrong notes, vibrato and pitch drift, in a synthetic hum, "la"-sung or whistled voice, under noise
at 10-20 dB SNR.

    python -m tools.hum_set [--out DIR] [--targets 30] [--distractor-tunes 170]

Writes DIR/library/ (the recordings to index) and DIR/queries/ with DIR/queries.jsonl naming each
query's target. Needs the dev set-up plus `fluidsynth`, `fluid-soundfont-gm` and `espeak-ng`.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

RATE = 16000  # Hz, the sample rate of every file the set holds
SOUNDFONT = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
# (GM program, name): melody instruments of a folk tune's recording
INSTRUMENTS = [(73, "flute"), (40, "violin"), (0, "piano"), (71, "clarinet"), (24, "guitar"),
               (56, "trumpet"), (21, "accordion"), (68, "oboe")]
REFERENCE_SECONDS = 30.0
SPEECH = [
    "Remember to buy milk, eggs and bread on the way home.", "The meeting moved to Thursday at ten.",
    "Call the plumber about the kitchen sink.", "Notes from the lecture on river erosion.",
    "Happy birthday, grandma, we miss you.", "The train to the coast leaves at seven fifteen.",
    "Ideas for the garden: tomatoes, beans and a small pond.", "Pick up the kids from football practice.",
    "The recipe needs two cups of flour and a pinch of salt.", "Don't forget the dentist on Monday.",
]


def tune_files() -> list[str]:
    from music21 import corpus

    return sorted(glob.glob(os.path.join(os.path.dirname(corpus.__file__), "ryansMammoth", "*.abc")))


def tune_notes(path: str) -> tuple[str, list[tuple[int, float]]] | None:
    """(title, [(midi pitch, length in quarter notes)]) of a tune's melody; None if it is not a
    plain single-line melody of at least 40 notes."""
    from music21 import converter

    try:
        score = converter.parse(path)
    except Exception:  # a few encodings in the corpus do not parse; they are just not drawn
        return None
    elements = list(score.flatten().notesAndRests)
    if any(e.isChord for e in elements):
        return None
    notes = [(e.pitch.midi if e.isNote else -1, float(e.quarterLength)) for e in elements if e.quarterLength > 0]
    if sum(1 for p, _ in notes if p >= 0) < 40:
        return None
    title = score.metadata.title if score.metadata and score.metadata.title else Path(path).stem
    return title, notes


def seconds_per_quarter(notes, rng) -> float:
    """A tempo at which the tune's typical note lasts 0.25-0.45 s: singable, as people hum it."""
    median = float(np.median([length for _, length in notes]))
    return rng.uniform(0.25, 0.45) / median


def render(notes, program: int, spq: float, seconds: float, bass: bool) -> np.ndarray:
    import fluidsynth

    synth = fluidsynth.Synth(samplerate=float(RATE))
    font = synth.sfload(SOUNDFONT)
    synth.program_select(0, font, 0, program)
    synth.program_select(1, font, 0, 32)  # acoustic bass
    out, elapsed, beat = [], 0.0, 0.0
    for midi, length in notes:
        if elapsed >= seconds:
            break
        total = int(length * spq * RATE)
        if bass and beat <= elapsed and midi >= 0:
            synth.noteon(1, midi - 24, 55)
            beat = elapsed + 2 * spq
        if midi >= 0:
            synth.noteon(0, midi, 100)
            held = int(total * 0.9)
            out.append(synth.get_samples(held))
            synth.noteoff(0, midi)
            out.append(synth.get_samples(total - held))
        else:
            out.append(synth.get_samples(total))
        elapsed += total / RATE
    out.append(synth.get_samples(RATE // 2))
    synth.delete()
    audio = np.concatenate(out).reshape(-1, 2).mean(axis=1).astype(np.float32) / 32768.0
    return audio / max(1e-6, float(np.max(np.abs(audio)))) * 0.8


def _voice_wave(f0: np.ndarray, timbre: str, rng) -> np.ndarray:
    phase = 2 * np.pi * np.cumsum(f0) / RATE
    if timbre == "whistle":
        breath = np.convolve(rng.normal(0, 1, f0.size), np.ones(8) / 8, mode="same")
        return np.sin(phase) + 0.05 * breath
    harmonics = 12 if timbre == "hum" else 30
    wave = np.zeros(f0.size)
    for k in range(1, harmonics + 1):
        frequency = k * f0
        if timbre == "hum":  # a closed-mouth "mm": strong fundamental, little above 1 kHz
            gain = k ** -1.5 / (1 + (frequency / 900.0) ** 4)
        else:  # an open "ah": formants near 700, 1200 and 2600 Hz
            gain = k ** -0.8 * sum(a * np.exp(-((frequency - f) / w) ** 2)
                                   for f, w, a in ((700, 150, 1.0), (1220, 200, 0.6), (2600, 300, 0.3)))
        wave += gain * np.sin(k * phase)
    return wave


def voice(pitches, lengths, timbre: str, rng) -> np.ndarray:
    """A synthetic human rendition: glides between notes, vibrato, slow drift, breath dips."""
    counts = [max(1, int(length * RATE)) for length in lengths]
    target = np.concatenate([np.full(c, p, dtype=np.float64) for p, c in zip(pitches, counts)])
    glide = int(0.03 * RATE)
    target = np.convolve(np.pad(target, glide, mode="edge"), np.ones(glide) / glide, mode="same")[glide:-glide]
    t = np.arange(target.size) / RATE
    vibrato = rng.uniform(0.15, 0.35) * np.sin(2 * np.pi * rng.uniform(4.5, 6.5) * t + rng.uniform(0, 6))
    drift = np.linspace(0, rng.uniform(-0.6, 0.6), target.size)
    f0 = 440.0 * 2 ** ((target + vibrato + drift - 69) / 12)
    wave = _voice_wave(f0, timbre, rng)
    envelope = np.ones(target.size)
    edge = 0
    for c in counts:  # sung "la"s and whistles break between notes; a hum only dips
        dip = int(0.04 * RATE)
        envelope[edge: edge + dip] = np.linspace(0.05 if timbre != "hum" else 0.5, 1, dip)[: len(envelope[edge: edge + dip])]
        edge += c
    wave *= envelope
    return (wave / max(1e-6, float(np.max(np.abs(wave))))).astype(np.float32)


def with_noise(wave: np.ndarray, rng, noise_pool: list[np.ndarray]) -> np.ndarray:
    snr_db = rng.uniform(10, 20)
    if noise_pool and rng.random() < 0.5:
        source = noise_pool[rng.integers(len(noise_pool))]
        noise = np.resize(source, wave.size).astype(np.float64)  # babble or a sound from the room
    else:
        noise = np.cumsum(rng.normal(0, 1, wave.size))  # brown-ish rumble ...
        noise = np.diff(noise, prepend=0) * 0.5 + noise / max(1.0, np.abs(noise).max()) * 0.5
    signal_power = float(np.mean(wave.astype(np.float64) ** 2))
    noise_power = float(np.mean(noise ** 2)) or 1.0
    mixed = wave + noise * np.sqrt(signal_power / noise_power / 10 ** (snr_db / 10))
    return (mixed / max(1e-6, float(np.max(np.abs(mixed)))) * 0.7).astype(np.float32)


def query_of(notes, spq: float, rng, timbre: str, noise_pool) -> tuple[np.ndarray, dict]:
    """A 5-10 s rendition of a stretch of the tune, starting mid-tune, with the faults above."""
    sounded = [(p, length * spq) for p, length in notes if p >= 0]
    tempo = rng.uniform(0.7, 1.3)
    seconds = rng.uniform(5, 10)
    reference_notes = 0
    elapsed = 0.0
    for _, length in sounded:  # the query stays within the recorded first 30 s
        elapsed += length
        reference_notes += 1
        if elapsed > REFERENCE_SECONDS - 1:
            break
    longest_start = max(1, reference_notes - int(seconds / (np.median([s for _, s in sounded]) * tempo)))
    start = int(rng.integers(1, longest_start)) if longest_start > 1 else 0
    pitches, lengths, total = [], [], 0.0
    for p, length in sounded[start:]:
        if total >= seconds:
            break
        pitches.append(float(p))
        lengths.append(length * tempo)
        total += length * tempo
    shift = int(rng.integers(-5, 6))
    register = {"hum": 52, "sing": 57, "whistle": 79}[timbre]  # where that voice sits
    octave = 12 * round((register - (np.median(pitches) + shift)) / 12)
    pitches = [p + shift + octave for p in pitches]
    wrong = int(rng.integers(1, 3))
    for index in rng.choice(len(pitches), size=min(wrong, len(pitches)), replace=False):
        pitches[index] += float(rng.choice([-2, -1, 1, 2]))
    wave = with_noise(voice(pitches, lengths, timbre, rng), rng, noise_pool)
    return wave, {"start_note": start, "notes": len(pitches), "seconds": round(total, 2), "transpose": shift,
                  "tempo": round(tempo, 3), "wrong_notes": wrong, "timbre": timbre}


def speech(text: str, voice_name: str, path: Path) -> None:
    with tempfile.NamedTemporaryFile(suffix=".wav") as raw:
        subprocess.run(["espeak-ng", "-v", voice_name, "-w", raw.name, text], check=True, capture_output=True)
        audio, rate = sf.read(raw.name, dtype="float32")
    import soxr

    sf.write(path, soxr.resample(audio, rate, RATE), RATE)


def build(out: Path, targets: int, distractor_tunes: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    library, queries = out / "library", out / "queries"
    shutil.rmtree(out, ignore_errors=True)
    library.mkdir(parents=True)
    queries.mkdir()
    files = tune_files()
    rng.shuffle(files)
    tunes = []
    for path in files:
        parsed = tune_notes(path)
        if parsed:
            tunes.append((path, *parsed))
        if len(tunes) == targets + distractor_tunes:
            break
    speech_files = []
    for i, text in enumerate(SPEECH * 3):
        path = library / f"memo_{i:02d}.wav"
        speech(text, ["en-us", "en", "en-gb-x-rp"][i // len(SPEECH)], path)
        speech_files.append(path)
    noise_pool = [sf.read(p, dtype="float32")[0] for p in speech_files[:5]]
    sounds_dir = Path(__file__).resolve().parent.parent / "resources" / "demo" / "sounds"
    for sound in sorted(sounds_dir.glob("*.ogg")):
        shutil.copy(sound, library / sound.name)
    lines = []
    for number, (path, title, notes) in enumerate(tunes):
        program, instrument = INSTRUMENTS[rng.integers(len(INSTRUMENTS))]
        spq = seconds_per_quarter(notes, rng)
        bass = bool(rng.random() < 1 / 3)
        name = f"tune_{number:03d}_{instrument}{'_band' if bass else ''}.wav"
        sf.write(library / name, render(notes, program, spq, REFERENCE_SECONDS, bass), RATE)
        if number >= targets:
            continue
        for timbre in ("hum", "sing", "whistle"):
            wave, faults = query_of(notes, spq, rng, timbre, noise_pool)
            query_name = f"q{number:03d}_{timbre}.wav"
            sf.write(queries / query_name, wave, RATE)
            lines.append({"query": f"queries/{query_name}", "target": f"library/{name}", "title": title,
                          "source": Path(path).name, **faults})
    (out / "queries.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    print(f"{len(list(library.iterdir()))} recordings in {library}, {len(lines)} queries in {queries}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path.home() / ".cache" / "trimodal-bind-hum")
    parser.add_argument("--targets", type=int, default=30)
    parser.add_argument("--distractor-tunes", type=int, default=170)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    build(args.out, args.targets, args.distractor_tunes, args.seed)


if __name__ == "__main__":
    main()
