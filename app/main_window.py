"""The main window: a search field (the query grammar, typed, dropped or pasted), filters for kind,
date and folder, the results grid, the library dialog, and status while indexing and watching."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from PySide6.QtCore import QDate, QEvent, QMetaObject, QObject, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices, QImage, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from app.library_dialog import LibraryDialog
from app.results import ResultsModel, ResultsView
from app.thumbnails import cache_dir
from app.workers import IndexWorker, SearchRequest, SearchWorker, WatchWorker, start_in_thread
from core.kinds import KIND_NAMES, KINDS, kind_of
from core.library import VERSION, can_search_by, printable

KIND_FILTERS = [("Everything", KIND_NAMES)] + [(kind.plural, (kind.name,)) for kind in KINDS.values()]
NO_DATE = QDate(1900, 1, 1)  # a date edit at this value shows "any"
# Calibrated score (standard deviations above the kind's typical similarity) below which a hit is
# a weak match, hidden unless the user asks for weak matches.
STRONG_MATCH = 1.0


class _CalendarOpensToday(QObject):
    """An empty date filter's calendar opens on this month, not on the January 1900 that means "any"."""

    def __init__(self, edit: QDateEdit):
        super().__init__(edit)
        self.edit = edit

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.Show and self.edit.date() == NO_DATE:
            today = QDate.currentDate()
            watched.setCurrentPage(today.year(), today.month())
        return False


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    return f"{seconds} s" if seconds < 60 else f"{seconds // 60} min {seconds % 60:02d} s"


def _date_edit(tooltip: str) -> QDateEdit:
    edit = QDateEdit()
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("yyyy-MM-dd")
    edit.setMinimumDate(NO_DATE)
    edit.setSpecialValueText("any date")
    edit.setDate(NO_DATE)
    edit.setToolTip(tooltip)
    edit.calendarWidget().installEventFilter(_CalendarOpensToday(edit))
    return edit


class _PasteFilter(QObject):
    """Ctrl+V in the search field or the grid: an image or a file on the clipboard searches by it."""

    def __init__(self, window: "MainWindow"):
        super().__init__(window)
        self.window = window

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.KeyPress and event.matches(QKeySequence.StandardKey.Paste):
            return self.window.paste_query()
        return False


