"""Settings kept with QSettings and applied; the About box's licences; the first run's invitation
over the demo library; pausing and resuming indexing from the Library dialog."""

from __future__ import annotations

import os

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QApplication  # noqa: E402

from app.about import model_licences  # noqa: E402
from app.main_window import MainWindow  # noqa: E402
from app.results import THUMBNAIL_SIZES, card_size  # noqa: E402
from app.settings import AppSettings  # noqa: E402
from app.workers import CAN_PAUSE  # noqa: E402
from tests.test_gui import index_and_wait, search_and_wait, shown_paths  # noqa: E402


@pytest.fixture
def window(qtbot, tmp_path, embedder):
    window = MainWindow(str(tmp_path / "gui.db"), embedder, watch=False)
    qtbot.addWidget(window)
    window.show()
    yield window
    window.close()


def test_settings_are_kept_and_applied(window, qtbot, monkeypatch):
    monkeypatch.delenv("TRIMODAL_BIND_OCR", raising=False)  # the window sets it: restored after the test
    dialog = window.show_settings()
    dialog.ocr.setCurrentIndex(dialog.ocr.findData("off"))
    dialog.transcripts.setChecked(False)
    dialog.cpu.setCurrentIndex(dialog.cpu.findData("low"))
    dialog.thumbnails.setCurrentIndex(dialog.thumbnails.findData("large"))
    dialog.theme.setCurrentIndex(dialog.theme.findData("dark"))
    dialog.accept()
    again = AppSettings()  # read back from the settings file, as the next start would
    assert [again.get(key) for key in ("ocr", "transcripts", "cpu", "thumbnails", "theme")] == \
        ["off", False, "low", "large", "dark"]
    assert again.threads() == 1
    assert os.environ["TRIMODAL_BIND_OCR"] == "off"  # the engine's OCR setting, in this process
    assert window.results.gridSize().width() > card_size(THUMBNAIL_SIZES["medium"]).width()
    assert window.model.loader.size == THUMBNAIL_SIZES["large"]
    assert QApplication.palette().window().color().lightness() < 80  # dark
    dialog = window.show_settings()
    dialog.theme.setCurrentIndex(dialog.theme.findData("light"))
    dialog.accept()
    assert QApplication.palette().window().color().lightness() > 180


def test_about_lists_every_model_licence(window):
    dialog = window.show_about()
    text = dialog.text.toPlainText()
    assert window._embedder.model_id in text
    for name in ("all-MiniLM-L6-v2", "EfficientNet-Lite0", "aisfx", "Whisper tiny.en", "Silero VAD"):
        assert name in text
    assert "CC BY 4.0" in text and "A. B. Ma and A. Lerch" in text
    licences = model_licences()
    assert sum(kind == "item" for kind, _text in licences) >= 5
    assert any(kind == "text" and text.startswith("Training data") and "Tux Paint stamps" in text
               for kind, text in licences)  # a paragraph stays one paragraph
    dialog.close()


def test_first_run_invites_to_add_folders_and_then_opens_the_users_library(qtbot, tmp_path, embedder,
                                                                          demo_copy):
    window = MainWindow(str(tmp_path / "demo.db"), embedder, watch=False, first_run=True)
    qtbot.addWidget(window)
    window.show()
    assert window.invitation.isVisible() and "demo library" in window.invitation.findChild(
        type(window.message)).text()
    mine = tmp_path / "my photos"
    mine.mkdir()
    (mine / "coffee.jpg").write_bytes((demo_copy / "photos" / "coffee.jpg").read_bytes())
    window.open_own_library(str(mine), str(tmp_path / "mine.db"))
    assert not window.invitation.isVisible() and AppSettings().get("first_run_done")
    qtbot.waitUntil(lambda: not window._indexing, timeout=120_000)
    window.weak_matches.setChecked(True)
    window.search_box.setText("a cup of coffee")
    search_and_wait(window, qtbot, window.run_search)
    assert shown_paths(window) == [str(mine / "coffee.jpg")]  # the user's library, not the demo's
    window.close()


@pytest.mark.skipif(not CAN_PAUSE, reason="the door cannot pause indexing yet")
def test_pause_and_resume_from_the_library_dialog(window, qtbot, demo_copy):
    dialog = window.show_library()
    window.start_index([str(demo_copy)])
    assert dialog.pause_button.isEnabled()
    dialog.pause_button.click()  # as soon as it starts: before the first batch is done
    assert window.indexing.pause_button.isChecked() and dialog.pause_button.text() == "Resume indexing"
    qtbot.wait(3000)
    assert window._indexing  # held, not finished
    dialog.pause_button.click()
    assert not window.indexing.pause_button.isChecked()
    index_and_wait(window, qtbot, demo_copy)
    qtbot.waitUntil(lambda: "pictures" in window.library_label.text(), timeout=10_000)
    assert not dialog.pause_button.isEnabled() and dialog.rescan_button.isEnabled()
