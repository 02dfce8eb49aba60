"""Start the desktop app."""

from __future__ import annotations

import sys

from core.library import DEMO_LIBRARY_DIR, ModelError, default_db_path, load_model


def run_app(db_path: str | None = None, demo: bool = False) -> int:
    from PySide6.QtWidgets import QApplication, QMessageBox

    from app.main_window import MainWindow
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("Trimodal-Bind")
    try:
        embedder = load_model()
    except ModelError as exc:
        QMessageBox.critical(None, "Trimodal-Bind cannot start", f"The bundled model is damaged:\n{exc}")
        return 1
    window = MainWindow(str(db_path or default_db_path()), embedder)
    if demo:
        window.message.setText("This is the demo library. Try “a cat”, “a cup of coffee” or “a rocket”, "
                               "or drop one of its photos or notes here.")
    window.show()
    # Reconcile on start-up (cheap when nothing changed); the demo adds its own folder first.
    window.start_index([str(DEMO_LIBRARY_DIR)] if demo else [])
    return app.exec()