class MainWindow(QMainWindow):
    search_requested = Signal(object)
    index_requested = Signal(list)
    status_requested = Signal()
    details_requested = Signal()
    forget_requested = Signal(str)
    exclude_requested = Signal(str, list)
    watch_requested = Signal()

    def __init__(self, db_path: str, embedder, watch: bool = True):
        super().__init__()
        self.setWindowTitle("Trimodal-Bind")
        self.resize(980, 680)
        self.setAcceptDrops(True)
        self._embedder = embedder
        self._request_id = 0
        self._file_query = ""
        self._indexing = False
        self._watch_wanted = watch
        self._watching = False
        self._phase = None  # ((phase, total), started, done then) for the rate and the ETA
        self.library_dialog: LibraryDialog | None = None

        self._build_actions()
        self._build_widgets()
        self._start_workers(db_path, embedder)
        self._debounce = QTimer(self, singleShot=True, interval=250)
        self._debounce.timeout.connect(self.run_search)
        self.search_box.textEdited.connect(lambda _text: self._debounce.start())
        self.status_requested.emit()
        self.details_requested.emit()
        self._add_shortcuts()

    def _add_shortcuts(self) -> None:
        """Ctrl+F and / focus the search field; Esc clears it (Enter on a card opens it)."""
        def focus_search() -> None:
            self.search_box.setFocus()
            self.search_box.selectAll()

        for keys in (QKeySequence.StandardKey.Find, QKeySequence("/")):
            shortcut = QShortcut(keys, self)
            shortcut.activated.connect(focus_search)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self).activated.connect(self.clear_search)

    def clear_search(self) -> None:
        self._file_query = ""
        self.query_label.setVisible(False)
        self.search_box.clear()
        self.run_search()

    # -- construction -------------------------------------------------------------------------
    def _build_actions(self) -> None:
        toolbar = self.addToolBar("Library")
        toolbar.setMovable(False)
        self.library_action = QAction("Library…", self)
        self.library_action.triggered.connect(self.show_library)
        self.add_folder_action = QAction("Add folder…", self)
        self.add_folder_action.triggered.connect(self.choose_folder)
        self.reindex_action = QAction("Re-scan library", self)
        self.reindex_action.triggered.connect(lambda: self.start_index([]))
        self.follow_action = QAction("Follow folder changes", self, checkable=True, checked=True)
        self.follow_action.setToolTip("Keep the library in step with its folders while the window is open")
        self.follow_action.toggled.connect(self.set_following)
        self.about_action = QAction("About", self)
        self.about_action.triggered.connect(self.show_about)
        for action in (self.library_action, self.add_folder_action, self.reindex_action, self.about_action):
            toolbar.addAction(action)
        menu = self.menuBar().addMenu("&Library")
        for action in (self.library_action, self.add_folder_action, self.reindex_action, self.follow_action):
            menu.addAction(action)
        self.menuBar().addMenu("&Help").addAction(self.about_action)

    def _build_widgets(self) -> None:
        central = QWidget(self)
        layout = QVBoxLayout(central)
        row = QHBoxLayout()
        self.search_box = QLineEdit(placeholderText="Search photos, recordings and notes, "
                                                    "or a sum: \"beach\" + sunset.jpg - people")
        self.search_box.setClearButtonEnabled(True)
        self.search_box.setToolTip("Words, or a sum: \"beach\" + sunset.jpg - people (a file by its path; "
                                   "2:word weighs a term double). Drop a file or paste an image to search by it.")
        self.search_box.returnPressed.connect(self.run_search)
        self.kind_filter = QComboBox()
        for label, _kinds in KIND_FILTERS:
            self.kind_filter.addItem(label)
        self.kind_filter.currentIndexChanged.connect(lambda _i: self.run_search())
        self.weak_matches = QCheckBox("Weak matches")
        self.weak_matches.setToolTip("Also show results that are only loosely related")
        self.weak_matches.toggled.connect(lambda _on: self.run_search())
        row.addWidget(self.search_box, 1)
        row.addWidget(self.kind_filter)
        row.addWidget(self.weak_matches)
        layout.addLayout(row)

        filters = QHBoxLayout()
        self.after_edit = _date_edit("Only items taken (EXIF) or saved on this day or later")
        self.before_edit = _date_edit("Only items taken (EXIF) or saved on this day or earlier")
        self.folder_filter = QComboBox()
        self.folder_filter.addItem("All folders", None)
        self.folder_filter.setMinimumContentsLength(24)
        self.folder_filter.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        for widget in (self.after_edit, self.before_edit):
            widget.dateChanged.connect(lambda _d: self.run_search())
        self.folder_filter.currentIndexChanged.connect(lambda _i: self.run_search())
        self.clear_filters = QPushButton("Any date, any folder")
        self.clear_filters.setFlat(True)
        self.clear_filters.clicked.connect(self.reset_filters)
        for widget in (QLabel("From"), self.after_edit, QLabel("to"), self.before_edit, QLabel("in"),
                       self.folder_filter, self.clear_filters):
            filters.addWidget(widget)
        filters.addStretch(1)
        layout.addLayout(filters)

        self.query_error = QLabel("")
        self.query_error.setStyleSheet("color: #b3261e; font-family: monospace;")
        self.query_error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.query_error.setVisible(False)
        layout.addWidget(self.query_error)
        self.query_label = QLabel("")
        self.query_label.setVisible(False)
        layout.addWidget(self.query_label)

        style = self.style()
        self._kind_icons = {
            "image": style.standardIcon(QStyle.StandardPixmap.SP_FileIcon),
            "audio": style.standardIcon(QStyle.StandardPixmap.SP_MediaVolume),
            "text": style.standardIcon(QStyle.StandardPixmap.SP_FileDialogDetailedView),
        }
        self.model = ResultsModel(self)
        self.results = ResultsView(self.model, self._kind_icons)
        self.results.activated.connect(self.open_result)
        self.results.customContextMenuRequested.connect(self.show_result_menu)
        layout.addWidget(self.results, 1)

        self.message = QLabel("Type what you are looking for.")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self.setCentralWidget(central)
        paste = _PasteFilter(self)
        self.search_box.installEventFilter(paste)
        self.results.installEventFilter(paste)

        self.progress = QProgressBar()
        self.progress.setMaximumWidth(260)
        self.progress.setVisible(False)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setVisible(False)
        self.stop_button.clicked.connect(self.stop_index)
        self.library_label = QLabel("")
        self.statusBar().addPermanentWidget(self.library_label)
        self.statusBar().addPermanentWidget(self.progress)
        self.statusBar().addPermanentWidget(self.stop_button)

    def _start_workers(self, db_path: str, embedder) -> None:
        self.search_worker = SearchWorker(db_path, embedder)
        self.index_worker = IndexWorker(db_path, embedder)
        self.watch_worker = WatchWorker(db_path, embedder)
        self._threads = [
            start_in_thread(self.search_worker, "search"),
            start_in_thread(self.index_worker, "index"),
            start_in_thread(self.watch_worker, "watch"),
        ]
        self.search_requested.connect(self.search_worker.run_query)
        self.status_requested.connect(self.search_worker.refresh_status)
        self.details_requested.connect(self.search_worker.refresh_details)
        self.index_requested.connect(self.index_worker.run_index)
        self.forget_requested.connect(self.index_worker.forget_folder)
        self.exclude_requested.connect(self.index_worker.set_exclude)
        self.watch_requested.connect(self.watch_worker.run_watch)
        self.search_worker.results.connect(self.show_results)
        self.search_worker.failed.connect(self.show_search_error)
        self.search_worker.query_error.connect(self.show_query_error)
        self.search_worker.status.connect(self.show_status)
        self.search_worker.details.connect(self.show_details)
        self.index_worker.progress.connect(self.show_progress)
        self.index_worker.finished.connect(self.index_finished)
        self.index_worker.failed.connect(self.index_failed)
        self.index_worker.changed.connect(self.library_changed)
        self.watch_worker.change.connect(self.show_changes)
        # bound methods, never lambdas: a lambda would run in the worker's thread, not the window's
        self.watch_worker.said.connect(self.show_watch_news)
        self.watch_worker.progress.connect(self.show_watch_progress)
        self.watch_worker.stopped.connect(self.watching_stopped)

    # -- search -------------------------------------------------------------------------------
    def selected_kinds(self) -> tuple[str, ...]:
        return KIND_FILTERS[self.kind_filter.currentIndex()][1]

    def _filters(self) -> dict:
        def day(edit: QDateEdit) -> str | None:
            return None if edit.date() == NO_DATE else edit.date().toString("yyyy-MM-dd")
        return {"after": day(self.after_edit), "before": day(self.before_edit),
                "folder": self.folder_filter.currentData()}

    def reset_filters(self) -> None:
        for widget in (self.after_edit, self.before_edit, self.folder_filter):
            widget.blockSignals(True)
        self.after_edit.setDate(NO_DATE)
        self.before_edit.setDate(NO_DATE)
        self.folder_filter.setCurrentIndex(0)
        for widget in (self.after_edit, self.before_edit, self.folder_filter):
            widget.blockSignals(False)
        self.run_search()

    def run_search(self) -> None:
        text = self.search_box.text().strip()
        if text:
            self._file_query = ""
            self.query_label.setVisible(False)
        if not text and not self._file_query:
            self._request_id += 1  # an answer still on its way is for a query no longer there
            self.query_error.setVisible(False)
            self.model.set_hits([])
            self.message.setText("Type what you are looking for.")
            return
        self._request_id += 1
        self.message.setText("Searching…")
        self.search_requested.emit(SearchRequest(self._request_id, text=text, file=self._file_query,
                                                 kinds=self.selected_kinds(), **self._filters()))

    def search_by_file(self, path: str) -> None:
        self._file_query = path
        self.search_box.clear()
        self.query_label.setText(f"Items like: {printable(Path(path).name)}")
        self.query_label.setVisible(True)
        self.run_search()

    def paste_query(self) -> bool:
        """Search by what is on the clipboard when it is an image or a file; False leaves text to the field."""
        mime = QApplication.clipboard().mimeData()
        if mime is None:
            return False
        paths = [url.toLocalFile() for url in mime.urls() if url.isLocalFile()]
        text = mime.text().strip() if mime.hasText() else ""
        if not paths and text.startswith("file://"):
            paths = [QUrl(text.splitlines()[0]).toLocalFile()]
        elif not paths and text and "\n" not in text and os.path.isfile(os.path.expanduser(text)):
            paths = [os.path.expanduser(text)]
        if paths and kind_of(paths[0]):
            self.search_by_file(paths[0])
            return True
        if mime.hasImage():
            image = mime.imageData()
            if isinstance(image, QImage) and not image.isNull():
                self.search_by_file(self._save_pasted(image))
                return True
        return False

    @staticmethod
    def _save_pasted(image: QImage) -> str:
        folder = cache_dir() / "pasted"
        folder.mkdir(parents=True, exist_ok=True)
        tag = hashlib.sha1(bytes(image.constBits())[:1 << 20]).hexdigest()[:12]
        path = folder / f"pasted-{image.width()}x{image.height()}-{tag}.png"
        image.save(str(path), "PNG")
        for old in sorted(folder.glob("pasted-*.png"), key=lambda p: p.stat().st_mtime)[:-20]:
            old.unlink(missing_ok=True)  # the last 20 pasted images are kept, for "more like this"
        return str(path)

    def show_results(self, request_id: int, hits: list) -> None:
        if request_id != self._request_id:
            return  # an older query finished after a newer one was sent
        self.query_error.setVisible(False)
        weak = [hit for hit in hits if hit.score < STRONG_MATCH]
        if not self.weak_matches.isChecked():
            hits = [hit for hit in hits if hit.score >= STRONG_MATCH]
        self.model.set_hits(hits)
        if hits:
            self.results.scrollToTop()
        message = f"{len(hits)} results" if hits else "No results. Try other words, or add more folders."
        if weak and not self.weak_matches.isChecked():
            message += f" ({len(weak)} weak matches hidden: tick “Weak matches” to see them)"
        self.message.setText(message)

    def show_query_error(self, request_id: int, message: str) -> None:
        if request_id != self._request_id:
            return
        self.query_error.setText(message)
        self.query_error.setVisible(True)
        self.message.setText("The query has a problem (above); the results are from before.")

    def show_search_error(self, request_id: int, message: str) -> None:
        if request_id in (self._request_id, -1):
            self.message.setText(message)

    def _path_of(self, index) -> str:
        return self.results.path_at(index)

    def open_result(self, index) -> None:
        path = self._path_of(index)
        if path:
            QDesktopServices.openUrl(QUrl.fromLocalFile(path))

    def show_result_menu(self, position) -> None:
        index = self.results.indexAt(position)
        if not index.isValid():
            return
        path = self._path_of(index)
        menu = QMenu(self)
        menu.addAction("Open", lambda: self.open_result(index))
        menu.addAction("Show in folder",
                       lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(os.path.dirname(path))))
        more = menu.addAction("More like this", lambda: self.search_by_file(path))
        more.setEnabled(can_search_by(self._embedder, path))
        menu.addAction("Copy path", lambda: QApplication.clipboard().setText(printable(path)))
        menu.exec(self.results.viewport().mapToGlobal(position))

    # -- drag and drop ------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile() and kind_of(urls[0].toLocalFile()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        self.search_by_file(event.mimeData().urls()[0].toLocalFile())

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
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.stop_button.setVisible(True)
        self.add_folder_action.setEnabled(False)
        self.reindex_action.setEnabled(False)
        self.index_requested.emit([str(f) for f in folders])

    def stop_index(self) -> None:
        self.index_worker.request_stop()
        self.statusBar().showMessage("Stopping after the current batch…")

    def show_progress(self, phase: str, done: int, total: int, path: str) -> None:
        self.progress.setVisible(True)
        self.progress.setRange(0, total)  # total 0 shows a busy bar while the count is unknown
        self.progress.setValue(done)
        self.progress.setFormat(f"{phase} %v/%m" if total else phase)
        now = time.monotonic()
        if self._phase is None or self._phase[0] != (phase, total) or done < self._phase[2]:
            self._phase = ((phase, total), now, done)  # a new phase: rate and ETA start again
        _key, started, first = self._phase
        rate = (done - first) / (now - started) if now - started >= 2 and done > first else 0.0
        pace = f" · {rate:.1f}/s, about {_duration((total - done) / rate)} left" if rate and total else ""
        self.statusBar().showMessage(f"{phase}: {printable(Path(path).name)}{pace}")

    def _index_done(self) -> None:
        self._indexing = False
        self.progress.setVisible(False)
        self.stop_button.setVisible(False)
        self.add_folder_action.setEnabled(True)
        self.reindex_action.setEnabled(True)
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
            f"{failed} could not be read (see Library…)", 10000
        )
        if self.search_box.text().strip() or self._file_query:
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
        self.show_progress("Indexing", done, total, path)

    def show_changes(self, lines: list) -> None:
        self.progress.setVisible(self._indexing)
        if not lines:
            return
        self.model.thumbnails.clear()  # an edited photo gets a new one (the disk cache keeps the others cheap)
        shown = lines[-1] if len(lines) == 1 else f"{lines[-1]} (and {len(lines) - 1} more changes)"
        self.statusBar().showMessage(shown, 8000)
        self.status_requested.emit()
        self.details_requested.emit()
        if self.search_box.text().strip() or self._file_query:
            self.run_search()

    # -- the library dialog -------------------------------------------------------------------
    def show_library(self) -> LibraryDialog:
        if self.library_dialog is None:
            dialog = LibraryDialog(self)
            dialog.add_requested.connect(lambda folder: self.start_index([folder]))
            dialog.remove_requested.connect(self.forget_requested)
            dialog.exclude_requested.connect(self.exclude_requested)
            dialog.refresh_requested.connect(self.details_requested)
            self.library_dialog = dialog
        self.details_requested.emit()
        self.library_dialog.show()
        self.library_dialog.raise_()
        return self.library_dialog

    def show_details(self, folders: list, status: dict) -> None:
        if self.library_dialog is not None:
            self.library_dialog.show_details(folders, status)
        chosen = self.folder_filter.currentData()
        self.folder_filter.blockSignals(True)
        self.folder_filter.clear()
        self.folder_filter.addItem("All folders", None)
        for info in folders:
            self.folder_filter.addItem(printable(os.path.basename(info.path) or info.path), info.path)
            self.folder_filter.setItemData(self.folder_filter.count() - 1, printable(info.path),
                                           Qt.ItemDataRole.ToolTipRole)
        self.folder_filter.setCurrentIndex(max(0, self.folder_filter.findData(chosen)))
        self.folder_filter.blockSignals(False)
        if chosen is not None and self.folder_filter.currentData() != chosen:
            self.run_search()  # the folder filtered on is gone

    def show_status(self, status: dict) -> None:
        self._last_status = status
        counts = status["items"]
        parts = [f"{counts[name]['done']} {kind.plural.lower()}" for name, kind in KINDS.items()]
        failed = sum(c["failed"] for c in counts.values())
        pending = sum(c["pending"] for c in counts.values())
        text = ", ".join(parts)
        if pending:
            text += f", {pending} waiting"
        if failed:
            text += f", {failed} unreadable"
        self.library_label.setText(text)

    def show_about(self) -> None:
        status = getattr(self, "_last_status", None) or {}
        QMessageBox.about(
            self,
            "About Trimodal-Bind",
            f"<h3>Trimodal-Bind {VERSION}</h3>"
            "<p>Finds photos, recordings and notes from anything else, entirely offline.</p>"
            f"<p>Model: {self._embedder.model_id}<br>Database: {status.get('database', '')}</p>"
            "<p>Model credits: all-MiniLM-L6-v2 (Apache-2.0); EfficientNet-Lite0 (Apache-2.0); "
            "ImageNet class names (WordNet); aisfx sound-effects embeddings by A. B. Ma and A. Lerch "
            "(ISMIR 2022), pre-trained weights CC BY 4.0; Whisper tiny.en (OpenAI, MIT) via "
            "faster-whisper (MIT) with Silero VAD (MIT). Our heads were trained on Art4Apps, Tux "
            "Paint, OpenClipart, OpenMoji and free sound collections. "
            "See resources/model/MODEL_CARD.md.</p>"
            "<p>Files that could not be read are listed in Library….</p>",
        )

    # -- shutdown -----------------------------------------------------------------------------
    def closeEvent(self, event) -> None:
        self.shutdown_workers()
        super().closeEvent(event)

    def shutdown_workers(self) -> None:
        """Stop indexing after its current batch, close each worker's database in its own
        thread, then end the threads. Safe to call twice."""
        if not self._threads:
            return
        self.index_worker.request_stop()
        self.watch_worker.request_stop()
        self.model.loader.wait(5000)
        for worker in (self.search_worker, self.index_worker, self.watch_worker):
            QMetaObject.invokeMethod(worker, "shutdown", Qt.ConnectionType.BlockingQueuedConnection)
        for thread in self._threads:
            thread.quit()
            thread.wait()
        self._threads = []
