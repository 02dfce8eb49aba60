"""Indexing a real folder on the real file system, store and model, including bad input."""

from __future__ import annotations

import os
import shutil

import pytest

from core.library import Library, LibraryError


@pytest.fixture
def library(tmp_path, embedder):
    with Library(tmp_path / "lib.db", embedder=embedder) as library:
        yield library


def add_bad_files(folder):
    bad = folder / "bad"
    bad.mkdir()
    (bad / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF" + os.urandom(300))
    (bad / "empty.wav").write_bytes(b"")
    (bad / "program.txt").write_bytes(bytes(range(256)) * 8)
    (bad / "gone.png").symlink_to(folder / "no-such-target.png")
    os.mkfifo(bad / "pipe.ogg")
    (bad / "folder.jpg").mkdir()  # a folder named like a photo is not a photo
    return bad


def test_index_records_each_bad_file_with_a_reason_and_indexes_the_rest(library, demo_copy):
    bad = add_bad_files(demo_copy)
    result = library.index([demo_copy])
    failed = {os.path.basename(item.path): item.error for item in library.store.all_items(status="failed")}
    assert set(failed) == {"corrupt.jpg", "empty.wav", "program.txt", "gone.png", "pipe.ogg"}
    assert "cannot decode image" in failed["corrupt.jpg"]
    assert "empty" in failed["empty.wav"]
    assert "binary" in failed["program.txt"]
    assert "broken link" in failed["gone.png"]
    assert "not a regular file" in failed["pipe.ogg"]
    counts = library.store.counts()
    demo_images = len(list((demo_copy / "photos").iterdir())) + len(list((demo_copy / "drawings").iterdir()))
    demo_notes = len(list((demo_copy / "notes").iterdir()))
    assert counts["image"]["vectors"] == demo_images
    assert counts["text"]["vectors"] == demo_notes
    demo_audio = len(list((demo_copy / "sounds").iterdir())) + 3  # 3 memos
    assert counts["audio"]["vectors"] == counts["audio"]["done"] == demo_audio
    assert result.embedding.embedded == demo_images + demo_notes + demo_audio
    assert not any("CREDITS" in item.path for item in library.store.all_items())  # .trimodal-ignore
    assert library.store.integrity_ok()
    assert (bad / "corrupt.jpg").exists()  # the user's files are left alone


def test_recordings_get_a_vector_and_memos_their_transcript(library, demo_copy):
    library.index([demo_copy])
    cat = library.store.item_by_path(str(demo_copy / "sounds" / "cat.ogg"))
    assert cat.status == "done" and cat.has_vector == 1
    assert 1.0 < cat.duration < 20.0
    memo = library.store.item_by_path(str(demo_copy / "memos" / "memo_01.wav"))
    assert memo.has_vector == 1 and len((memo.extracted_text or "").split()) >= 3


def test_rescan_detects_unchanged_changed_moved_and_removed_files(library, demo_copy):
    library.index([demo_copy])
    coffee = library.store.item_by_path(str(demo_copy / "photos" / "coffee.jpg"))
    second = library.index()
    assert second.scans[str(demo_copy)].unchanged == second.scans[str(demo_copy)].seen
    assert second.embedding.embedded == 0

    os.rename(demo_copy / "photos" / "coffee.jpg", demo_copy / "photos" / "morning_coffee.jpg")
    (demo_copy / "notes" / "beach_holiday.md").unlink()
    note = demo_copy / "notes" / "guitar_practice.md"
    note.write_text(note.read_text() + "\nLearn the F barre chord this week.\n")
    os.utime(note, (1, 1))
    report = library.index().scans[str(demo_copy)]
    assert (report.moved, report.removed, report.changed, report.new) == (1, 1, 1, 0)
    moved = library.store.item_by_path(str(demo_copy / "photos" / "morning_coffee.jpg"))
    assert moved.id == coffee.id and moved.has_vector == 1  # kept its vector, no re-embedding
    assert library.store.item_by_path(str(demo_copy / "notes" / "beach_holiday.md")) is None
    hits = library.search_text("chords for the guitar", kinds=("text",), limit=1)
    assert hits[0].item.path == str(note)


def test_interrupted_indexing_resumes_where_it_stopped(library, demo_copy):
    calls = []

    def stop_after_first_batch():
        calls.append(1)
        return len(calls) > 2  # once before the scan, once before the first batch

    first = library.index([demo_copy], should_stop=stop_after_first_batch)
    assert first.embedding.stopped
    pending = len(library.store.pending_items())
    assert 0 < pending < library.status()["total"]
    second = library.index()
    assert not second.embedding.stopped
    assert library.store.pending_items() == []
    counts = library.store.counts()
    assert first.embedding.embedded + second.embedding.embedded == sum(counts[k]["vectors"] for k in counts)


def test_a_new_model_re_embeds_the_library(library, demo_copy, tmp_path):
    library.index([demo_copy])
    vectors_before = library.store.counts()["image"]["vectors"]
    library.store.bind_channel("semantic", "some-older-model", 384)  # as if another model built it
    result = library.index()
    assert result.reembed == 0  # bind_channel already reset them; bind_model rebinds to the bundled one
    assert library.store.channel_model("semantic") == library.embedder.model_id
    assert library.store.counts()["image"]["vectors"] == vectors_before


def test_adding_something_that_is_not_a_folder_is_refused(library, demo_copy):
    with pytest.raises(LibraryError, match="no such folder"):
        library.add_folder(demo_copy / "nope")
    with pytest.raises(LibraryError, match="not a folder"):
        library.add_folder(demo_copy / "notes" / "our_cat.md")


def test_folder_that_vanishes_mid_scan_is_reported_and_the_scan_goes_on(tmp_path):
    from core.index.scan import FolderError, ScannedFile, scan_folder

    root = tmp_path / "root"
    (root / "a_sub").mkdir(parents=True)
    (root / "a_sub" / "x.txt").write_text("x")
    (root / "b.txt").write_text("b")
    walk = scan_folder(str(root))
    first = next(walk)  # the root is listed; a_sub is queued
    shutil.rmtree(root / "a_sub")  # e.g. a USB stick pulled out during the scan
    rest = [first, *walk]
    assert [e.path for e in rest if isinstance(e, ScannedFile)] == [str(root / "b.txt")]
    errors = [e for e in rest if isinstance(e, FolderError)]
    assert len(errors) == 1 and "cannot list folder" in errors[0].error


def test_a_full_disk_stops_indexing_cleanly_and_it_resumes_later(library, demo_copy):
    from core.store import database_errors, explain_database_error

    library.bind_model()
    pages = library.store.conn.execute("PRAGMA page_count").fetchone()[0]
    # SQLite's own size cap produces the real "database or disk is full" error path.
    library.store.conn.execute(f"PRAGMA max_page_count = {pages + 8}")
    with pytest.raises(database_errors()) as failure:
        library.index([demo_copy])
    assert "disk that holds it is full" in explain_database_error(failure.value, library.db_path, library.store.conn)
    assert library.store.integrity_ok()
    library.store.conn.execute("PRAGMA max_page_count = 1073741823")
    library.index()
    assert library.store.pending_items() == []
    assert library.store.counts()["image"]["vectors"] == len(list((demo_copy / "photos").iterdir())) + len(
        list((demo_copy / "drawings").iterdir()))


def test_forgetting_a_folder_removes_its_items_but_never_its_files(library, demo_copy):
    library.index([demo_copy])
    files_before = sorted(p for p in demo_copy.rglob("*") if p.is_file())
    forgotten = library.forget_folder(demo_copy)
    assert forgotten == library.status()["total"] + forgotten > 0
    assert library.status()["total"] == 0 and library.folders() == []
    assert library.store.vectors("semantic")[0].size == 0
    assert sorted(p for p in demo_copy.rglob("*") if p.is_file()) == files_before
    with pytest.raises(LibraryError, match="not a library folder"):
        library.forget_folder(demo_copy)


def test_search_after_a_model_change_asks_for_re_indexing_instead_of_dropping_vectors(library, demo_copy):
    from core.search import QueryError

    library.index([demo_copy])
    with library.store.transaction():  # as if indexed by a previous release
        library.store.conn.execute("UPDATE channels SET model_id = 'an-older-model' WHERE name = 'semantic'")
    with Library(library.db_path, embedder=library.embedder) as reopened:
        with pytest.raises(QueryError, match="run `index`"):
            reopened.search_text("a cat")
        assert reopened.store.counts()["image"]["vectors"] > 0  # nothing was thrown away
        reopened.index()
        assert reopened.search_text("a cat")[0].item.path.endswith("chelsea_the_cat.jpg")


def test_a_renamed_note_gets_a_vector_for_its_new_title_and_a_moved_photo_keeps_its_own(library, demo_copy):
    library.index([demo_copy])
    notes = demo_copy / "notes"
    note = next(p for p in sorted(notes.iterdir()) if p.suffix == ".md")
    old = library.store.item_by_path(str(note))
    old_vector = library.store.vectors_of("semantic", [old.id])[old.id]
    renamed = notes / "volcano eruption timetable.md"  # the title is part of what a note embeds
    os.rename(note, renamed)
    (demo_copy / "sub").mkdir()
    photo = next((demo_copy / "photos").iterdir())
    photo_item = library.store.item_by_path(str(photo))
    os.rename(photo, demo_copy / "sub" / "renamed photo.jpg")  # a photo's name is not embedded
    report = library.index().scans[str(demo_copy)]
    assert (report.new, report.removed, report.moved) == (1, 1, 1)
    new = library.store.item_by_path(str(renamed))
    new_vector = library.store.vectors_of("semantic", [new.id])[new.id]
    assert float(new_vector @ old_vector) < 0.999
    assert library.store.item_by_path(str(demo_copy / "sub" / "renamed photo.jpg")).id == photo_item.id


def test_status_counts_the_files_of_types_the_app_does_not_take(library, demo_copy):
    (demo_copy / "clip.mov").write_bytes(b"\x00" * 64)
    (demo_copy / "notes" / "drawing.xcf").write_bytes(b"gimp xcf v011")
    (demo_copy / "notes" / "other.xcf").write_bytes(b"gimp xcf v011")
    library.index([demo_copy])
    status = library.status()
    assert status["not_taken"][str(demo_copy)] == {".xcf": 2, ".mov": 1}
    assert status["jobs"]["embed"]["done"] >= 30
    library.forget_folder(demo_copy)
    assert library.status()["not_taken"] == {}
