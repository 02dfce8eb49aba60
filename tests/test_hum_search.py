"""Hum to search through the door and the CLI, on a real library: recordings of sung tunes, a spoken
memo and a photo indexed by the real indexer (embed, then melody jobs), searched by a hummed
rendition with faults; the melody follows the file when it changes or goes."""

from __future__ import annotations

import os
import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf

from core.library import Library, QueryError
from tests.conftest import DEMO, required_tool, run_cli
from tools.hum_set import RATE, voice, with_noise

TUNES = {
    "ode.wav": [64, 64, 65, 67, 67, 65, 64, 62, 60, 60, 62, 64, 64, 62, 62, 64, 64, 65, 67, 67, 65, 64],
    "twinkle.wav": [60, 60, 67, 67, 69, 69, 67, 65, 65, 64, 64, 62, 62, 60, 67, 67, 65, 65, 64, 64, 62],
    "frere.wav": [60, 62, 64, 60, 60, 62, 64, 60, 64, 65, 67, 64, 65, 67, 67, 69, 67, 65, 64, 60],
    "scale.wav": [60, 62, 64, 65, 67, 69, 71, 72, 71, 69, 67, 65, 64, 62, 60, 64, 67, 72, 67, 64],
}


def write_tune(path, pitches, seconds_each=0.35, timbre="sing", seed=0):
    wave = voice([float(p) for p in pitches], [seconds_each] * len(pitches), timbre, np.random.default_rng(seed))
    sf.write(path, wave, RATE)


@pytest.fixture(scope="module")
def hum_library(tmp_path_factory):
    folder = tmp_path_factory.mktemp("music")
    for seed, (name, pitches) in enumerate(TUNES.items()):
        write_tune(folder / name, pitches, seed=seed)
    subprocess.run([required_tool("espeak-ng"), "-w", str(folder / "memo.wav"),
                    "Remember to water the plants and call the garage about the car on Monday morning."],
                   check=True, capture_output=True)
    photo = next((DEMO / "photos").iterdir())
    shutil.copy(photo, folder / photo.name)
    now = os.stat(folder / "ode.wav").st_mtime
    os.utime(folder / photo.name, (now, now))  # taken the same day as the recordings
    db = tmp_path_factory.mktemp("db") / "library.db"
    with Library(db) as library:
        library.index([folder])
    return folder, db


def hummed_query(path, pitches, shift=-5, tempo=0.8, wrong_at=5):
    """A stretch of the tune from its 4th note, in another key, slower, one note wrong, in noise."""
    notes = [p + shift for p in pitches[3:17]]
    notes[wrong_at] += 1
    wave = voice([float(p) for p in notes], [0.35 * tempo] * len(notes), "hum", np.random.default_rng(11))
    sf.write(path, with_noise(wave, np.random.default_rng(2), []), RATE)


def test_recordings_get_a_melody_and_speech_says_it_has_none(hum_library):
    folder, db = hum_library
    with Library(db) as library:
        jobs = dict(((path, state), reason) for path, state, reason in library.store.conn.execute(
            "SELECT items.path, jobs.state, jobs.reason FROM jobs JOIN items ON items.id = jobs.item_id "
            "WHERE jobs.task = 'melody'"))
        assert library.store.melody_count() == len(TUNES)
    assert all((str(folder / name), "done") in jobs for name in TUNES)
    assert "no tune" in jobs[(str(folder / "memo.wav"), "skipped")]
    assert not any(path.endswith(".jpg") or path.endswith(".png") for path, _ in jobs)  # photos have no melody job


def test_a_hummed_rendition_finds_its_recording_with_what_came_with_it(hum_library, tmp_path):
    folder, db = hum_library
    query = tmp_path / "hummed.wav"
    hummed_query(query, TUNES["ode.wav"])
    with Library(db) as library:
        hits = library.search_hum(str(query))
        samples, rate = sf.read(query, dtype="float32")
        from_memory = library.search_hum(samples, rate)
    assert hits and os.path.basename(hits[0].item.path) == "ode.wav", [(h.item.path, h.score) for h in hits]
    assert [h.item.path for h in from_memory][:1] == [hits[0].item.path]
    assert 0.6 <= hits[0].score <= 1.0
    assert 0.5 <= hits[0].at_seconds <= 2.5  # the query starts at the 4th note (1.05 s)
    assert [c.kind for c in hits[0].companions] == ["image"]
    with Library(db) as library:
        assert library.search_hum(str(query), folder=folder)[0].item.path == hits[0].item.path
        assert library.search_hum(str(query), before="2001-01-01") == []  # nothing that old


def test_a_query_without_a_tune_is_refused_with_a_reason(hum_library, tmp_path):
    _, db = hum_library
    silence = tmp_path / "silence.wav"
    sf.write(silence, np.zeros(RATE * 3, np.float32), RATE)
    with Library(db) as library, pytest.raises(QueryError, match="no tune heard"):
        library.search_hum(str(silence))


def test_cli_search_hum_names_the_recording_its_time_and_its_companions(hum_library, tmp_path):
    _, db = hum_library
    query = tmp_path / "hummed.wav"
    hummed_query(query, TUNES["twinkle.wav"], shift=3, tempo=1.2)
    result = run_cli("--db", str(db), "search", "--hum", str(query))
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert "twinkle.wav" in first and " from 0:0" in first
    assert "with this recording:" in result.stdout


def one_song_library(tmp_path, pitches, seconds_each):
    """A folder holding one sung tune, song.wav, indexed into library.db: (folder, db)."""
    folder = tmp_path / "songs"
    folder.mkdir()
    write_tune(folder / "song.wav", pitches, seconds_each)
    db = tmp_path / "library.db"
    with Library(db) as library:
        library.index([folder])
    return folder, db


def test_the_melody_follows_the_file_when_it_changes_or_goes(tmp_path):
    folder, db = one_song_library(tmp_path, TUNES["scale.wav"], 0.25)
    with Library(db) as library:
        song = library.store.item_by_path(str(folder / "song.wav"))
        before = library.store.melody_notes([song.id])[song.id]
        write_tune(folder / "song.wav", TUNES["frere.wav"], 0.25, seed=4)  # same name, another tune
        library.index()
        song = library.store.item_by_path(str(folder / "song.wav"))
        after = library.store.melody_notes([song.id])[song.id]
        assert not np.array_equal(before, after)
        (folder / "song.wav").unlink()
        library.index()
        assert library.store.melody_count() == 0
        assert library.store.vector_count("melody") == 0


def test_melodies_from_an_older_extractor_are_made_again(tmp_path):
    """A library indexed by an earlier release (another pitch tracker) gets every recording's melody
    queued again once the library binds the current model, and the index run rebuilds them: old and
    new notes never mix."""
    folder, db = one_song_library(tmp_path, TUNES["twinkle.wav"], 0.3)
    with Library(db) as library:
        song = library.store.item_by_path(str(folder / "song.wav"))
        current = library.store.channel("melody").model_id
        library.store.conn.execute("UPDATE channels SET model_id = 'melody-intervals-1-d256' WHERE name = 'melody'")
        library.store.conn.execute("UPDATE melody_notes SET notes = ?", (np.zeros(3, np.float32).tobytes(),))
        library.store.conn.commit()
    with Library(db) as library:
        library.bind_model()  # what index and search do first
        assert library.store.melody_count() == 0  # the old notes went with the old extractor
        assert library.store.count_jobs("melody") == 1
        library.index()
        assert library.store.channel("melody").model_id == current
        notes = library.store.melody_notes([song.id])[song.id]
        assert len(notes) >= 5 and notes[:, 0].min() > 50  # real notes again, not the planted row
