"""Start the desktop app. The first run (no library yet, never dismissed) opens on the demo library
with an invitation to add folders."""

from __future__ import annotations

import sys

from core.library import DEMO_LIBRARY_DIR, ModelError, default_db_path, demo_db_path, load_model


def is_first_run(settings) -> bool:
    return not settings.get("first_run_done") and not default_db_path().exists()


def run_app(db_path: str | None = None, demo: bool = False) -> int:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication, QMessageBox

    from app.main_window import MainWindow
    from app.settings import AppSettings

    # High-DPI: fractional scale factors (150 %) as they are, not rounded to 1x or 2x.
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("Trimodal-Bind")
    settings = AppSettings()
    if db_path is None and not demo and is_first_run(settings):
        demo, db_path = True, str(demo_db_path())
    threads = settings.threads()
    try:
        embedder = load_model(threads=threads, transcribe=bool(settings.get("transcripts")))
    except ModelError as exc:
        QMessageBox.critical(None, "Trimodal-Bind cannot start", f"The bundled model is damaged:\n{exc}")
        return 1
    window = MainWindow(str(db_path or default_db_path()), embedder, settings=settings, first_run=demo)
    window.show()
    # Reconcile on start-up (cheap when nothing changed); the demo adds its own folder first.
    window.start_index([str(DEMO_LIBRARY_DIR)] if demo else [])
    return app.exec()
