"""Bad input (issue 37, item 7) on real files, the real database and the real model: each bad file
is recorded with a reason a user understands, the rest is indexed, the database stays valid, and
the user's tree is exactly as it was (every byte, mode and mtime) after indexing it.

Covered elsewhere: non-UTF-8 names (test_trust), truncated recordings and UTF-16/32 notes
(test_media_input), Latin-1 notes and a cut .m4a (test_formats)."""

from __future__ import annotations

import hashlib
import os
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from core.library import Library
from core.media.extract import ExtractionError, extract_image
from tests.conftest import DEMO, REPO

BOMB_SIDE = 20_000


def bomb_png(path: Path, side: int = BOMB_SIDE) -> Path:
    """A valid grey PNG of side×side pixels (400 megapixels: 400 MB decoded) that is a few
    hundred KB on disk, compressed row by row so making it needs no big buffer either."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    compressor, row, body = zlib.compressobj(9), b"\x00" * (side + 1), []
    for _ in range(side):
        body.append(compressor.compress(row))
    body.append(compressor.flush())
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)  # 8-bit greyscale
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(body))
                     + chunk(b"IEND", b""))
    return path


def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry below `root` (links not followed): type, mode, size, mtime and, for regular
    files, a checksum of the bytes."""
    found = {}
    for folder, folders, files in os.walk(root):
        for name in folders + files:
            path = os.path.join(folder, name)
            info = os.lstat(path)
            digest = None
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, "rb") as handle:
                    digest = hashlib.file_digest(handle, "sha256").hexdigest()
            found[path] = (info.st_mode, info.st_size, info.st_mtime_ns, digest)
    return found


