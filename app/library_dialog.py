"""Library…: the library folders with their counts, state and exclude patterns (add, remove, edit),
and every file that could not be indexed, was indexed with a warning, or a folder not checked.
The dialog only shows what the window's search worker reads and asks the window to act."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMessageBox,
    QPushButton,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.library import printable

PathRole = Qt.ItemDataRole.UserRole


def _tree(headers: list[str]) -> QTreeWidget:
    tree = QTreeWidget()
    tree.setHeaderLabels(headers)
    tree.setRootIsDecorated(False)
    tree.setAlternatingRowColors(True)
    tree.setUniformRowHeights(True)
    tree.header().setStretchLastSection(True)
    return tree


class LibraryDialog(QDialog):
    add_requested = Signal(str)  # folder
    remove_requested = Signal(str)
    exclude_requested = Signal(str, list)  # folder, patterns
    refresh_requested = Signal()
    rescan_requested = Signal()
    pause_requested = Signal(bool)  # True: pause

    def __init__(self, parent=None, can_pause: bool = False):
        super().__init__(parent)
        self.can_pause = can_pause
        self.setWindowTitle("Library")
        self.resize(820, 480)
        layout = QVBoxLayout(self)
        self.summary = QLabel("Reading the library…")
        layout.addWidget(self.summary)

        self.tabs = QTabWidget()
        folders_page = QWidget()
        page = QVBoxLayout(folders_page)
        self.folders = _tree(["Folder", "Indexed", "Waiting", "Failed", "Excluded", "State"])
        self.folders.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.folders.header().setStretchLastSection(False)
        self.folders.itemSelectionChanged.connect(self._selection_changed)
        page.addWidget(self.folders, 1)
        buttons = QHBoxLayout()
        self.add_button = QPushButton("Add folder…")
        self.add_button.clicked.connect(self.choose_folder)
        self.remove_button = QPushButton("Remove…")
        self.remove_button.clicked.connect(self.confirm_remove)
        self.exclude_button = QPushButton("Exclude patterns…")
        self.exclude_button.clicked.connect(self.edit_exclude)
        for button in (self.add_button, self.remove_button, self.exclude_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.indexing_label = QLabel("")
        self.pause_button = QPushButton("Pause indexing")
        self.pause_button.setCheckable(True)
        self.pause_button.toggled.connect(self._pause_toggled)
        self.rescan_button = QPushButton("Re-scan all")
        self.rescan_button.setToolTip("Check every folder for new, changed, moved and deleted files")
        self.rescan_button.clicked.connect(self.rescan_requested)
        for widget in (self.indexing_label, self.pause_button, self.rescan_button):
            buttons.addWidget(widget)
        page.addLayout(buttons)
        self.tabs.addTab(folders_page, "Folders")

        self.failed = _tree(["File", "Why it could not be indexed"])
        self.warnings = _tree(["File", "Warning"])
        self.not_checked = _tree(["Folder", "Why it was not checked", "Items kept"])
        self.tabs.addTab(self.failed, "Failed files")
        self.tabs.addTab(self.warnings, "Warnings")
        self.tabs.addTab(self.not_checked, "Folders not checked")
        layout.addWidget(self.tabs, 1)

        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        refresh = close.addButton("Refresh", QDialogButtonBox.ButtonRole.ActionRole)
        refresh.clicked.connect(self.refresh_requested)
        layout.addWidget(close)
        self._selection_changed()

    # -- indexing state -----------------------------------------------------------------------
    def set_indexing(self, running: bool) -> None:
        paused = running and self.pause_button.isChecked()
        self.indexing_label.setText("Paused" if paused else "Indexing…" if running else "")
        self.rescan_button.setEnabled(not running)
        self.pause_button.setEnabled(running and self.can_pause)
        self.pause_button.setToolTip(
            "Hold indexing after the current batch" if self.can_pause
            else "Pausing needs an engine that can pause indexing (not in this version)")
        if not running:
            self.set_paused(False)

    def set_paused(self, paused: bool) -> None:
        self.pause_button.blockSignals(True)
        self.pause_button.setChecked(paused)
        self.pause_button.setText("Resume indexing" if paused else "Pause indexing")
        self.pause_button.blockSignals(False)
        if paused:
            self.indexing_label.setText("Paused")

    def _pause_toggled(self, paused: bool) -> None:
        self.set_paused(paused)
        self.pause_requested.emit(paused)

    # -- what the worker read ---------------------------------------------------------------
    def show_details(self, folders: list, status: dict) -> None:
        selected = self.selected_folder()
        self.folders.clear()
        for info in folders:
            row = QTreeWidgetItem([printable(info.path), str(info.items.get("done", 0)),
                                   str(info.items.get("pending", 0)), str(info.items.get("failed", 0)),
                                   ", ".join(info.exclude) or "—", info.state])
            row.setData(0, PathRole, info.path)
            row.setToolTip(0, printable(info.path))
            for column in (1, 2, 3):
                row.setTextAlignment(column, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.folders.addTopLevelItem(row)
            if info.path == selected:
                row.setSelected(True)
        for column in range(1, 5):
            self.folders.resizeColumnToContents(column)
        self._fill(self.failed, [(p, e or "") for p, e in status.get("failed", [])])
        self._fill(self.warnings, [(p, w or "") for p, w in status.get("warnings", [])])
        self._fill(self.not_checked, [(p["folder"], p["reason"], str(p["items_kept"]))
                                      for p in status.get("not_checked", [])])
        self.tabs.setTabText(1, f"Failed files ({len(status.get('failed', []))})")
        self.tabs.setTabText(2, f"Warnings ({len(status.get('warnings', []))})")
        self.tabs.setTabText(3, f"Folders not checked ({len(status.get('not_checked', []))})")
        total = status.get("total", 0)
        self.summary.setText(f"{len(folders)} folder{'s' if len(folders) != 1 else ''}, {total} files · "
                             f"database {printable(status.get('database', ''))}")
        self._selection_changed()

    @staticmethod
    def _fill(tree: QTreeWidget, rows: list[tuple]) -> None:
        tree.clear()
        for path, *rest in rows:
            row = QTreeWidgetItem([printable(path), *rest])
            row.setToolTip(0, printable(path))
            row.setToolTip(1, rest[0] if rest else "")
            tree.addTopLevelItem(row)
        tree.resizeColumnToContents(0)

    # -- actions ------------------------------------------------------------------------------
    def selected_folder(self) -> str | None:
        items = self.folders.selectedItems()
        return items[0].data(0, PathRole) if items else None

    def _selection_changed(self) -> None:
        chosen = self.selected_folder() is not None
        self.remove_button.setEnabled(chosen)
        self.exclude_button.setEnabled(chosen)

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder to the library")
        if folder:
            self.add_requested.emit(folder)

    def confirm_remove(self) -> None:
        folder = self.selected_folder()
        if folder is None:
            return
        answer = QMessageBox.question(
            self, "Remove folder",
            f"Remove {printable(folder)} from the library?\n\nIts files stay on disk: only what the library "
            "knows about them (their index entries) is forgotten. You can add the folder again later.",
            QMessageBox.StandardButton.Cancel | QMessageBox.StandardButton.Ok, QMessageBox.StandardButton.Cancel)
        if answer == QMessageBox.StandardButton.Ok:
            self.remove_requested.emit(folder)

    def edit_exclude(self) -> None:
        row = self.folders.selectedItems()
        if not row:
            return
        folder = row[0].data(0, PathRole)
        current = row[0].text(4)
        text, ok = QInputDialog.getText(
            self, "Exclude patterns",
            f"Files and folders of {printable(folder)} to leave out,\nshell patterns separated by commas "
            "(e.g. *.tmp, drafts, raw/*):", text="" if current == "—" else current)
        if ok:
            self.exclude_requested.emit(folder, [p.strip() for p in text.split(",") if p.strip()])
