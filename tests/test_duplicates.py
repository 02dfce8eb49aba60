"""Duplicates through the door and `main.py duplicates`: identical files, and real re-encoded,
resized and cropped copies of photos made here with Pillow, indexed with the real model; distinct
photos (the demo's and coco-mini dev's) never grouped; "more like this" leaves the item out."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from core.library import Library
from core.search.duplicates import hash_distance, picture_hash
from tests.conftest import DEMO, SHARED_DATA, run_cli

COCO_DEV = SHARED_DATA / "coco-mini" / "dev.jsonl"


def _coco_dev_photos(n: int) -> list[Path]:
    lines = COCO_DEV.read_text().splitlines()[:n]
    return [COCO_DEV.parent / json.loads(line)["image"] for line in lines]


@pytest.fixture(scope="module")
def library_with_copies(tmp_path_factory, embedder):
    folder = tmp_path_factory.mktemp("photos")
    originals = sorted((DEMO / "photos").glob("*.jpg")) + _coco_dev_photos(6)
    for path in originals:
        shutil.copy(path, folder / path.name)
    cat = Image.open(DEMO / "photos" / "chelsea_the_cat.jpg").convert("RGB")
    cat.save(folder / "cat_q50.jpg", quality=50)
    cat.resize((cat.width // 2, cat.height // 2), Image.Resampling.LANCZOS).save(folder / "cat_half.png")
    dx, dy = cat.width // 20, cat.height // 20
    cat.crop((dx, dy, cat.width - dx, cat.height - dy)).save(folder / "cat_crop90.jpg", quality=92)
    shutil.copy(DEMO / "photos" / "chelsea_the_cat.jpg", folder / "cat_same_bytes.jpg")
    street = Image.open(originals[-1]).convert("RGB")
    street.resize((street.width // 4, street.height // 4), Image.Resampling.LANCZOS).save(folder / "small_copy.jpg")
    db = tmp_path_factory.mktemp("db") / "library.db"
    library = Library(db, embedder=embedder)
    library.index([folder])
    yield library, folder, originals
    library.close()


def test_copies_are_grouped_apart_from_similar_photos(library_with_copies):
    library, folder, originals = library_with_copies
    groups = {group.reason: [] for group in library.duplicates()}
    for group in library.duplicates():
        groups[group.reason].append({Path(item.path).name for item in group.items})
    assert groups["identical"] == [{"chelsea_the_cat.jpg", "cat_same_bytes.jpg"}]
    near = groups["near"]
    cat_group = next(g for g in near if "cat_q50.jpg" in g)
    assert {"cat_q50.jpg", "cat_half.png", "cat_crop90.jpg"} <= cat_group
    assert cat_group & {"chelsea_the_cat.jpg", "cat_same_bytes.jpg"}  # one of the identical pair stands for both
    assert {originals[-1].name, "small_copy.jpg"} in near
    distinct = {path.name for path in originals} - {"chelsea_the_cat.jpg", originals[-1].name}
    assert all(len(group & distinct) == 0 for group in near)  # no two different photos are "copies"


def test_the_hash_sees_a_resize_but_not_another_photo(library_with_copies):
    _, folder, originals = library_with_copies
    cat, half = picture_hash(str(folder / "chelsea_the_cat.jpg")), picture_hash(str(folder / "cat_half.png"))
    assert hash_distance(cat, half) <= 3
    assert all(hash_distance(cat, picture_hash(str(path))) >= 10 for path in originals[1:] if "chelsea" not in path.name)
    assert picture_hash(str(folder / "missing.jpg")) is None


def test_more_like_a_photo_leaves_it_out_and_finds_its_copies_as_similar(library_with_copies):
    library, folder, _ = library_with_copies
    hits = [Path(hit.item.path).name for hit in library.search_like(folder / "cat_q50.jpg", ("image",), limit=4)]
    assert "cat_q50.jpg" not in hits
    assert {"chelsea_the_cat.jpg", "cat_half.png"} & set(hits)


def test_the_command_lists_the_groups(library_with_copies):
    library, _, _ = library_with_copies
    result = run_cli("--db", str(library.db_path), "duplicates")
    assert result.returncode == 0, result.stderr
    assert "identical files" in result.stdout and "copies of one photo" in result.stdout
    assert "nothing was changed or deleted" in result.stdout
    listed = json.loads(run_cli("--db", str(library.db_path), "duplicates", "--json").stdout)
    assert {group["reason"] for group in listed} == {"identical", "near"}


def test_an_empty_library_has_no_duplicates(tmp_path, embedder):
    with Library(tmp_path / "empty.db", embedder=embedder) as library:
        assert library.duplicates() == []
