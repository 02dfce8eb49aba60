"""Save screenshots of the window's main states over a copy of the demo library (offscreen) to
docs/screenshots/: indexing in progress (first run), results for words, for a dropped photo and
for a recorded sound, the preview of each kind, recording from the microphone, the Library,
Settings and About dialogs.

    python tools/screenshots.py [OUT_DIR]
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def wait_until(app, condition, timeout: float = 180.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("the window did not get there in time")
        app.processEvents()
        time.sleep(0.02)


def settle(app, rounds: int = 30) -> None:
    for _ in range(rounds):
        app.processEvents()
        time.sleep(0.01)


def wait_for_results(app, window) -> None:
    wait_until(app, lambda: window.message.text() not in ("", "Searching…"))
    pictures = [row for row, hit in enumerate(window.model.hits) if hit.item.kind in ("image", "audio")]
    wait_until(app, lambda: all(window.model.thumbnail(row) is not None for row in pictures))
    window.statusBar().clearMessage()
    settle(app)


def search(app, window, text: str) -> None:
    window.search_box.setText(text)
    window.message.setText("")
    window.run_search()
    wait_for_results(app, window)


def preview(app, window, name: str) -> None:
    row = next(row for row, hit in enumerate(window.model.hits) if hit.item.path.endswith(name))
    window.results.setCurrentIndex(window.model.index(row))
    window.show_preview(window.model.hits[row])
    pane = window.preview
    if pane.hit.item.kind == "image":
        wait_until(app, lambda: not pane.photo.viewer.item.pixmap().isNull())
    elif pane.hit.item.kind == "audio":
        wait_until(app, lambda: pane.recording.wave.pixmap() is not None and not pane.recording.wave.pixmap().isNull())
    settle(app)


class SlowWavStream:
    """An input stream that plays a file in real time (sounddevice.InputStream's shape), for the
    recording screenshot on a machine without a microphone."""

    def __init__(self, path, samplerate, channels, dtype, callback):
        import soundfile
        import soxr
        audio, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
        self.audio = soxr.resample(audio.mean(axis=1), rate, samplerate).astype("float32").reshape(-1, 1)
        self.callback, self.running = callback, True
        self.fed = threading.Event()

    def start(self) -> None:
        def feed() -> None:
            for start in range(0, len(self.audio), 800):
                if not self.running:
                    return
                block = self.audio[start:start + 800]
                self.callback(block, len(block), None, None)
                time.sleep(0.05)
            self.fed.set()
        threading.Thread(target=feed, daemon=True).start()

    def stop(self) -> None:
        self.running = False

    def close(self) -> None:
        pass


def main(out: Path) -> None:
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent
    from PySide6.QtWidgets import QApplication

    work = Path(tempfile.mkdtemp(prefix="trimodal-shots-"))
    os.environ["TRIMODAL_BIND_HOME"] = str(work / "home")  # a private database, cache and settings
    from app.main_window import MainWindow
    from core.library import load_model

    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("Trimodal-Bind")
    library = work / "Demo library"
    shutil.copytree(REPO / "resources" / "demo", library)
    rooster = library / "sounds" / "rooster.ogg"
    streams = []

    def microphone(**kwargs):
        streams.append(SlowWavStream(rooster, **kwargs))
        return streams[-1]

    window = MainWindow(str(work / "library.db"), load_model(), watch=False, first_run=True,
                        input_stream=microphone, input_problem=None)
    window.resize(1100, 720)
    window.show()
    out.mkdir(parents=True, exist_ok=True)
    shots = []

    def save(name: str, widget=None) -> None:
        settle(app)
        (widget or window).grab().save(str(out / name))
        shots.append(name)

    window.start_index([str(library)])
    wait_until(app, lambda: window.progress.maximum() > 0 and window.progress.value() >= 4
               and "Embedding" in window.progress.format())
    save("indexing.png")
    wait_until(app, lambda: not window._indexing)
    window.dismiss_invitation()

    search(app, window, "a cat")
    save("search-text.png")
    preview(app, window, "chelsea_the_cat.jpg")
    save("preview-photo.png")
    preview(app, window, "our_cat.md")
    save("preview-note.png")
    window.weak_matches.setChecked(True)
    search(app, window, "a cat")
    preview(app, window, "memo_03.wav")
    save("preview-recording.png")
    window.close_preview()
    window.weak_matches.setChecked(False)

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(library / "photos" / "coffee.jpg"))])
    window.message.setText("")
    window.dropEvent(QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                Qt.KeyboardModifier.NoModifier))
    wait_for_results(app, window)
    save("search-dropped-photo.png")

    window.microphone.start()
    wait_until(app, lambda: window.microphone.meter.value() > 5, timeout=20)
    time.sleep(1.2)
    save("recording.png")
    wait_until(app, streams[-1].fed.is_set, timeout=30)
    window.message.setText("")
    window.microphone.recorder.stop()
    wait_for_results(app, window)
    save("search-sound.png")

    dialog = window.show_library()
    dialog.resize(900, 420)
    wait_until(app, lambda: dialog.folders.topLevelItemCount() == 1)
    dialog.folders.topLevelItem(0).setSelected(True)
    save("library-dialog.png", dialog)
    dialog.close()
    settings = window.show_settings()
    save("settings.png", settings)
    settings.reject()
    about = window.show_about()
    save("about.png", about)
    about.close()
    window.close()
    shutil.rmtree(work, ignore_errors=True)
    print("saved", ", ".join(shots), "to", out)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "screenshots")
