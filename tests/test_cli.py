"""The command line end to end, in subprocesses, on a copy of the demo library."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from core.paths import BASELINE_MODEL_DIR
from tests.conftest import DEMO, run_cli


@pytest.fixture
def indexed(tmp_path, demo_copy):
    db = tmp_path / "cli.db"
    result = run_cli("--db", str(db), "index", str(demo_copy))
    assert result.returncode == 0, result.stderr
    return db, demo_copy


def search_json(db, *args):
    result = run_cli("--db", str(db), "search", "--json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_cat_finds_the_cat_photo_and_the_cat_note(indexed):
    db, library = indexed
    top3 = [hit["path"] for hit in search_json(db, "a cat")[:3]]
    assert str(library / "photos" / "chelsea_the_cat.jpg") in top3
    assert str(library / "notes" / "our_cat.md") in top3


def test_kind_filter_limit_and_file_query(indexed):
    db, library = indexed
    hits = search_json(db, "--kind", "image", "--limit", "4", "coffee")
    assert len(hits) == 4 and {h["kind"] for h in hits} == {"image"}
    assert hits[0]["path"] == str(library / "photos" / "coffee.jpg")
    query = library / "notes" / "coffee_recipe.txt"
    hits = search_json(db, "--file", str(query), "--limit", "5")
    paths = [h["path"] for h in hits]
    assert str(query) not in paths  # the query itself is not a result
    assert str(library / "photos" / "coffee.jpg") in paths[:3]


def test_search_usage_errors_are_clear(indexed, tmp_path):
    db, library = indexed
    both = run_cli("--db", str(db), "search", "cat", "--file", str(library / "notes" / "our_cat.md"))
    assert both.returncode == 2 and "one of them" in both.stderr
    bad_kind = run_cli("--db", str(db), "search", "--kind", "video", "cat")
    assert bad_kind.returncode == 2 and "unknown kind" in bad_kind.stderr
    no_file = run_cli("--db", str(db), "search", "--file", str(tmp_path / "nope.jpg"))
    assert no_file.returncode == 1 and "no such file" in no_file.stderr
    # a recording is a query like any other now that the model has an audio tower
    sound = run_cli("--db", str(db), "search", "--file", str(library / "sounds" / "dog.ogg"), "--kind", "audio")
    assert sound.returncode == 0, sound.stderr
    ranked = [line for line in sound.stdout.splitlines() if line[:5].strip().rstrip(".").isdigit()]
    assert ranked and all(" audio " in line for line in ranked)  # each hit's why-line is under it


def test_status_reports_counts_and_failures(indexed):
    db, library = indexed
    (library / "broken.jpg").write_bytes(b"garbage")
    assert run_cli("--db", str(db), "index").returncode == 0  # re-scan every known folder
    status = json.loads(run_cli("--db", str(db), "status", "--json").stdout)
    assert status["folders"] == [str(library)]
    assert status["items"]["image"]["vectors"] >= 10
    assert [path for path, _ in status["failed"]] == [str(library / "broken.jpg")]
    text = run_cli("--db", str(db), "status").stdout
    assert "broken.jpg" in text and "cannot decode image" in text


def test_doctor_checks_each_part(tmp_path):
    result = run_cli("--db", str(tmp_path / "d.db"), "doctor")
    assert result.returncode == 0, result.stdout
    for name in ("python", "sqlite-vec", "model", "audio input", "qt"):
        assert name in result.stdout


def write_manifest(folder, records):
    path = folder / "manifest.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return path


def test_eval_json_has_exactly_the_documented_shape(tmp_path):
    photos = DEMO / "photos"
    records = [
        {"id": "cat", "image": str(photos / "chelsea_the_cat.jpg"), "text": ["a cat", "a tabby cat looking up"]},
        {"id": "coffee", "image": str(photos / "coffee.jpg"), "text": "a cup of coffee on a saucer"},
        {"id": "rocket", "image": str(photos / "rocket_launch.jpg"), "text": "a rocket launching into the sky"},
        {"id": "lost", "image": str(tmp_path / "lost.jpg"), "text": "a photo that is gone"},
        {"id": "dog", "audio": str(DEMO / "sounds" / "dog.ogg"), "text": "a dog barking"},
        {"id": "rooster", "audio": str(DEMO / "sounds" / "rooster.ogg"), "text": "a rooster crowing"},
    ]
    manifest = write_manifest(tmp_path, records)
    result = run_cli("eval", str(manifest), "--json", "--model", str(BASELINE_MODEL_DIR))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) == {"model", "manifest", "results", "unavailable", "unreadable"}
    assert report["manifest"] == str(manifest)
    assert set(report["results"]) == {"text->image", "image->text"}
    assert set(report["unavailable"]) == {"text->audio", "audio->text", "image->audio", "audio->image"}
    assert report["unreadable"] == [str(tmp_path / "lost.jpg")]
    t2i = report["results"]["text->image"]
    assert set(t2i) == {"n", "skipped", "R@1", "R@5", "R@10"}
    assert t2i["n"] == 4 and t2i["skipped"] == 3  # the lost photo's and the two sounds' captions
    assert t2i["R@10"] == 1.0  # only 3 photos to rank
    assert report["results"]["image->text"]["n"] == 3
    assert "evaluating" in result.stderr  # progress goes to stderr, never into the JSON


def test_eval_compares_two_models_side_by_side(tmp_path):
    records = [{"id": p.stem, "image": str(p), "text": p.stem.replace("_", " ")}
               for p in sorted((DEMO / "photos").glob("*.jpg"))]
    manifest = write_manifest(tmp_path, records)
    model = str(DEMO.parent / "model")
    result = run_cli("eval", str(manifest), "--model", model, "--model", model, "--json")
    assert result.returncode == 0, result.stderr
    first, second = json.loads(result.stdout)
    assert first["results"] == second["results"]
    table = run_cli("eval", str(manifest)).stdout
    assert "text->image" in table and "R@10" in table


def test_eval_of_a_missing_manifest_says_so(tmp_path):
    result = run_cli("eval", str(tmp_path / "nothing.jsonl"))
    assert result.returncode == 1 and "cannot read manifest" in result.stderr


BLOCK_TORCH = ["-c", "import runpy, sys; sys.modules['torch'] = None; sys.argv = sys.argv[1:]; "
               "runpy.run_path(sys.argv[0], run_name='__main__')"]


def test_the_app_runs_without_torch(tmp_path, demo_copy):
    db = str(tmp_path / "notorch.db")
    indexed = run_cli("--db", db, "index", str(demo_copy), python_prefix=BLOCK_TORCH)
    assert indexed.returncode == 0, indexed.stderr
    found = run_cli("--db", db, "search", "--json", "a cup of coffee", python_prefix=BLOCK_TORCH)
    assert found.returncode == 0, found.stderr
    top_two = {Path(hit["path"]).name for hit in json.loads(found.stdout)[:2]}
    assert top_two == {"coffee.jpg", "coffee_recipe.txt"}  # the photo and the recipe, both named so
    # And the guard is real: importing torch under it fails.
    probe = run_cli("x", python_prefix=["-c", "import sys; sys.modules['torch'] = None\n"
                                              "try:\n import torch\nexcept ImportError: print('blocked')"])
    assert probe.stdout.strip() == "blocked"


def test_no_display_prints_the_headless_commands_instead_of_crashing(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["TRIMODAL_BIND_HOME"] = str(tmp_path / "home")
    import subprocess
    import sys

    from tests.conftest import REPO

    result = subprocess.run([sys.executable, str(REPO / "main.py"), "--demo"], env=env, cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "No display" in result.stdout and "search" in result.stdout
    status = subprocess.run([sys.executable, str(REPO / "main.py"), "--demo", "status", "--json"], env=env,
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert json.loads(status.stdout)["items"]["image"]["vectors"] > 0


def test_each_checkout_keeps_its_own_demo_database(tmp_path, monkeypatch):
    """A second checkout must not add its demo files to the first one's demo library."""
    from core.paths import demo_db_path

    monkeypatch.setenv("TRIMODAL_BIND_HOME", str(tmp_path / "home"))
    first, second = tmp_path / "a" / "demo", tmp_path / "b" / "demo"
    first.mkdir(parents=True)
    second.mkdir(parents=True)
    assert demo_db_path(first) != demo_db_path(second)
    assert demo_db_path(first) == demo_db_path(tmp_path / "b" / ".." / "a" / "demo")
    assert demo_db_path(first).parent == tmp_path / "home"


def test_forget_removes_a_folder_from_the_library_only(indexed):
    db, library = indexed
    result = run_cli("--db", str(db), "forget", str(library))
    assert result.returncode == 0 and "not touched" in result.stdout
    assert json.loads(run_cli("--db", str(db), "status", "--json").stdout)["total"] == 0
    assert (library / "photos" / "chelsea_the_cat.jpg").is_file()
    again = run_cli("--db", str(db), "forget", str(library))
    assert again.returncode == 1 and "not a library folder" in again.stderr
