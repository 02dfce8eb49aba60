"""The desktop window, offscreen: it indexes through its worker thread, shows search results in a
model/view grid with thumbnails decoded off the GUI thread, shows query errors inline, lists the
library in its dialog, and follows the disk with its watcher."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QImage  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.main_window import MainWindow  # noqa: E402
from core.library import user_cache_dir  # noqa: E402


def index_and_wait(window, qtbot, folder):
    # Wait on the window's own state: pytest-qt's signal blockers fire in the emitting (worker)
    # thread, before the window's queued slots have run.
    window.start_index([str(folder)])
    qtbot.waitUntil(lambda: not window._indexing, timeout=120_000)


def search_and_wait(window, qtbot, start):
    window.message.setText("")
    start()
    qtbot.waitUntil(lambda: window.message.text() not in ("", "Searching…"), timeout=30_000)


def shown_paths(window) -> list[str]:
    return [hit.item.path for hit in window.model.hits]


@pytest.fixture
def window(qtbot, tmp_path, embedder):
    window = MainWindow(str(tmp_path / "gui.db"), embedder)
    qtbot.addWidget(window)
    window.show()
    yield window
    window.close()


def test_index_then_search_shows_the_cat_first_with_thumbnails(window, qtbot, demo_copy, tmp_path):
    index_and_wait(window, qtbot, demo_copy)
    assert not window._indexing
    qtbot.waitUntil(lambda: "pictures" in window.library_label.text(), timeout=10_000)

    window.weak_matches.setChecked(True)  # recordings too
    window.search_box.setText("a cat")
    search_and_wait(window, qtbot, window.run_search)
    assert window.model.rowCount() == len(window.model.hits) > 0
    assert "results" in window.message.text()
    assert str(demo_copy / "photos" / "chelsea_the_cat.jpg") in shown_paths(window)[:2]
    note = shown_paths(window).index(str(demo_copy / "notes" / "our_cat.md"))
    tooltip = window.model.data(window.model.index(note), Qt.ItemDataRole.ToolTipRole)
    assert "Found by" in tooltip and "cat" in tooltip  # why it matched
    drawn = [row for row, hit in enumerate(window.model.hits) if hit.item.kind in ("image", "audio")]
    assert any(window.model.hits[row].item.kind == "audio" for row in drawn)
    # thumbnails (photos; recordings' waveforms) are made in the pool and arrive later, then are
    # on disk in the cache folder
    qtbot.waitUntil(lambda: all(window.model.thumbnail(row) is not None for row in drawn), timeout=20_000)
    assert list((user_cache_dir() / "thumbnails").glob("*.png"))
    window.grab().save(str(tmp_path / "main_window.png"))
    assert (tmp_path / "main_window.png").stat().st_size > 0

    window.kind_filter.setCurrentIndex(3)  # notes only
    qtbot.waitUntil(lambda: window.model.rowCount() > 0 and all(
        path.endswith((".md", ".txt")) for path in shown_paths(window)), timeout=30_000)


def test_typing_a_grammar_query_shows_results_and_a_bad_one_an_inline_error(window, qtbot, demo_copy):
    index_and_wait(window, qtbot, demo_copy)
    coffee = demo_copy / "photos" / "coffee.jpg"
    qtbot.keyClicks(window.search_box, f'"a cup of coffee" + {coffee} - a cat')  # debounced, as typed
    qtbot.waitUntil(lambda: window.message.text().endswith("results") or "weak" in window.message.text(),
                    timeout=30_000)
    assert window.model.rowCount() > 0 and str(coffee) not in shown_paths(window)
    assert not window.query_error.isVisible()

    rows = window.model.rowCount()
    window.search_box.setText('"a cup + tea')
    search_and_wait(window, qtbot, window.run_search)
    assert window.query_error.isVisible()
    assert "never closed" in window.query_error.text() and "^" in window.query_error.text()
    assert window.model.rowCount() == rows  # the last good results stay
    assert not QApplication.activeModalWidget()


def test_search_by_dropped_or_pasted_file(window, qtbot, demo_copy):
    index_and_wait(window, qtbot, demo_copy)
    query = demo_copy / "photos" / "coffee.jpg"
    search_and_wait(window, qtbot, lambda: window.search_by_file(str(query)))
    assert shown_paths(window) and str(query) not in shown_paths(window)
    assert "coffee.jpg" in window.query_label.text()

    QApplication.clipboard().setImage(QImage(str(demo_copy / "photos" / "chelsea_the_cat.jpg")))
    search_and_wait(window, qtbot, window.paste_query)
    assert "pasted-" in window.query_label.text()
    assert str(demo_copy / "photos" / "chelsea_the_cat.jpg") in shown_paths(window)[:3]


def test_date_and_folder_filters_reach_the_door(window, qtbot, demo_copy):
    index_and_wait(window, qtbot, demo_copy)
    qtbot.waitUntil(lambda: window.folder_filter.count() == 2, timeout=10_000)
    window.search_box.setText("a cat")
    search_and_wait(window, qtbot, window.run_search)
    assert window.model.rowCount() > 0
    window.folder_filter.setCurrentIndex(1)
    assert window._filters()["folder"] == str(demo_copy)
    from PySide6.QtCore import QDate
    window.message.setText("")
    window.before_edit.setDate(QDate(1970, 1, 2))  # nothing is that old
    qtbot.waitUntil(lambda: window.message.text().startswith("No results"), timeout=30_000)
    assert window.model.rowCount() == 0


def test_search_errors_are_shown_not_raised(window, qtbot, tmp_path):
    bogus = tmp_path / "unknown.xyz"
    bogus.write_text("?")
    search_and_wait(window, qtbot, lambda: window.search_by_file(str(bogus)))
    assert "not a photo, recording or note" in window.query_error.text() + window.message.text()
    assert Path(bogus).read_text() == "?"


def test_library_dialog_lists_folders_and_failed_files(window, qtbot, demo_copy, tmp_path):
    (demo_copy / "notes" / "broken.jpg").write_bytes(b"not a jpeg at all")
    index_and_wait(window, qtbot, demo_copy)
    dialog = window.show_library()
    qtbot.waitUntil(lambda: dialog.folders.topLevelItemCount() == 1 and dialog.failed.topLevelItemCount() >= 1,
                    timeout=10_000)
    row = dialog.folders.topLevelItem(0)
    assert row.text(0) == str(demo_copy) and int(row.text(1)) > 10
    failed = [dialog.failed.topLevelItem(i).text(0) for i in range(dialog.failed.topLevelItemCount())]
    assert str(demo_copy / "notes" / "broken.jpg") in failed
    assert dialog.failed.topLevelItem(0).text(1)  # with its reason
    dialog.grab().save(str(tmp_path / "library_dialog.png"))

    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(demo_copy / "photos" / "coffee.jpg", other / "coffee.jpg")
    dialog.add_requested.emit(str(other))
    qtbot.waitUntil(lambda: dialog.folders.topLevelItemCount() == 2, timeout=60_000)
    dialog.remove_requested.emit(str(other))  # what the confirmation's OK sends
    qtbot.waitUntil(lambda: dialog.folders.topLevelItemCount() == 1, timeout=20_000)
    assert (other / "coffee.jpg").exists()


def test_a_file_created_in_a_watched_folder_appears_in_search(window, qtbot, demo_copy):
    index_and_wait(window, qtbot, demo_copy)
    assert window._watching
    window.search_box.setText("rocket launch countdown spaceship")
    window.kind_filter.setCurrentIndex(3)  # notes only
    search_and_wait(window, qtbot, window.run_search)
    note = demo_copy / "notes" / "launch.txt"
    assert str(note) not in shown_paths(window)
    qtbot.wait(1500)  # the watcher's own start-up reconcile
    note.write_text("The rocket launch countdown: the spaceship lifts off into space.\n")
    qtbot.waitUntil(lambda: str(note) in shown_paths(window), timeout=5_000)


def test_keys_focus_and_clear_the_search_field(window, qtbot):
    window.results.setFocus()
    qtbot.keyClick(window.results, "f", modifier=Qt.KeyboardModifier.ControlModifier)
    assert window.search_box.hasFocus()
    qtbot.keyClicks(window.search_box, "photos/cat")  # a "/" typed in the field stays text
    assert window.search_box.text() == "photos/cat"
    qtbot.keyClick(window.search_box, Qt.Key.Key_Escape)
    assert window.search_box.text() == ""


def test_an_empty_date_filter_opens_its_calendar_on_today(window, qtbot):
    from PySide6.QtCore import QDate
    calendar = window.after_edit.calendarWidget()
    calendar.window().show()  # the popup that holds the calendar, as a click on the arrow does
    assert calendar.yearShown() == QDate.currentDate().year()
    calendar.window().hide()
    window.before_edit.setDate(QDate(2001, 2, 3))
    assert window._filters()["before"] == "2001-02-03"
    window.reset_filters()
    assert window._filters() == {"after": None, "before": None, "folder": None}


def test_progress_says_done_total_rate_and_time_left(window, monkeypatch):
    clock = iter([100.0, 104.0])
    monkeypatch.setattr("app.indexing_status.time.monotonic", lambda: next(clock))
    window.show_progress("Embedding", 0, 50, "/a/first.jpg")
    window.show_progress("Embedding", 10, 50, "/a/tenth.jpg")
    assert window.progress.value() == 10 and window.progress.maximum() == 50
    assert window.statusBar().currentMessage() == "Embedding: tenth.jpg · 2.5/s, about 16 s left"


def test_thumbnails_honour_exif_orientation_and_are_cached(tmp_path):
    from PIL import Image

    from app.thumbnails import cache_file, make_thumbnail
    photo = tmp_path / "sideways.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown rotated 90° clockwise: portrait
    Image.new("RGB", (400, 200), "red").save(photo, exif=exif)
    thumbnail = make_thumbnail(str(photo))
    assert thumbnail.height() > thumbnail.width()
    assert cache_file(str(photo)).exists()
    assert make_thumbnail(str(tmp_path / "missing.jpg")).isNull()


def test_dropping_or_pasting_a_path_searches_by_it(window, qtbot, demo_copy):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    index_and_wait(window, qtbot, demo_copy)
    coffee = demo_copy / "photos" / "coffee.jpg"
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(coffee))])
    drop = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    search_and_wait(window, qtbot, lambda: window.dropEvent(drop))
    assert "coffee.jpg" in window.query_label.text() and str(coffee) not in shown_paths(window)

    QApplication.clipboard().setText(str(demo_copy / "photos" / "chelsea_the_cat.jpg"))
    search_and_wait(window, qtbot, window.paste_query)
    assert "chelsea_the_cat.jpg" in window.query_label.text()
    QApplication.clipboard().setText("just words")
    assert window.paste_query() is False  # plain text is pasted into the field as usual


def test_following_folder_changes_pauses_and_resumes(window, qtbot, demo_copy):
    index_and_wait(window, qtbot, demo_copy)
    assert window._watching
    window.follow_action.setChecked(False)
    # after the reconcile under way, if any (its embed and melody jobs; minutes with both cores busy)
    qtbot.waitUntil(lambda: not window._watching, timeout=180_000)
    assert "Not following" in window.statusBar().currentMessage()
    window.follow_action.setChecked(True)
    assert window._watching
    window.search_box.setText("a shopping list: milk, eggs, bread and butter")
    window.kind_filter.setCurrentIndex(3)  # notes only
    search_and_wait(window, qtbot, window.run_search)
    qtbot.wait(1500)  # the watcher's start-up reconcile
    note = demo_copy / "notes" / "groceries.txt"
    note.write_text("Shopping list: milk, eggs, bread, butter, apples.\n")
    qtbot.waitUntil(lambda: str(note) in shown_paths(window), timeout=20_000)


def test_emitting_a_signal_keeps_pythons_reference_counts():
    """PySide6 6.12.0's emit() handed back True without a reference of its own: every emit took one
    from True, and the window died (bool_dealloc) after enough progress signals. pyproject.toml
    leaves that version out; this catches one like it."""
    import sys

    from PySide6.QtCore import QObject, Signal

    class Emitter(QObject):
        said = Signal(float, float)

    emitter = Emitter()
    heard = []
    emitter.said.connect(lambda rate, eta: heard.append(rate))
    before = sys.getrefcount(True), sys.getrefcount(False), sys.getrefcount(None)
    for _ in range(200):
        emitter.said.emit(1.0, -1.0)
    assert len(heard) == 200
    after = sys.getrefcount(True), sys.getrefcount(False), sys.getrefcount(None)
    assert all(now >= then - 5 for now, then in zip(after, before)), (before, after)  # 6.12.0: True 200 down
