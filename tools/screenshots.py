"""Save screenshots of the window over a copy of the demo library (offscreen):
docs/screenshot-main-window.png (results for "a cat"), docs/screenshot-sound-search.png ("a phone
ringing") and docs/screenshot-library-dialog.png.

    python tools/screenshots.py [OUT_DIR]
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def wait_until(app, condition, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("the window did not get there in time")
        app.processEvents()
        time.sleep(0.02)


def search(app, window, text: str) -> None:
    """Type a query, wait for its results and their thumbnails."""
    window.search_box.setText(text)
    window.message.setText("")
    window.run_search()
    wait_until(app, lambda: window.message.text() not in ("", "Searching…"))
    photos = [row for row, hit in enumerate(window.model.hits) if hit.item.kind in ("image", "audio")]
    wait_until(app, lambda: all(window.model.thumbnail(row) is not None for row in photos))
    window.statusBar().clearMessage()
    for _ in range(20):
        app.processEvents()


def main(out: Path) -> None:
    from PySide6.QtWidgets import QApplication

    work = Path(tempfile.mkdtemp(prefix="trimodal-shots-"))
    os.environ["TRIMODAL_BIND_HOME"] = str(work / "home")  # a private database and thumbnail cache
    from app.main_window import MainWindow
    from core.library import load_model

    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("Trimodal-Bind")
    library = work / "Demo library"
    shutil.copytree(REPO / "resources" / "demo", library)
    window = MainWindow(str(work / "library.db"), load_model(), watch=False)
    window.resize(1000, 720)
    window.show()
    window.start_index([str(library)])
    wait_until(app, lambda: not window._indexing)
    search(app, window, "a cat")
    out.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(out / "screenshot-main-window.png"))

    search(app, window, "a phone ringing")
    print("a phone ringing:", [Path(hit.item.path).name for hit in window.model.hits][:5])
    window.grab().save(str(out / "screenshot-sound-search.png"))

    dialog = window.show_library()
    dialog.resize(900, 420)
    wait_until(app, lambda: dialog.folders.topLevelItemCount() == 1)
    dialog.folders.topLevelItem(0).setSelected(True)
    for _ in range(20):
        app.processEvents()
    dialog.grab().save(str(out / "screenshot-library-dialog.png"))
    window.close()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs")
