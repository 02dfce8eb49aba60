"""The desktop window, offscreen: it indexes through its worker thread and shows search results."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from app.main_window import MainWindow  # noqa: E402


def index_and_wait(window, qtbot, folder):
    # Wait on the window's own state: pytest-qt's signal blockers fire in the emitting (worker)
    # thread, before the window's queued slots have run.
    window.start_index([str(folder)])
    qtbot.waitUntil(lambda: not window._indexing, timeout=120_000)


def search_and_wait(window, qtbot, start):
    window.message.setText("")
    start()
    qtbot.waitUntil(lambda: window.message.text() not in ("", "Searching…"), timeout=30_000)


@pytest.fixture
def window(qtbot, tmp_path, embedder):
    window = MainWindow(str(tmp_path / "gui.db"), embedder)
    qtbot.addWidget(window)
    window.show()
    yield window
    window.close()


def test_index_then_search_shows_the_cat_first(window, qtbot, demo_copy, tmp_path):
    index_and_wait(window, qtbot, demo_copy)
    assert not window.progress.isVisible()
    qtbot.waitUntil(lambda: "pictures" in window.library_label.text(), timeout=10_000)

    window.search_box.setText("a cat")
    search_and_wait(window, qtbot, window.run_search)
    assert window.results.count() > 0
    first_two = [window.results.item(i).toolTip() for i in range(2)]
    assert str(demo_copy / "photos" / "chelsea_the_cat.jpg") in first_two
    assert not window.results.item(0).icon().isNull()
    window.grab().save(str(tmp_path / "main_window.png"))
    assert (tmp_path / "main_window.png").stat().st_size > 0

    window.kind_filter.setCurrentIndex(3)  # notes only
    qtbot.waitUntil(lambda: window.results.count() > 0 and all(
        window.results.item(i).toolTip().endswith((".md", ".txt")) for i in range(window.results.count())),
        timeout=30_000)


def test_search_by_dropped_file(window, qtbot, demo_copy):
    index_and_wait(window, qtbot, demo_copy)
    query = demo_copy / "photos" / "coffee.jpg"
    search_and_wait(window, qtbot, lambda: window.search_by_file(str(query)))
    shown = [window.results.item(i).toolTip() for i in range(window.results.count())]
    assert shown and str(query) not in shown
    assert "coffee.jpg" in window.query_label.text()


def test_search_errors_are_shown_not_raised(window, qtbot, tmp_path):
    bogus = tmp_path / "unknown.xyz"
    bogus.write_text("?")
    search_and_wait(window, qtbot, lambda: window.search_by_file(str(bogus)))
    assert "not a photo, recording or note" in window.message.text()
    assert Path(bogus).read_text() == "?"
