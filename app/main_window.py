"""The main window puts the rooms together: the search bar (app.search_bar) with the microphone
(app.recorder), the results grid (app.results) and the preview pane (app.preview), the status bar
while indexing (app.indexing_status), the library, settings and about dialogs; the workers
(app.workers) do everything that touches the library, off the GUI thread."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMetaObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFileDialog, QFrame, QHBoxLayout, QLabel, QMainWindow, QPushButton, QSplitter, QStyle,
    QVBoxLayout, QWidget,
)

from app.about import AboutDialog
from app.indexing_status import IndexingStatus
from app.library_dialog import LibraryDialog
from app.library_jobs import LibraryJobs
from app.preview import PreviewPane, audio_output_problem
from app.query_input import PasteWatcher, clipboard_query, dropped_file
from app.recorder import HUM_A_TUNE, MicrophoneControl, default_input_stream, input_device_problem
from app.result_actions import ResultActions, open_file
from app.results import THUMBNAIL_SIZES, ResultsModel, ResultsView
from app.search_bar import SearchBar
from app.settings import AppSettings, SettingsDialog, apply_engine_settings, apply_theme
from app.workers import CAN_HUM, CAN_PAUSE, IndexWorker, SearchRequest, SearchWorker, WatchWorker, start_in_thread
from core.library import can_search_by, printable

INVITATION = ("This is the demo library: try “a cat”, “a cup of coffee” or “a phone ringing”, or drop one of "
              "its photos here. Add your own folders to search your photos, recordings and notes.")


class MainWindow(LibraryJobs, QMainWindow):
    search_requested = Signal(object)
    index_requested = Signal(list)
    status_requested = Signal()
    details_requested = Signal()
    forget_requested = Signal(str)
    exclude_requested = Signal(str, list)
    watch_requested = Signal()

    def __init__(self, db_path: str, embedder, watch: bool = True, *, settings: AppSettings | None = None,
                 input_stream=default_input_stream, input_problem: str | None | bool = False,
                 playback_problem: str | None | bool = False, first_run: bool = False):
        """`input_problem`/`playback_problem`: why there is no microphone/speaker (None: there is
        one; False: ask the system)."""
        super().__init__()
        self.setWindowTitle("Trimodal-Bind")
        self.resize(1100, 720)
        self.setAcceptDrops(True)
        self.settings = settings or AppSettings()
        self._embedder = embedder
        self._db_path = db_path
        self._request_id = 0
        self._query = {}  # the query that is not typed: {"file": path} or {"waveform": (samples, rate)}
        self._indexing = False
        self._watch_wanted = watch
        self._watching = False
        self._pace = None
        self._threads = []
        self._last_status = {}
        self.library_dialog: LibraryDialog | None = None
        mic_problem = input_device_problem() if input_problem is False else input_problem
        self.playback_problem = audio_output_problem() if playback_problem is False else playback_problem

        self._build_actions()
        self._build_widgets(input_stream, mic_problem, first_run)
        self._start_workers(db_path, embedder)
        self._add_shortcuts()
        self.apply_settings()

    # -- construction -------------------------------------------------------------------------
    def _build_actions(self) -> None:
        toolbar = self.addToolBar("Library")
        toolbar.setMovable(False)
        self.library_action = QAction("Library…", self, triggered=self.show_library)
        self.add_folder_action = QAction("Add folder…", self, triggered=self.choose_folder)
        self.reindex_action = QAction("Re-scan library", self, triggered=lambda: self.start_index([]))
        self.follow_action = QAction("Follow folder changes", self, checkable=True, checked=True)
        self.follow_action.setToolTip("Keep the library in step with its folders while the window is open")
        self.follow_action.toggled.connect(self.set_following)
        self.settings_action = QAction("Settings…", self, triggered=self.show_settings)
        self.settings_action.setShortcut(QKeySequence.StandardKey.Preferences)
        self.about_action = QAction("About", self, triggered=self.show_about)
        for action in (self.library_action, self.add_folder_action, self.reindex_action, self.settings_action):
            toolbar.addAction(action)
        menu = self.menuBar().addMenu("&Library")
        for action in (self.library_action, self.add_folder_action, self.reindex_action, self.follow_action):
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction(self.settings_action)
        self.menuBar().addMenu("&Help").addAction(self.about_action)

    def _build_widgets(self, input_stream, mic_problem, first_run: bool) -> None:
        central = QWidget(self)
        layout = QVBoxLayout(central)
        self.invitation = self._invitation()
        self.invitation.setVisible(first_run)
        layout.addWidget(self.invitation)
        self.microphone = MicrophoneControl(input_stream, mic_problem, can_hum=CAN_HUM)
        self.microphone.recorded.connect(self.search_by_recording)
        self.microphone.started.connect(lambda: self.message.setText(
            "Listening… press Stop to search by what was heard (it stops by itself after 15 s)."))
        self.microphone.recorder.failed.connect(lambda message: self.message.setText(message))
        self.search_bar = SearchBar(self.microphone)
        self.search_bar.changed.connect(self.run_search)
        layout.addWidget(self.search_bar)
        for name in ("search_box", "kind_filter", "weak_matches", "after_edit", "before_edit", "folder_filter"):
            setattr(self, name, getattr(self.search_bar, name))  # the widgets tests and screenshots drive

        self.query_error = QLabel("")
        self.query_error.setStyleSheet("color: #b3261e; font-family: monospace;")
        self.query_error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.query_error.setVisible(False)
        layout.addWidget(self.query_error)
        self.query_label = QLabel("")
        self.query_label.setVisible(False)
        layout.addWidget(self.query_label)

        style = self.style()
        icons = {"image": style.standardIcon(QStyle.StandardPixmap.SP_FileIcon),
                 "audio": style.standardIcon(QStyle.StandardPixmap.SP_MediaVolume),
                 "text": style.standardIcon(QStyle.StandardPixmap.SP_FileDialogDetailedView)}
        self.model = ResultsModel(self)
        self.results = ResultsView(self.model, icons)
        self.results.activated.connect(lambda index: open_file(self.results.path_at(index)))
        self.results.preview_requested.connect(self.toggle_preview)
        self.results.customContextMenuRequested.connect(self.show_result_menu)
        self.results.selectionModel().currentChanged.connect(self._current_changed)
        self.preview = PreviewPane(self.playback_problem)
        self.preview.closed.connect(self.close_preview)
        self.preview.setVisible(False)
        self.splitter = QSplitter()
        self.splitter.addWidget(self.results)
        self.splitter.addWidget(self.preview)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        layout.addWidget(self.splitter, 1)
        self.actions_menu = ResultActions(self)
        self.actions_menu.preview.connect(self.show_preview)
        self.actions_menu.more_like_this.connect(lambda hit: self.search_by_file(hit.item.path, (hit.item.kind,)))
        self.actions_menu.search_by_this.connect(self.search_by_file)

        self.message = QLabel("Type what you are looking for, drop a file, paste an image or record a sound.")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self.setCentralWidget(central)
        self.paste_watcher = PasteWatcher(self)
        self.paste_watcher.pasted.connect(self.search_by_file)
        self.search_box.installEventFilter(self.paste_watcher)
        self.results.installEventFilter(self.paste_watcher)

        self.indexing = IndexingStatus(self.statusBar())
        self.indexing.stop_clicked.connect(self.stop_index)
        self.indexing.pause_toggled.connect(self.pause_index)
        self.progress = self.indexing.progress
        self.stop_button = self.indexing.stop_button
        self.library_label = self.indexing.library_label

    def _invitation(self) -> QFrame:
        frame = QFrame()
        frame.setFrameShape(QFrame.Shape.StyledPanel)
        frame.setStyleSheet("QFrame { background: palette(alternate-base); border-radius: 6px; }")
        row = QHBoxLayout(frame)
        text = QLabel(INVITATION)
        text.setWordWrap(True)
        add = QPushButton("Add your folders…")
        add.clicked.connect(self.choose_own_folder)
        dismiss = QPushButton("Not now")
        dismiss.setFlat(True)
        dismiss.clicked.connect(self.dismiss_invitation)
        row.addWidget(text, 1)
        row.addWidget(add)
        row.addWidget(dismiss)
        return frame

    def _start_workers(self, db_path: str, embedder) -> None:
        threads = self.settings.threads()
        self.search_worker = SearchWorker(db_path, embedder)
        self.index_worker = IndexWorker(db_path, embedder, threads)
        self.watch_worker = WatchWorker(db_path, embedder, threads=threads)
        self._threads = [start_in_thread(self.search_worker, "search"), start_in_thread(self.index_worker, "index"),
                         start_in_thread(self.watch_worker, "watch")]
        self.search_requested.connect(self.search_worker.run_query)
        self.status_requested.connect(self.search_worker.refresh_status)
        self.details_requested.connect(self.search_worker.refresh_details)
        self.index_requested.connect(self.index_worker.run_index)
        self.forget_requested.connect(self.index_worker.forget_folder)
        self.exclude_requested.connect(self.index_worker.set_exclude)
        self.watch_requested.connect(self.watch_worker.run_watch)
        # bound methods, never lambdas: a lambda would run in the worker's thread, not the window's
        self.search_worker.results.connect(self.show_results)
        self.search_worker.failed.connect(self.show_search_error)
        self.search_worker.query_error.connect(self.show_query_error)
        self.search_worker.status.connect(self.show_status)
        self.search_worker.details.connect(self.show_details)
        self.index_worker.progress.connect(self.show_progress)
        self.index_worker.pace.connect(self.show_pace)
        self.index_worker.finished.connect(self.index_finished)
        self.index_worker.failed.connect(self.index_failed)
        self.index_worker.changed.connect(self.library_changed)
        self.watch_worker.change.connect(self.show_changes)
        self.watch_worker.said.connect(self.show_watch_news)
        self.watch_worker.progress.connect(self.show_watch_progress)
        self.watch_worker.stopped.connect(self.watching_stopped)
        self.status_requested.emit()
        self.details_requested.emit()

    def _add_shortcuts(self) -> None:
        """Ctrl+F and / focus the search field; Esc clears it; Enter opens a card, Space previews it."""
        def focus_search() -> None:
            self.search_box.setFocus()
            self.search_box.selectAll()

        for keys in (QKeySequence.StandardKey.Find, QKeySequence("/")):
            QShortcut(keys, self).activated.connect(focus_search)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self).activated.connect(self.clear_search)

    def apply_settings(self) -> None:
        apply_theme(self.settings.get("theme"))
        apply_engine_settings(self.settings)
        self.results.set_thumbnail_size(THUMBNAIL_SIZES.get(self.settings.get("thumbnails"), THUMBNAIL_SIZES["medium"]))

    # -- search -------------------------------------------------------------------------------
    def selected_kinds(self) -> tuple[str, ...]:
        return self.search_bar.selected_kinds()

    def _filters(self) -> dict:
        return self.search_bar.filters()

    def reset_filters(self) -> None:
        self.search_bar.reset_filters()

    def clear_search(self) -> None:
        self._set_query({}, "")
        self.search_box.clear()
        self.run_search()

    def _set_query(self, query: dict, label: str) -> None:
        self._query = query
        self.query_label.setText(label)
        self.query_label.setVisible(bool(label))

    def run_search(self, kinds: tuple[str, ...] | None = None) -> None:
        text = self.search_bar.text()
        if text:
            self._set_query({}, "")
        self._request_id += 1  # an answer still on its way is for a query no longer there
        if not text and not self._query:
            self.query_error.setVisible(False)
            self.model.set_hits([])
            self.message.setText("Type what you are looking for.")
            return
        self.message.setText("Searching…")
        self.search_requested.emit(SearchRequest(self._request_id, text=text, kinds=kinds or self.selected_kinds(),
                                                 **self._query, **self._filters()))

    def search_by_file(self, path: str, kinds: tuple[str, ...] | None = None) -> None:
        self.search_box.clear()
        self._set_query({"file": path}, f"Items like: {printable(Path(path).name)}")
        self.run_search(kinds)

    def search_by_recording(self, samples, rate: int, mode: str = "") -> None:
        self.search_box.clear()
        seconds = f"{len(samples) / rate:.1f} s"
        if mode == HUM_A_TUNE:  # the tune's recordings; kind, date and folder filters do not apply
            self._set_query({"waveform": (samples, rate), "hum": True}, f"Recordings of the tune you hummed ({seconds})")
        else:
            self._set_query({"waveform": (samples, rate)}, f"Items like your recording ({seconds})")
        self.run_search()

    def paste_query(self) -> bool:
        """Search by what is on the clipboard when it is an image or a file; False leaves text to the field."""
        path = clipboard_query()
        if path:
            self.search_by_file(path)
        return bool(path)

    def show_results(self, request_id: int, hits: list) -> None:
        if request_id != self._request_id:
            return  # an older query finished after a newer one was sent
        self.query_error.setVisible(False)
        # a tune's matches were chosen by the door's own threshold; the calibrated one is for the rest
        weak = [] if self._query.get("hum") else [hit for hit in hits if not hit.is_relevant]
        if self.search_bar.strong_only() and weak:
            hits = [hit for hit in hits if hit.is_relevant]
        self.model.set_hits(hits)
        if hits:
            self.results.scrollToTop()
        hidden = len(weak) if self.search_bar.strong_only() else 0
        if hits:
            message = f"{len(hits)} results"
        elif hidden:
            message = "Nothing here is a close match"
        else:
            message = "No results. Try other words, or add more folders."
        if hidden:
            message += f" ({hidden} weaker matches hidden: tick “Show weaker matches” to see them)"
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

    # -- results: menu and preview ------------------------------------------------------------
    def show_result_menu(self, position) -> None:
        index = self.results.indexAt(position)
        if index.isValid():
            hit = self.model.hits[index.row()]
            menu = self.actions_menu.menu_for(hit, can_search_by(self._embedder, hit.item.path), self)
            menu.exec(self.results.viewport().mapToGlobal(position))

    def show_preview(self, hit) -> None:
        self.preview.setVisible(True)
        self.preview.show_hit(hit)

    def close_preview(self) -> None:
        self.preview.stop()
        self.preview.setVisible(False)
        self.results.setFocus()

    def toggle_preview(self, index) -> None:
        if self.preview.isVisible():
            self.close_preview()
        else:
            self.show_preview(self.model.hits[index.row()])

    def _current_changed(self, current, _previous) -> None:
        if self.preview.isVisible() and current.isValid() and current.row() < len(self.model.hits):
            self.preview.show_hit(self.model.hits[current.row()])

    # -- drag and drop ------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if dropped_file(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        path = dropped_file(event.mimeData())
        if path:
            self.search_by_file(path)

    # -- dialogs ------------------------------------------------------------------------------
    def show_library(self) -> LibraryDialog:
        if self.library_dialog is None:
            dialog = LibraryDialog(self, can_pause=CAN_PAUSE)
            dialog.add_requested.connect(lambda folder: self.start_index([folder]))
            dialog.remove_requested.connect(self.forget_requested)
            dialog.exclude_requested.connect(self.exclude_requested)
            dialog.refresh_requested.connect(self.details_requested)
            dialog.rescan_requested.connect(lambda: self.start_index([]))
            dialog.pause_requested.connect(self.indexing.pause_button.setChecked)
            self.indexing.pause_button.toggled.connect(dialog.set_paused)
            self.library_dialog = dialog
        self.library_dialog.set_indexing(self._indexing)
        self.details_requested.emit()
        self.library_dialog.show()
        self.library_dialog.raise_()
        return self.library_dialog

    def show_details(self, folders: list, status: dict) -> None:
        if self.library_dialog is not None:
            self.library_dialog.show_details(folders, status)
            self.library_dialog.set_indexing(self._indexing)
        self.search_bar.set_folders(folders)

    def show_status(self, status: dict) -> None:
        self._last_status = status
        self.indexing.show_library(status)

    def show_settings(self) -> SettingsDialog:
        dialog = SettingsDialog(self.settings, self)
        dialog.accepted.connect(self.apply_settings)
        dialog.open()
        return dialog

    def show_about(self) -> AboutDialog:
        dialog = AboutDialog(self._embedder.model_id, self._last_status.get("database", self._db_path), self)
        dialog.open()
        return dialog

    # -- first run ----------------------------------------------------------------------------
    def dismiss_invitation(self) -> None:
        self.invitation.setVisible(False)
        self.settings.set("first_run_done", True)

    def choose_own_folder(self) -> None:
        """From the demo library's invitation: the folder chosen starts the user's own library."""
        folder = QFileDialog.getExistingDirectory(self, "Add a folder to your library")
        if folder:
            self.open_own_library(folder)

    def open_own_library(self, folder: str, db_path: str | None = None) -> None:
        from core.library import default_db_path
        self.dismiss_invitation()
        self.shutdown_workers()
        self._db_path = str(db_path or default_db_path())
        self.model.set_hits([])
        self._start_workers(self._db_path, self._embedder)
        self.start_index([folder])

    # -- shutdown -----------------------------------------------------------------------------
    def closeEvent(self, event) -> None:
        self.preview.stop()
        self.microphone.recorder.stop()
        self.shutdown_workers()
        super().closeEvent(event)

    def shutdown_workers(self) -> None:
        """Stop indexing after its current batch, close each worker's database in its own
        thread, then end the threads. Safe to call twice."""
        if not self._threads:
            return
        self.index_worker.request_stop()
        self.watch_worker.request_stop()
        for signal in (self.search_requested, self.index_requested, self.status_requested, self.details_requested,
                       self.forget_requested, self.exclude_requested, self.watch_requested):
            signal.disconnect()  # a later library gets its own workers
        self.model.loader.wait(5000)
        for worker in (self.search_worker, self.index_worker, self.watch_worker):
            QMetaObject.invokeMethod(worker, "shutdown", Qt.ConnectionType.BlockingQueuedConnection)
        for thread in self._threads:
            thread.quit()
            thread.wait()
        self._threads = []
        self._watching = False
        self._indexing = False
