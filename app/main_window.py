"""The main window: a search box, a kind filter, a result list with thumbnails, and library status."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QMetaObject, QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices, QIcon, QImageReader, QPainter, QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from app.workers import IndexWorker, SearchRequest, SearchWorker, start_in_thread
from core.kinds import KIND_NAMES, KINDS, kind_of
from core.library import VERSION, can_search_by, printable

KIND_FILTERS = [("Everything", KIND_NAMES)] + [(kind.plural, (kind.name,)) for kind in KINDS.values()]
THUMBNAIL = QSize(72, 72)
# Calibrated score (standard deviations above the kind's typical similarity) below which a hit is
# a weak match, hidden unless the user asks for weak matches.
STRONG_MATCH = 1.0


class MainWindow(QMainWindow):
    search_requested = Signal(object)
    index_requested = Signal(list)
    status_requested = Signal()

    def __init__(self, db_path: str, embedder):
        super().__init__()
        self.setWindowTitle("Trimodal-Bind")
        self.resize(900, 640)
        self.setAcceptDrops(True)
        self._embedder = embedder
        self._request_id = 0
        self._file_query = ""
        self._indexing = False
        self._result_paths: list[str] = []

        self._build_actions()
        self._build_widgets()
        self._start_workers(db_path, embedder)
        self._debounce = QTimer(self, singleShot=True, interval=250)
        self._debounce.timeout.connect(self.run_search)
        self.search_box.textEdited.connect(lambda _text: self._debounce.start())
        self.status_requested.emit()

    # -- construction -------------------------------------------------------------------------
    def _build_actions(self) -> None:
        toolbar = self.addToolBar("Library")
        toolbar.setMovable(False)
        self.add_folder_action = QAction("Add folder…", self)
        self.add_folder_action.triggered.connect(self.choose_folder)
        self.reindex_action = QAction("Re-scan library", self)
        self.reindex_action.triggered.connect(lambda: self.start_index([]))
        self.about_action = QAction("About", self)
        self.about_action.triggered.connect(self.show_about)
        for action in (self.add_folder_action, self.reindex_action, self.about_action):
            toolbar.addAction(action)

    def _build_widgets(self) -> None:
        central = QWidget(self)
        layout = QVBoxLayout(central)
        row = QHBoxLayout()
        self.search_box = QLineEdit(placeholderText="Search photos, recordings and notes — or drop a file here")
        self.search_box.setClearButtonEnabled(True)
        self.search_box.returnPressed.connect(self.run_search)
        self.kind_filter = QComboBox()
        for label, _kinds in KIND_FILTERS:
            self.kind_filter.addItem(label)
        self.kind_filter.currentIndexChanged.connect(lambda _i: self.run_search())
        self.weak_matches = QCheckBox("Weak matches")
        self.weak_matches.setToolTip("Also show results that are only loosely related")
        self.weak_matches.toggled.connect(lambda _on: self.run_search())
        self.search_button = QPushButton("Search")
        self.search_button.clicked.connect(self.run_search)
        row.addWidget(self.search_box, 1)
        row.addWidget(self.kind_filter)
        row.addWidget(self.weak_matches)
        row.addWidget(self.search_button)
        layout.addLayout(row)

        self.query_label = QLabel("")
        self.query_label.setVisible(False)
        layout.addWidget(self.query_label)

        self.results = QListWidget()
        self.results.setIconSize(THUMBNAIL)
        self.results.setUniformItemSizes(True)
        self.results.setAlternatingRowColors(True)
        self.results.itemActivated.connect(self.open_result)
        self.results.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.results.customContextMenuRequested.connect(self.show_result_menu)
        layout.addWidget(self.results, 1)

        self.message = QLabel("Type what you are looking for, then press Enter.")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self.setCentralWidget(central)

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

        style = self.style()
        self._kind_icons = {
            "image": style.standardIcon(QStyle.StandardPixmap.SP_FileIcon),
            "audio": style.standardIcon(QStyle.StandardPixmap.SP_MediaVolume),
            "text": style.standardIcon(QStyle.StandardPixmap.SP_FileDialogDetailedView),
        }

    def _start_workers(self, db_path: str, embedder) -> None:
        self.search_worker = SearchWorker(db_path, embedder)
        self.index_worker = IndexWorker(db_path, embedder)
        self._threads = [
            start_in_thread(self.search_worker, "search"),
            start_in_thread(self.index_worker, "index"),
        ]
        self.search_requested.connect(self.search_worker.run_query)
        self.status_requested.connect(self.search_worker.refresh_status)
        self.index_requested.connect(self.index_worker.run_index)
        self.search_worker.results.connect(self.show_results)
        self.search_worker.failed.connect(self.show_search_error)
        self.search_worker.status.connect(self.show_status)
        self.index_worker.progress.connect(self.show_progress)
        self.index_worker.finished.connect(self.index_finished)
        self.index_worker.failed.connect(self.index_failed)

    # -- search -------------------------------------------------------------------------------
    def selected_kinds(self) -> tuple[str, ...]:
        return KIND_FILTERS[self.kind_filter.currentIndex()][1]

    def run_search(self) -> None:
        text = self.search_box.text().strip()
        if text:
            self._file_query = ""
            self.query_label.setVisible(False)
        if not text and not self._file_query:
            self.results.clear()
            return
        self._request_id += 1
        self.message.setText("Searching…")
        self.search_requested.emit(
            SearchRequest(self._request_id, text=text, file=self._file_query, kinds=self.selected_kinds())
        )

    def search_by_file(self, path: str) -> None:
        self._file_query = path
        self.search_box.clear()
        self.query_label.setText(f"Items like: {printable(Path(path).name)}")
        self.query_label.setVisible(True)
        self.run_search()

    def show_results(self, request_id: int, hits: list) -> None:
        if request_id != self._request_id:
            return  # an older query finished after a newer one was sent
        self.results.clear()
        self._result_paths = []  # the real names; Qt strings cannot hold bytes that are not UTF-8
        weak = [hit for hit in hits if hit.score < STRONG_MATCH]
        if not self.weak_matches.isChecked():
            hits = [hit for hit in hits if hit.score >= STRONG_MATCH]
        for hit in hits:
            item = QListWidgetItem(self._icon_for(hit.item.kind, hit.item.path), self._describe(hit))
            item.setData(Qt.ItemDataRole.UserRole, len(self._result_paths))
            self._result_paths.append(hit.item.path)
            item.setToolTip(printable(hit.item.path))
            item.setSizeHint(QSize(0, THUMBNAIL.height() + 8))
            self.results.addItem(item)
        if hits:
            message = f"{len(hits)} results"
        else:
            message = "No results. Try other words, or add more folders."
        if weak and not self.weak_matches.isChecked():
            message += f" ({len(weak)} weak matches hidden: tick “Weak matches” to see them)"
        self.message.setText(message)

    def show_search_error(self, request_id: int, message: str) -> None:
        if request_id in (self._request_id, -1):
            self.message.setText(message)

    def _describe(self, hit) -> str:
        item = hit.item
        details = [KINDS[item.kind].label]
        if item.width and item.height:
            details.append(f"{item.width}×{item.height}")
        if item.duration:
            details.append(f"{item.duration:.1f} s")
        details.append(f"match {hit.relevance:.0%}")
        third_line = printable(os.path.dirname(item.path))
        if item.kind == "text" and item.extracted_text:
            third_line = " ".join(item.extracted_text.split())[:110]
        return f"{printable(Path(item.path).name)}\n{' · '.join(details)}\n{third_line}"

    def _icon_for(self, kind: str, path: str) -> QIcon:
        if kind == "image":
            reader = QImageReader(path)
            reader.setAutoTransform(True)
            size = reader.size()
            if size.isValid():
                reader.setScaledSize(size.scaled(THUMBNAIL, Qt.AspectRatioMode.KeepAspectRatio))
            image = reader.read()
            if not image.isNull():
                return QIcon(self._centred(QPixmap.fromImage(image)))
        return self._kind_icons[kind]

    @staticmethod
    def _centred(pixmap: QPixmap) -> QPixmap:
        """Pad to the thumbnail square so every row's text starts at the same place."""
        canvas = QPixmap(THUMBNAIL)
        canvas.fill(Qt.GlobalColor.transparent)
        painter = QPainter(canvas)
        painter.drawPixmap((THUMBNAIL.width() - pixmap.width()) // 2,
                           (THUMBNAIL.height() - pixmap.height()) // 2, pixmap)
        painter.end()
        return canvas

    def _path_of(self, item: QListWidgetItem) -> str:
        return self._result_paths[item.data(Qt.ItemDataRole.UserRole)]

    def open_result(self, item: QListWidgetItem) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(self._path_of(item)))

    def show_result_menu(self, position) -> None:
        item = self.results.itemAt(position)
        if item is None:
            return
        path = self._path_of(item)
        menu = QMenu(self)
        menu.addAction("Open", lambda: self.open_result(item))
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
        self.progress.setRange(0, total)  # total 0 shows a busy bar while the count is unknown
        self.progress.setValue(done)
        self.progress.setFormat(f"{phase} %v/%m" if total else phase)
        self.statusBar().showMessage(f"{phase}: {printable(Path(path).name)}")

    def _index_done(self) -> None:
        self._indexing = False
        self.progress.setVisible(False)
        self.stop_button.setVisible(False)
        self.add_folder_action.setEnabled(True)
        self.reindex_action.setEnabled(True)
        self.status_requested.emit()

    def index_finished(self, result) -> None:
        self._index_done()
        report = result.embedding
        failed = len(report.failed) + sum(len(scan.unreadable) for scan in result.scans.values())
        note = "stopped; the rest resumes next time. " if report.stopped else ""
        self.statusBar().showMessage(
            f"Indexing {note}done: {report.embedded} embedded, {report.metadata_only} without a vector, "
            f"{failed} could not be read (see About → library status)", 10000
        )
        if self.search_box.text().strip() or self._file_query:
            self.run_search()

    def index_failed(self, message: str) -> None:
        self._index_done()
        QMessageBox.warning(self, "Indexing failed", message)

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
        failed = status.get("failed", [])
        problems = "".join(f"<li>{printable(Path(p).name)}: {e}</li>" for p, e in failed[:20])
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
            + (f"<p>Files that could not be read:</p><ul>{problems}</ul>" if problems else ""),
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
        for worker in (self.search_worker, self.index_worker):
            QMetaObject.invokeMethod(worker, "shutdown", Qt.ConnectionType.BlockingQueuedConnection)
        for thread in self._threads:
            thread.quit()
            thread.wait()
        self._threads = []
