"""Issue 35's promises on real files, the real database and the real CLI: odd names, folders that
cannot be listed, nested library folders, two indexers at once, and messages that say what is wrong."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.library import IndexerBusy, Library, LibraryError
from tests.conftest import DEMO, REPO, run_cli

# Root ignores file permissions; without these two capabilities it obeys them like anyone else.
NO_OVERRIDE = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]


def small_library(folder: Path) -> Path:
    """Two photos and two notes: enough for every check here, fast to embed."""
    (folder / "photos").mkdir(parents=True)
    (folder / "notes").mkdir()
    for name in ("chelsea_the_cat.jpg", "coffee.jpg"):
        shutil.copy(DEMO / "photos" / name, folder / "photos" / name)
    for name in ("our_cat.md", "coffee_recipe.txt"):
        shutil.copy(DEMO / "notes" / name, folder / "notes" / name)
    return folder


@pytest.fixture
def library(tmp_path, embedder):
    with Library(tmp_path / "lib.db", embedder=embedder) as library:
        yield library


def obeying_permissions(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: cannot make a folder unreadable")
    return NO_OVERRIDE + command


def cli(*args: str, obey_permissions: bool = False, **kwargs) -> subprocess.CompletedProcess:
    command = [sys.executable, str(REPO / "main.py"), *args]
    if obey_permissions:
        command = obeying_permissions(command)
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300, **kwargs)


# -- 1. a file name that is not UTF-8 ------------------------------------------------------------
def test_a_name_that_is_not_utf8_is_indexed_found_and_shown(tmp_path):
    folder = small_library(tmp_path / "media")
    odd = os.fsdecode(b"bad utf8 \xff\xfe name.jpg")
    shutil.copy(DEMO / "photos" / "chelsea_the_cat.jpg", folder / "photos" / odd)
    db = tmp_path / "lib.db"
    result = cli("--db", str(db), "index", str(folder))
    assert result.returncode == 0, result.stderr
    assert "5 files (5 new" in result.stdout
    found = cli("--db", str(db), "search", "--kind", "image", "a cat sitting")
    assert found.returncode == 0, found.stderr
    assert "bad utf8 \\xff\\xfe name.jpg" in found.stdout  # a readable form, never a crash
    with Library(db, read_only=True) as library:
        stored = next(i for i in library.store.all_items() if "bad utf8" in i.path)
        assert stored.path == str(folder / "photos" / odd)  # exactly the real name
        assert stored.status == "done" and stored.has_vector
        assert os.path.exists(stored.path)
    again = cli("--db", str(db), "index")
    assert "5 unchanged" in again.stdout, again.stdout


# -- 3. a sub-folder that cannot be listed ------------------------------------------------------
def test_a_sub_folder_that_cannot_be_listed_keeps_its_items_and_status_says_why(tmp_path):
    folder = small_library(tmp_path / "media")
    db = tmp_path / "lib.db"
    assert cli("--db", str(db), "index", str(folder)).returncode == 0
    (folder / "notes").chmod(0)
    try:
        rescan = cli("--db", str(db), "index", obey_permissions=True)
        status = cli("--db", str(db), "status", "--json", obey_permissions=True)
    finally:
        (folder / "notes").chmod(0o755)
    assert rescan.returncode == 0, rescan.stderr
    assert "0 removed" in rescan.stdout and "not checked" in rescan.stdout
    report = json.loads(status.stdout)
    assert report["items"]["text"]["done"] == 2  # kept, with their vectors
    assert report["items"]["text"]["vectors"] == 2
    [problem] = report["not_checked"]
    assert problem["folder"] == str(folder / "notes")
    assert "Permission denied" in problem["reason"] and problem["items_kept"] == 2
    # Listable again: checked again, and no longer reported.
    healed = cli("--db", str(db), "index")
    assert healed.returncode == 0 and "4 unchanged" in healed.stdout, healed.stdout
    assert json.loads(cli("--db", str(db), "status", "--json").stdout)["not_checked"] == []


def test_a_missing_library_folder_is_kept_and_listed_in_status(library, tmp_path):
    folder = small_library(tmp_path / "drive")
    library.index([folder])
    folder.rename(tmp_path / "unplugged")
    result = library.index()
    assert result.scans[str(folder)].not_checked == 4
    assert library.status()["total"] == 4
    [problem] = library.status()["not_checked"]
    assert problem["folder"] == str(folder) and "missing" in problem["reason"]


# -- 4. nested library folders ------------------------------------------------------------------
def test_a_folder_inside_a_library_folder_is_part_of_it_not_a_second_copy(library, tmp_path):
    media = small_library(tmp_path / "media")
    library.index([media])
    inner = library.index([media / "notes"])
    assert inner.notes and "already part of library folder" in inner.notes[0]
    assert inner.embedding.embedded == 0
    assert library.folders() == [str(media)]
    again = library.index()
    assert again.embedding.embedded == 0 and again.scans[str(media)].unchanged == 4
    with pytest.raises(LibraryError, match="is part of library folder"):
        library.forget_folder(media / "notes")
    assert library.status()["total"] == 4


def test_a_folder_above_library_folders_takes_them_over_without_re_embedding(library, tmp_path):
    media = small_library(tmp_path / "media")
    library.index([media / "notes"])
    library.index([media / "photos"])
    outer = library.index([media])
    assert outer.embedding.embedded == 0
    assert "merged" in outer.notes[0]
    assert library.folders() == [str(media)]
    assert outer.scans[str(media)].unchanged == 4 and outer.scans[str(media)].new == 0
    assert {item.folder for item in library.store.all_items()} == {str(media)}
    assert library.forget_folder(media) == 4


def test_an_old_database_with_nested_folders_is_merged_by_the_migration(tmp_path):
    from core.store import LibraryStore, get_driver
    from core.store.schema import MIGRATIONS, migrate

    conn = get_driver().connect(tmp_path / "old.db")
    migrate(conn, MIGRATIONS[:1])
    conn.execute("INSERT INTO folders(path, added_at) VALUES ('/m', 0), ('/m/notes', 0), ('/other', 0)")
    conn.execute("INSERT INTO items(path, folder, kind, added_at, updated_at) VALUES "
                 "('/m/notes/a.md', '/m/notes', 'text', 0, 0), ('/m/b.jpg', '/m', 'image', 0, 0)")
    conn.close()
    with LibraryStore(tmp_path / "old.db") as store:
        assert store.folders() == ["/m", "/other"]
        assert {item.folder for item in store.all_items()} == {"/m"}


# -- 5. two indexers on one database ------------------------------------------------------------
def test_a_second_indexer_on_the_same_library_stops_with_a_reason(library, tmp_path):
    media = small_library(tmp_path / "media")
    with library.indexing_lock():  # as another process's index run would hold it
        with pytest.raises(IndexerBusy, match="another Trimodal-Bind is indexing"):
            library.index([media])
    assert library.store.all_items() == []
    assert library.index([media]).embedding.embedded == 4


def test_two_index_processes_never_embed_the_same_items_twice(tmp_path):
    media = tmp_path / "media"
    shutil.copytree(DEMO, media)
    db = tmp_path / "lib.db"
    first = subprocess.Popen([sys.executable, str(REPO / "main.py"), "--db", str(db), "index", str(media)],
                             cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lock = Path(f"{db}.indexing.lock")
    deadline = time.time() + 120
    from filelock import FileLock, Timeout

    while time.time() < deadline:  # wait until the first one holds the lock
        try:
            with FileLock(str(lock), timeout=0):
                pass
            time.sleep(0.05)
        except Timeout:
            break
    second = cli("--db", str(db), "index", str(media))
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert second.returncode == 1 and "another Trimodal-Bind is indexing" in second.stderr
    embedded_by_first = int(out.split("embedded ")[1].split()[0])
    total = json.loads(cli("--db", str(db), "status", "--json").stdout)["total"]
    assert embedded_by_first == total
    waited = cli("--db", str(db), "index", "--wait")
    assert "embedded 0 items" in waited.stdout


# -- 8. messages that say what is wrong ---------------------------------------------------------
def test_status_with_a_mistyped_db_says_so_and_creates_nothing(tmp_path):
    typo = tmp_path / "libary.db"
    for command in (["status"], ["search", "a cat"]):
        result = cli("--db", str(typo), *command)
        assert result.returncode == 1
        assert "no library database at" in result.stderr
    assert not typo.exists()


def test_a_read_only_database_can_still_be_searched_and_shown(tmp_path, embedder):
    folder = small_library(tmp_path / "media")
    place = tmp_path / "readonly"
    place.mkdir()
    db = place / "lib.db"
    assert cli("--db", str(db), "index", str(folder)).returncode == 0
    for leftover in place.glob("lib.db-*"):
        leftover.unlink()  # a cleanly closed database, as copied onto read-only media
    files_before = sorted(p.name for p in place.iterdir())
    db.chmod(0o444)
    place.chmod(0o555)
    try:
        status = cli("--db", str(db), "status", obey_permissions=True)
        found = cli("--db", str(db), "search", "--kind", "text", "coffee", obey_permissions=True)
        index = cli("--db", str(db), "index", obey_permissions=True)
        files_after = sorted(p.name for p in place.iterdir())
    finally:
        place.chmod(0o755)
    assert status.returncode == 0, status.stderr
    assert "(read-only)" in status.stdout and "text  done      2" in status.stdout
    assert found.returncode == 0, found.stderr
    assert "coffee_recipe.txt" in found.stdout.splitlines()[0]
    assert index.returncode == 1 and "read-only" in index.stderr and "full" not in index.stderr
    assert files_after == files_before  # nothing written beside it


def test_a_database_folder_without_write_permission_says_so(tmp_path):
    place = tmp_path / "locked"
    place.mkdir()
    place.chmod(0o555)
    try:
        result = cli("--db", str(place / "lib.db"), "index", str(small_library(tmp_path / "m")),
                     obey_permissions=True)
    finally:
        place.chmod(0o755)
    assert result.returncode == 1
    assert "cannot be written (permission denied)" in result.stderr or "read-only" in result.stderr
    assert "unable to open database file" not in result.stderr


def test_a_database_on_a_read_only_file_system_is_not_called_full(tmp_path):
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare to mount a read-only file system")
    mount = tmp_path / "ro"
    mount.mkdir()
    script = (f"mount -t tmpfs -o size=4m tmpfs {mount} && "
              f"mount -o remount,ro {mount} && "
              f"{sys.executable} {REPO / 'main.py'} --db {mount / 'lib.db'} index {DEMO / 'notes'}")
    result = subprocess.run(["unshare", "-m", "sh", "-c", script], cwd=REPO, capture_output=True, text=True,
                            timeout=300)
    if "mount:" in result.stderr:
        pytest.skip(f"cannot mount here: {result.stderr.strip()}")
    assert result.returncode == 1
    assert "read-only" in result.stderr and "full" not in result.stderr


def test_search_by_a_fifo_says_it_is_not_a_regular_file(tmp_path):
    folder = small_library(tmp_path / "media")
    db = tmp_path / "lib.db"
    assert cli("--db", str(db), "index", str(folder / "notes")).returncode == 0
    fifo = tmp_path / "query.jpg"
    os.mkfifo(fifo)
    result = cli("--db", str(db), "search", "--file", str(fifo))
    assert result.returncode == 1
    assert "not a regular file" in result.stderr and "no such file" not in result.stderr


def test_bad_limits_are_refused_and_a_closed_pipe_is_not_a_crash(tmp_path):
    folder = small_library(tmp_path / "media")
    db = tmp_path / "lib.db"
    assert cli("--db", str(db), "index", str(folder)).returncode == 0
    for limit in ("0", "-3", "ten"):
        result = cli("--db", str(db), "search", "--limit", limit, "a cat")
        assert result.returncode == 2 and "--limit" in result.stderr
    piped = subprocess.run(f"'{sys.executable}' '{REPO / 'main.py'}' --db '{db}' search --limit 4 a cat | head -1",
                           shell=True, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert len(piped.stdout.splitlines()) == 1
    assert "Traceback" not in piped.stderr and "BrokenPipeError" not in piped.stderr


def test_the_failure_count_says_this_run_and_the_library_in_all(tmp_path):
    folder = small_library(tmp_path / "media")
    (folder / "notes" / "broken.txt").write_bytes(bytes(range(256)) * 8)
    db = tmp_path / "lib.db"
    first = cli("--db", str(db), "index", str(folder))
    assert "1 files could not be indexed in this run (1 in the library in all" in first.stdout
    (folder / "photos" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 200)
    second = cli("--db", str(db), "index")
    assert "1 files could not be indexed in this run (2 in the library in all" in second.stdout


# -- 6. a truncated recording is indexed, and status says so ------------------------------------
def test_a_truncated_recording_is_indexed_from_what_decodes_and_status_says_so(tmp_path):
    import numpy as np
    import soundfile

    folder = tmp_path / "media"
    folder.mkdir()
    t = np.arange(44100 * 4) / 44100
    soundfile.write(folder / "tone.wav", (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 44100)
    whole = (folder / "tone.wav").read_bytes()
    (folder / "tone.wav").write_bytes(whole[: len(whole) * 45 // 100])
    db = tmp_path / "lib.db"
    assert cli("--db", str(db), "index", str(folder)).returncode == 0
    status = json.loads(cli("--db", str(db), "status", "--json").stdout)
    assert status["items"]["audio"]["vectors"] == 1
    [(path, warning)] = status["warnings"]
    assert path.endswith("tone.wav") and warning.startswith("truncated")
    assert "indexed with a warning" in cli("--db", str(db), "status").stdout


# -- issue 36: reconcile(paths) for a file, a sub-folder or a whole root -------------------------
def test_reconcile_takes_single_files_and_sub_folders_and_keeps_moves(library, tmp_path):
    media = small_library(tmp_path / "media")
    library.index([media])
    cat = media / "photos" / "chelsea_the_cat.jpg"
    cat_id = library.store.item_by_path(str(cat)).id
    # a new file, seen alone
    shutil.copy(DEMO / "notes" / "bike_trip.md", media / "notes" / "bike_trip.md")
    added = library.reconcile([media / "notes" / "bike_trip.md"])
    assert added.embedding.embedded == 1 and library.status()["total"] == 5
    # a move between two folders, reported as its two paths
    (media / "archive").mkdir()
    moved = media / "archive" / "cat.jpg"
    cat.rename(moved)
    result = library.reconcile([cat, media / "archive"])
    assert sum(s.moved for s in result.scans.values()) == 1 and result.embedding.embedded == 0
    assert library.store.item_by_path(str(moved)).id == cat_id  # same item, vector kept
    # a deletion of a single file; a path outside the library is said and ignored
    (media / "notes" / "our_cat.md").unlink()
    gone = library.reconcile([media / "notes" / "our_cat.md", tmp_path / "elsewhere.jpg"])
    assert sum(s.removed for s in gone.scans.values()) == 1
    assert "not in a library folder" in gone.notes[0]
    assert library.status()["total"] == 4
    # a whole root is the same call
    assert library.reconcile([media]).scans[str(media)].unchanged == 4


def test_a_decoder_error_names_the_file_not_a_memory_buffer(library, tmp_path):
    folder = tmp_path / "media"
    folder.mkdir()
    (folder / "broken.jpg").write_bytes(b"not a picture at all" * 10)
    (folder / "noise.ogg").write_bytes(bytes(range(256)))
    library.index([folder])
    reasons = dict(library.status()["failed"])
    assert "broken.jpg" in reasons[str(folder / "broken.jpg")]
    assert all("BytesIO" not in reason for reason in reasons.values()), reasons
