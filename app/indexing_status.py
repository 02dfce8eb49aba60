"""The status bar while indexing or watching: a progress bar (done/total), the rate and the time
left, pause/resume and stop; and the library's counts when idle."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QStatusBar

from core.kinds import KINDS
from core.library import printable


def duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def library_summary(status: dict) -> str:
    counts = status["items"]
    parts = [f"{counts[name]['done']} {kind.plural.lower()}" for name, kind in KINDS.items()]
    failed = sum(c["failed"] for c in counts.values())
    pending = sum(c["pending"] for c in counts.values())
    text = ", ".join(parts)
    if pending:
        text += f", {pending} waiting"
    if failed:
        text += f", {failed} unreadable"
    return text


class IndexingStatus(QObject):
    pause_toggled = Signal(bool)  # True: pause
    stop_clicked = Signal()

    def __init__(self, bar: QStatusBar):
        super().__init__(bar)
        self.bar = bar
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(260)
        self.progress.setVisible(False)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.pause_button.setToolTip("Hold indexing after the current batch; nothing is lost")
        self.pause_button.toggled.connect(self._pause_toggled)
        self.pause_button.setVisible(False)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop after the current batch; the rest is indexed next time")
        self.stop_button.setVisible(False)
        self.stop_button.clicked.connect(self.stop_clicked)
        self.library_label = QLabel("")
        for widget in (self.library_label, self.progress, self.pause_button, self.stop_button):
            bar.addPermanentWidget(widget)
        self._phase = None  # ((phase, total), started, done then): the rate and ETA start again per phase

    def _pause_toggled(self, paused: bool) -> None:
        self.pause_button.setText("Resume" if paused else "Pause")
        self.pause_toggled.emit(paused)

    def set_running(self, running: bool, can_pause: bool) -> None:
        self.progress.setVisible(running)
        self.stop_button.setVisible(running)
        self.pause_button.setVisible(running and can_pause)
        if running:
            self.progress.setRange(0, 0)
        else:
            self.pause_button.blockSignals(True)
            self.pause_button.setChecked(False)
            self.pause_button.setText("Pause")
            self.pause_button.blockSignals(False)
        self._phase = None

    def show_progress(self, phase: str, done: int, total: int, path: str,
                      rate: float | None = None, eta: float | None = None) -> None:
        """Done/total on the bar; the rate and time left from the engine when it says them, else
        measured here from successive calls."""
        self.progress.setVisible(True)
        self.progress.setRange(0, total)  # total 0 shows a busy bar while the count is unknown
        self.progress.setValue(done)
        self.progress.setFormat(f"{phase} %v/%m" if total else phase)
        if rate is None:
            rate, eta = self._measured(phase, done, total)
        pace = f" · {rate:.1f}/s" if rate else ""
        if rate and eta is not None and total:
            pace += f", about {duration(eta)} left"
        paused = " (paused)" if self.pause_button.isChecked() else ""
        name = printable(Path(path).name) if path else ""
        self.bar.showMessage(f"{phase}{paused}: {name}{pace}" if name else f"{phase}{paused}{pace}")

    def _measured(self, phase: str, done: int, total: int) -> tuple[float, float | None]:
        now = time.monotonic()
        if self._phase is None or self._phase[0] != (phase, total) or done < self._phase[2]:
            self._phase = ((phase, total), now, done)
        _key, started, first = self._phase
        rate = (done - first) / (now - started) if now - started >= 2 and done > first else 0.0
        return rate, ((total - done) / rate if rate else None)

    def show_library(self, status: dict) -> None:
        self.library_label.setText(library_summary(status))
