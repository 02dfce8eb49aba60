"""Passages of long notes and segments of long recordings, on a real library: each part gets its own
vector, search names the passage or the time where the match is, and parts follow their file."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from core.library import Library
from tests.conftest import DEMO, run_cli

PARAGRAPHS = [
    "We left early and drove for hours through pine forests, stopping in small villages for coffee "
    "and to stretch our legs, while the radio played old songs and the road climbed into the hills.",
    "At the cabin we unpacked, found the wood stove, and spent the afternoon reading on the porch "
    "while clouds rolled over the ridge and the dog slept in the sun by the door.",
    "On the second day we baked sourdough bread: we fed the starter, kneaded the dough, shaped the "
    "loaves and waited for them to rise before baking them in the old iron oven until they crackled.",
    "In the evening we walked to the lake, counted the stars, and listened to the owls calling from "
    "the dark trees on the far shore while the water lapped against the wooden jetty.",
    "On the last night we watched a volcano erupting far away, red lava glowing against the black "
    "sky and ash drifting over the valley, a sight none of us will forget for a long time.",
    "The drive home was slow, with roadworks and rain, and we arrived tired but happy, already "
    "planning the next trip and promising ourselves to bake that bread again at home.",
]


@pytest.fixture(scope="module")
def parted(tmp_path_factory, embedder):
    folder = tmp_path_factory.mktemp("media")
    (folder / "mountain trip.md").write_text("\n\n".join(PARAGRAPHS))
    (folder / "short.md").write_text("A short note about tea.")
    meow, rate = sf.read(DEMO / "sounds" / "cat.ogg", dtype="float32", always_2d=True)
    meow = meow.mean(axis=1)
    quiet = np.random.default_rng(0).normal(0, 0.003, int(40 * rate)).astype(np.float32)
    cat = np.tile(meow, int(np.ceil(20 * rate / len(meow))))[: int(20 * rate)]
    sf.write(folder / "long recording.wav", np.concatenate([quiet, cat]), rate)  # the cat from 0:40
    db = tmp_path_factory.mktemp("db") / "library.db"
    with Library(db, embedder=embedder) as library:
        library.index([folder])
    return folder, db


def test_long_files_get_parts_and_short_ones_say_why_not(parted, embedder):
    folder, db = parted
    with Library(db, embedder=embedder) as library:
        note = library.store.item_by_path(str(folder / "mountain trip.md"))
        recording = library.store.item_by_path(str(folder / "long recording.wav"))
        assert library.store.part_count(note.id) >= 3
        assert library.store.part_count(recording.id) == 6  # 60 s in 10 s pieces
        assert library.store.part_vector_count() == library.store.part_count()
        reasons = dict(library.store.conn.execute(
            "SELECT items.path, jobs.reason FROM jobs JOIN items ON items.id = jobs.item_id "
            "WHERE jobs.task = 'parts' AND jobs.state = 'skipped'").fetchall())
    assert "short enough" in reasons[str(folder / "short.md")]


def test_a_hit_names_the_passage_and_the_time_that_matched(parted, embedder):
    _, db = parted
    with Library(db, embedder=embedder) as library:
        volcano = library.search_text("a volcano erupting with red lava", kinds=("text",), limit=1)[0]
        bread = library.search_text("kneading sourdough and baking loaves", kinds=("text",), limit=1)[0]
        meow = library.search_text("a cat meowing", kinds=("audio",), limit=1)[0]
    assert "volcano" in volcano.passage and "sourdough" in bread.passage
    assert meow.at_seconds is not None and 35 <= meow.at_seconds <= 50
    shown = run_cli("--db", str(db), "search", "--kind", "audio", "--limit", "1", "a cat meowing")
    assert shown.returncode == 0 and f"from 0:{int(meow.at_seconds):02d}" in shown.stdout, shown.stdout


def test_parts_follow_their_file(parted, embedder, tmp_path):
    folder, db = parted
    with Library(db, embedder=embedder) as library:
        note = folder / "mountain trip.md"
        note.write_text("\n\n".join(PARAGRAPHS[:2]))  # now short: its passages go
        library.index()
        item = library.store.item_by_path(str(note))
        assert library.store.part_count(item.id) == 0
        (folder / "long recording.wav").unlink()
        library.index()
        assert library.store.part_count() == 0 and library.store.part_vector_count() == 0
        assert library.store.bind_parts("another-model", embedder.dim, ["text", "audio"]) >= 1  # requeued
