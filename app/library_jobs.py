"""The window's side of indexing and watching: it starts the jobs in the workers' threads and shows
their progress, pauses, stops and results (a mixin of MainWindow, which owns the widgets it uses)."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QFileDialog, QMessageBox

from app.workers import CAN_PAUSE


class LibraryJobs:
    # -- indexing -----------------------------------------------------------------------------
    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder to the library")
        if folder:
            self.start_index([folder])

    def start_index(self, folders: list[str]) -> None:
        if self._indexing:
            self.statusBar().showMessage("Indexing is already running", 3000)
            return
        self._indexing = True
        self._pace = None
        self.indexing.set_running(True, CAN_PAUSE)
        self.add_folder_action.setEnabled(False)
        self.reindex_action.setEnabled(False)
        if self.library_dialog is not None:
            self.library_dialog.set_indexing(True)
        self.index_requested.emit([str(f) for f in folders])

    def stop_index(self) -> None:
        self.index_worker.request_stop()
        self.statusBar().showMessage("Stopping after the current batch…")

    def pause_index(self, paused: bool) -> None:
        self.index_worker.request_pause(paused)
        self.statusBar().showMessage("Indexing paused (Resume goes on where it stopped)" if paused
                                     else "Indexing resumed")

    def show_pace(self, rate: float, eta: float) -> None:
        self._pace = (rate, None if eta < 0 else eta)

    def show_progress(self, phase: str, done: int, total: int, path: str) -> None:
        rate, eta = self._pace if self._pace and phase == "Embedding" else (None, None)
        self.indexing.show_progress(phase, done, total, path, rate, eta)

    def _index_done(self) -> None:
        self._indexing = False
        self.indexing.set_running(False, CAN_PAUSE)
        self.add_folder_action.setEnabled(True)
        self.reindex_action.setEnabled(True)
        if self.library_dialog is not None:
            self.library_dialog.set_indexing(False)
        self.status_requested.emit()
        self.details_requested.emit()

    def index_finished(self, result) -> None:
        self._index_done()
        self.start_watching()
        report = result.embedding
        failed = len(report.failed) + sum(len(scan.unreadable) for scan in result.scans.values())
        note = "stopped; the rest resumes next time. " if report.stopped else ""
        self.statusBar().showMessage(
            f"Indexing {note}done: {report.embedded} embedded, {report.metadata_only} without a vector, "
            f"{failed} could not be read (see Library…)", 10000)
        if self.search_bar.text() or self._query:
            self.run_search()

    def index_failed(self, message: str) -> None:
        self._index_done()
        QMessageBox.warning(self, "Library", message)

    def library_changed(self, line: str) -> None:
        self.statusBar().showMessage(line, 8000)
        self.status_requested.emit()
        self.details_requested.emit()
        self.run_search()

    # -- watching -----------------------------------------------------------------------------
    def set_following(self, on: bool) -> None:
        """Pause or resume following the folders (Library menu)."""
        self._watch_wanted = on
        if on:
            self.start_watching()
        elif self._watching:
            self.watch_worker.request_stop()

    def watching_stopped(self) -> None:
        self._watching = False
        self.progress.setVisible(self._indexing)
        if not self._watch_wanted:
            self.statusBar().showMessage("Not following folder changes (Library → Follow folder changes)", 8000)
        elif self._threads:  # stopped by itself (a database error…): the message said why; try again later
            QTimer.singleShot(30_000, self.start_watching)

    def start_watching(self) -> None:
        """After the start-up reconcile: follow the library folders in the watch worker's thread."""
        if self._watch_wanted and not self._watching and self._threads:
            self._watching = True
            self.watch_requested.emit()

    def show_watch_news(self, line: str) -> None:
        self.statusBar().showMessage(line, 8000)

    def show_watch_progress(self, done: int, total: int, path: str) -> None:
        self.indexing.show_progress("Indexing", done, total, path)

    def show_changes(self, lines: list) -> None:
        self.progress.setVisible(self._indexing)
        if not lines:
            return
        self.model.thumbnails.clear()  # an edited photo gets a new one (the disk cache keeps the others cheap)
        shown = lines[-1] if len(lines) == 1 else f"{lines[-1]} (and {len(lines) - 1} more changes)"
        self.statusBar().showMessage(shown, 8000)
        self.status_requested.emit()
        self.details_requested.emit()
        if self.search_bar.text() or self._query:
            self.run_search()
