"""The preview pane and what a result offers: Space previews a photo (fit, zoom), a recording (plays,
or says why it cannot) with its transcript, a note with the words that matched highlighted; Enter
opens; the context menu copies the path, finds more like this and searches by it; the weaker-matches
switch."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QObject, Qt, Slot  # noqa: E402
from PySide6.QtGui import QDesktopServices  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.main_window import MainWindow  # noqa: E402
from tests.test_gui import index_and_wait, search_and_wait, shown_paths  # noqa: E402


class OpenedUrls(QObject):
    """Stands in for the desktop's file opener (QDesktopServices' handler for file: URLs)."""

    def __init__(self):
        super().__init__()
        self.urls = []

    @Slot("QUrl")
    def open(self, url) -> None:
        self.urls.append(url.toLocalFile())


@pytest.fixture
def indexed(qtbot, tmp_path, embedder, demo_copy):
    window = MainWindow(str(tmp_path / "gui.db"), embedder, watch=False)
    qtbot.addWidget(window)
    window.show()
    index_and_wait(window, qtbot, demo_copy)
    yield window, demo_copy
    window.close()


def _select(window, qtbot, path) -> None:
    row = shown_paths(window).index(str(path))
    window.results.setFocus()
    window.results.setCurrentIndex(window.model.index(row))


def test_space_previews_each_kind(indexed, qtbot):
    window, demo = indexed
    window.weak_matches.setChecked(True)
    window.search_box.setText("a cat")
    search_and_wait(window, qtbot, window.run_search)

    _select(window, qtbot, demo / "photos" / "chelsea_the_cat.jpg")
    qtbot.keyClick(window.results, Qt.Key.Key_Space)
    assert window.preview.isVisible() and window.preview.pages.currentWidget() is window.preview.photo
    viewer = window.preview.photo.viewer
    qtbot.waitUntil(lambda: not viewer.item.pixmap().isNull(), timeout=10_000)  # decoded off the GUI thread
    assert viewer.item.pixmap().width() == 451  # the photo itself, not its thumbnail
    fitted = viewer.scale_now()
    viewer.zoom(1.25)
    assert viewer.scale_now() == pytest.approx(fitted * 1.25)
    viewer.fit()
    assert viewer.scale_now() == pytest.approx(fitted)
    assert "chelsea_the_cat.jpg" in window.preview.title.text()

    _select(window, qtbot, demo / "notes" / "our_cat.md")  # the open pane follows the selection
    note = window.preview.note
    assert window.preview.pages.currentWidget() is note and "Chelsea" in note.toPlainText()
    word = note.document().find("cat")
    assert word.charFormat().fontWeight() == 700  # the matching word, highlighted
    window.preview.show_hit(window.preview.hit)  # shown again: only the matches are marked, not all
    assert note.document().find("windowsill").charFormat().fontWeight() != 700
    assert note.document().find("cat").charFormat().fontWeight() == 700
    assert "cat" in window.preview.why.text()

    _select(window, qtbot, demo / "sounds" / "cat.ogg")
    recording = window.preview.recording
    assert window.preview.pages.currentWidget() is recording
    qtbot.waitUntil(lambda: recording.wave.pixmap() is not None and not recording.wave.pixmap().isNull(),
                    timeout=10_000)
    if window.playback_problem is None:
        recording.play_button.click()
        from PySide6.QtMultimedia import QMediaPlayer
        qtbot.waitUntil(lambda: recording.player.position() > 0, timeout=10_000)
        assert recording.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState
        recording.play_button.click()
        assert recording.player.playbackState() == QMediaPlayer.PlaybackState.PausedState
    else:  # no audio output here: the transport is off and says why
        assert not recording.play_button.isEnabled() and not recording.position.isEnabled()
        assert recording.why_silent.isVisible() and "no audio output" in recording.why_silent.text()

    memo = demo / "memos" / "memo_03.wav"  # a spoken memo about the cat: its transcript is shown
    assert str(memo) in shown_paths(window)
    _select(window, qtbot, memo)
    assert "cat" in recording.transcript.toPlainText().lower()

    qtbot.keyClick(window.results, Qt.Key.Key_Space)
    assert not window.preview.isVisible()


def test_enter_opens_and_the_menu_acts_on_a_result(indexed, qtbot):
    window, demo = indexed
    opened = OpenedUrls()
    QDesktopServices.setUrlHandler("file", opened, "open")
    try:
        window.search_box.setText("a cup of coffee")
        search_and_wait(window, qtbot, window.run_search)
        coffee = demo / "photos" / "coffee.jpg"
        _select(window, qtbot, coffee)
        qtbot.keyClick(window.results, Qt.Key.Key_Return)
        assert opened.urls == [str(coffee)]
    finally:
        QDesktopServices.unsetUrlHandler("file")

    hit = window.model.hits[shown_paths(window).index(str(coffee))]
    menu = window.actions_menu.menu_for(hit, True, window)
    actions = {action.text(): action for action in menu.actions() if action.text()}
    assert list(actions) == ["Open", "Preview", "Show in folder", "Copy path", "More like this", "Search by this"]
    actions["Copy path"].trigger()
    assert QApplication.clipboard().text() == str(coffee)

    search_and_wait(window, qtbot, lambda: window.weak_matches.setChecked(True))
    search_and_wait(window, qtbot, actions["More like this"].trigger)
    assert "coffee.jpg" in window.query_label.text()
    assert shown_paths(window) and all(h.item.kind == "image" for h in window.model.hits)
    assert str(coffee) not in shown_paths(window)
    search_and_wait(window, qtbot, actions["Search by this"].trigger)
    assert {h.item.kind for h in window.model.hits} > {"image"}  # every kind

    actions["Preview"].trigger()
    assert window.preview.isVisible() and window.preview.hit.item.path == str(coffee)


def test_the_weaker_matches_switch_shows_more(indexed, qtbot):
    window, _demo = indexed
    window.search_box.setText("a rocket")
    search_and_wait(window, qtbot, window.run_search)
    strong = len(window.model.hits)
    assert "weaker matches hidden" in window.message.text()
    assert all(hit.is_relevant for hit in window.model.hits)
    window.message.setText("")
    window.weak_matches.setChecked(True)
    qtbot.waitUntil(lambda: window.message.text() not in ("", "Searching…"), timeout=30_000)
    assert len(window.model.hits) > strong
    assert any(not hit.is_relevant for hit in window.model.hits)
    window.search_box.setFocus()
    qtbot.keyClick(window.search_box, Qt.Key.Key_Escape)
    assert window.model.rowCount() == 0 and window.search_box.text() == ""


def test_a_query_with_no_close_match_says_so(indexed, qtbot):
    window, _demo = indexed
    window.search_box.setText("a violin")  # the demo has no violin, nor anything close
    search_and_wait(window, qtbot, window.run_search)
    assert window.model.rowCount() == 0
    text = window.message.text()
    assert text.startswith("Nothing here is a close match") and "weaker matches hidden" in text