@pytest.fixture(scope="module")
def bad_tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("bad") / "media"
    (root / "photos").mkdir(parents=True)
    (root / "sounds").mkdir()
    (root / "notes").mkdir()
    shutil.copy(DEMO / "photos" / "coffee.jpg", root / "photos" / "good coffee.jpg")
    shutil.copy(DEMO / "notes" / "coffee_recipe.txt", root / "notes" / "recipe.txt")
    bomb_png(root / "photos" / "bomb.png")
    (root / "photos" / "really_text.png").write_text("this is a shopping list, not a picture\n")
    (root / "photos" / "empty.jpg").write_bytes(b"")
    (root / "sounds" / "empty.wav").write_bytes(b"")
    (root / "notes" / "empty.md").write_bytes(b"")
    whole = (DEMO / "photos" / "flower.jpg").read_bytes()
    (root / "photos" / "cut.jpg").write_bytes(whole[: len(whole) // 2])
    os.mkfifo(root / "sounds" / "pipe.wav")
    os.symlink("loop_b.jpg", root / "photos" / "loop_a.jpg")
    os.symlink("loop_a.jpg", root / "photos" / "loop_b.jpg")
    os.symlink("..", root / "photos" / "up")  # a folder link back up: never followed
    os.symlink("gone.jpg", root / "photos" / "dangling.jpg")
    shutil.copy(DEMO / "photos" / "flower.jpg", root / "photos" / "two\nlines.jpg")
    return root


@pytest.fixture(scope="module")
def indexed(bad_tree, tmp_path_factory, embedder):
    before = snapshot(bad_tree)
    db = tmp_path_factory.mktemp("db") / "lib.db"
    with Library(db, embedder=embedder) as library:
        library.index([bad_tree])
        status = library.status()
        ok = library.store.integrity_ok()
        flower_hits = library.search_file(DEMO / "photos" / "flower.jpg", limit=1)
    return {"before": before, "after": snapshot(bad_tree), "status": status, "integrity": ok,
            "failed": {Path(path).name: error for path, error in status["failed"]}, "flower": flower_hits}


@pytest.mark.parametrize("name, reason", [
    ("bomb.png", "image too large to decode safely: 400 megapixels (limit 120 megapixels)"),
    ("really_text.png", "cannot decode image: cannot identify image file"),
    ("empty.jpg", "empty file (0 bytes)"),
    ("empty.wav", "empty file (0 bytes)"),
    ("empty.md", "empty file (0 bytes)"),
    ("cut.jpg", "cannot decode image: the file is cut short (truncated)"),
    ("pipe.wav", "not a regular file (pipe, socket or device)"),
    ("loop_a.jpg", "link loop"),
    ("dangling.jpg", "broken link (points to 'gone.jpg')"),
])
def test_each_bad_file_is_recorded_with_its_reason(indexed, name, reason):
    assert indexed["failed"][name].startswith(reason), indexed["failed"][name]


def test_the_good_files_are_indexed_and_the_database_stays_valid(indexed):
    counts = indexed["status"]["items"]
    assert counts["image"]["done"] == 2 and counts["text"]["done"] == 1  # good coffee, two\nlines, recipe
    assert len(indexed["failed"]) == 10  # the nine above and loop_b.jpg
    assert indexed["integrity"]


def test_a_name_with_a_newline_is_indexed_and_found(indexed):
    assert Path(indexed["flower"][0].item.path).name == "two\nlines.jpg"


def test_indexing_changes_nothing_in_the_users_tree(indexed):
    assert indexed["after"] == indexed["before"]


def test_a_decompression_bomb_is_refused_without_decoding_it(bad_tree):
    """In a fresh process: its peak memory stays far below the 400 MB the pixels would take."""
    code = ("import resource\n"
            "from core.media.extract import extract_image, ExtractionError\n"
            "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
            f"try:\n    extract_image({str(bad_tree / 'photos' / 'bomb.png')!r})\n"
            "except ExtractionError as exc:\n    print(exc)\n"
            "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    reason, grown_mb = result.stdout.splitlines()
    assert reason.startswith("image too large to decode safely")
    assert int(grown_mb) < 50


def test_a_picture_between_the_limit_and_twice_it_is_refused_too(tmp_path):
    """Pillow only warns below twice its limit; the library refuses from the limit on."""
    with pytest.raises(ExtractionError, match=r"12000×12000 pixels \(144 megapixels\)"):
        extract_image(str(bomb_png(tmp_path / "big.png", side=12_000)))


def test_300_mb_of_random_bytes_named_wav_is_refused(tmp_path, embedder):
    media = tmp_path / "media"
    media.mkdir()
    noise = media / "noise.wav"
    try:
        with open(noise, "wb") as handle:
            for _ in range(300):
                handle.write(os.urandom(1024 * 1024))
        shutil.copy(DEMO / "sounds" / "cat.ogg", media / "cat.ogg")
        with Library(tmp_path / "lib.db", embedder=embedder) as library:
            library.index([media])
            status = library.status()
        failed = dict(status["failed"])
        assert failed[str(noise)].startswith("cannot decode audio"), failed
        assert status["items"]["audio"]["done"] == 1
    finally:
        noise.unlink(missing_ok=True)


def test_a_file_deleted_after_the_scan_is_recorded_then_forgotten(tmp_path, embedder):
    media = tmp_path / "media"
    media.mkdir()
    for name in ("a.jpg", "b.jpg"):
        shutil.copy(DEMO / "photos" / "coffee.jpg", media / name)

    def delete_b(done, total, message):
        if message.endswith("b.jpg"):  # seen by the scan, gone before it is read
            (media / "b.jpg").unlink()

    with Library(tmp_path / "lib.db", embedder=embedder) as library:
        library.index([media], scan_progress=delete_b)
        failed = dict(library.status()["failed"])
        assert failed == {str(media / "b.jpg"): "file disappeared before it could be read"}
        library.index()
        assert library.status()["failed"] == []
        assert library.status()["items"]["image"]["done"] == 1


def test_a_note_rewritten_after_the_scan_ends_with_its_new_words(tmp_path, embedder):
    media = tmp_path / "media"
    media.mkdir()
    note = media / "plan.txt"
    note.write_text("We sail to Zanzibar on Monday.\n")

    def rewrite(done, total, message):
        if "Zanzibar" in note.read_text():
            note.write_text("Change of plan: we fly to Reykjavik on Friday instead.\n")
            os.utime(note, ns=(note.stat().st_atime_ns, note.stat().st_mtime_ns + 5_000_000_000))

    with Library(tmp_path / "lib.db", embedder=embedder) as library:
        library.index([media], scan_progress=rewrite)
        library.index()  # the next reconcile sees the new mtime
        assert [Path(h.item.path).name for h in library.search_text("Reykjavik", limit=1)] == ["plan.txt"]
        item = library.store.item_by_path(str(note))
        assert "Zanzibar" not in item.extracted_text and item.mtime == note.stat().st_mtime
