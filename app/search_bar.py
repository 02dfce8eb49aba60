"""The search bar: one field for the query grammar, the microphone, and the filters (kind, date,
folder, weaker matches). It only says that the query or a filter changed; the window searches."""

from __future__ import annotations

import os

from PySide6.QtCore import QDate, QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDateEdit, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget,
)

from core.kinds import KIND_NAMES, KINDS
from core.library import printable

KIND_FILTERS = [("Everything", KIND_NAMES)] + [(kind.plural, (kind.name,)) for kind in KINDS.values()]
NO_DATE = QDate(1900, 1, 1)  # a date edit at this value shows "any"
TYPING_PAUSE_MS = 250


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


class SearchBar(QWidget):
    changed = Signal()  # the query or a filter changed: search again

    def __init__(self, microphone: QWidget, parent=None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.search_box = QLineEdit(placeholderText="Search photos, recordings and notes, "
                                                    "or a sum: \"beach\" + sunset.jpg - people")
        self.search_box.setClearButtonEnabled(True)
        self.search_box.setToolTip("Words, or a sum: \"beach\" + sunset.jpg - people (a file by its path; "
                                   "2:word weighs a term double). Drop a file or paste an image to search by it.")
        self.search_box.returnPressed.connect(self.changed)
        self._typing = QTimer(self, singleShot=True, interval=TYPING_PAUSE_MS)
        self._typing.timeout.connect(self.changed)
        self.search_box.textEdited.connect(lambda _text: self._typing.start())
        self.kind_filter = QComboBox()
        for label, _kinds in KIND_FILTERS:
            self.kind_filter.addItem(label)
        self.kind_filter.setToolTip("Which kinds of item to show")
        self.kind_filter.currentIndexChanged.connect(lambda _i: self.changed.emit())
        self.weak_matches = QCheckBox("Show weaker matches")
        self.weak_matches.setToolTip("Also show results below the relevance threshold (loosely related)")
        self.weak_matches.toggled.connect(lambda _on: self.changed.emit())
        row.addWidget(self.search_box, 1)
        row.addWidget(microphone)
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
            widget.dateChanged.connect(lambda _d: self.changed.emit())
        self.folder_filter.currentIndexChanged.connect(lambda _i: self.changed.emit())
        self.clear_filters = QPushButton("Any date, any folder")
        self.clear_filters.setFlat(True)
        self.clear_filters.clicked.connect(self.reset_filters)
        for widget in (QLabel("From"), self.after_edit, QLabel("to"), self.before_edit, QLabel("in"),
                       self.folder_filter, self.clear_filters):
            filters.addWidget(widget)
        filters.addStretch(1)
        layout.addLayout(filters)

    def text(self) -> str:
        return self.search_box.text().strip()

    def selected_kinds(self) -> tuple[str, ...]:
        return KIND_FILTERS[self.kind_filter.currentIndex()][1]

    def filters(self) -> dict:
        def day(edit: QDateEdit) -> str | None:
            return None if edit.date() == NO_DATE else edit.date().toString("yyyy-MM-dd")
        return {"after": day(self.after_edit), "before": day(self.before_edit),
                "folder": self.folder_filter.currentData()}

    def strong_only(self) -> bool:
        return not self.weak_matches.isChecked()

    def reset_filters(self) -> None:
        widgets = (self.after_edit, self.before_edit, self.folder_filter)
        for widget in widgets:
            widget.blockSignals(True)
        self.after_edit.setDate(NO_DATE)
        self.before_edit.setDate(NO_DATE)
        self.folder_filter.setCurrentIndex(0)
        for widget in widgets:
            widget.blockSignals(False)
        self.changed.emit()

    def set_folders(self, folders: list) -> None:
        """The library folders the folder filter offers; a folder chosen that is gone searches again."""
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
            self.changed.emit()
