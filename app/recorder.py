"""Recording a query from the microphone (sounddevice): a button with a menu of modes, a live level
meter and a stop button while recording. The audio callback runs on PortAudio's own thread: it only
appends to a buffer and emits a signal, so the meter is updated on the GUI thread."""

from __future__ import annotations

import threading

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMenu, QProgressBar, QPushButton, QStyle, QToolButton, QWidget

# The sound tower listens at 44.1 kHz: at 16 kHz a meow loses its top and the demo's rooster outranks
# the cat recording it was (0.93 vs 0.86 similarity); speech and tunes are resampled by the engine.
RECORD_RATE = 44_100
LONGEST_RECORDING_S = 15.0
SOUND_OR_SPEECH = "sound or speech"
HUM_A_TUNE = "hum a tune"
HUM_NOT_YET = "Humming a tune to find a recording needs the melody channel, which is not in this version yet"
HUM_TIP = "Hum, sing or whistle a few bars: finds the recordings of that tune"


def input_device_problem() -> str | None:
    """Why there is no microphone to record from, or None when there is one."""
    try:
        import sounddevice
    except (ImportError, OSError) as exc:  # OSError: the PortAudio library itself is missing
        return f"Recording is off: the sound library cannot load ({exc})"
    try:
        devices = sounddevice.query_devices()
    except Exception as exc:  # noqa: BLE001 - PortAudio's errors are plain Exceptions
        return f"Recording is off: the sound system cannot be asked for a microphone ({exc})"
    if not any(device.get("max_input_channels", 0) > 0 for device in devices):
        return "Recording is off: this computer has no microphone or sound card to record from"
    return None


def _record_icon() -> QIcon:
    """A red dot, the usual sign for recording (icon themes are not there on every desktop)."""
    pixmap = QPixmap(32, 32)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor("#d93025"))
    painter.drawEllipse(6, 6, 20, 20)
    painter.end()
    return QIcon(pixmap)


def default_input_stream(**kwargs):
    import sounddevice
    return sounddevice.InputStream(**kwargs)


class Recorder(QObject):
    """One recording at a time from an input stream made by `stream_factory` (sounddevice's
    InputStream by default; tests pass one that plays a WAV file)."""
    level = Signal(float)  # 0..1, the loudness of the last block
    finished = Signal(object, int)  # mono float32 samples, rate
    failed = Signal(str)

    def __init__(self, stream_factory=default_input_stream, parent=None):
        super().__init__(parent)
        self._stream_factory = stream_factory
        self._stream = None
        self._blocks: list[np.ndarray] = []
        self._lock = threading.Lock()
        self._limit = QTimer(self, singleShot=True, interval=int(LONGEST_RECORDING_S * 1000))
        self._limit.timeout.connect(self.stop)

    @property
    def recording(self) -> bool:
        return self._stream is not None

    def start(self) -> None:
        if self._stream is not None:
            return
        self._blocks = []
        try:
            self._stream = self._stream_factory(samplerate=RECORD_RATE, channels=1, dtype="float32",
                                                callback=self._audio_arrived)
            self._stream.start()
        except Exception as exc:  # noqa: BLE001 - a device that vanished, a busy device…
            self._stream = None
            self.failed.emit(f"cannot record: {exc}")
            return
        self._limit.start()

    def _audio_arrived(self, block, _frames, _time, _status) -> None:
        mono = np.asarray(block, dtype=np.float32).reshape(len(block), -1).mean(axis=1)
        with self._lock:
            self._blocks.append(mono.copy())
        peak = float(np.sqrt(np.mean(mono ** 2))) * 4 if mono.size else 0.0
        self.level.emit(min(1.0, peak))

    def stop(self) -> None:
        stream, self._stream = self._stream, None
        self._limit.stop()
        if stream is None:
            return
        try:
            stream.stop()
            stream.close()
        except Exception:  # noqa: BLE001 - what was recorded is still good
            pass
        with self._lock:
            samples = np.concatenate(self._blocks) if self._blocks else np.zeros(0, np.float32)
            self._blocks = []
        if samples.size < RECORD_RATE // 4:
            self.failed.emit("the recording was too short (under a quarter of a second)")
            return
        self.finished.emit(samples, RECORD_RATE)


class MicrophoneControl(QWidget):
    """The microphone button (its menu: the modes) and, while recording, a level meter and Stop."""
    recorded = Signal(object, int, str)  # samples, rate, mode
    started = Signal()

    def __init__(self, stream_factory=default_input_stream, device_problem: str | None = None,
                 can_hum: bool = False, parent=None):
        super().__init__(parent)
        self.recorder = Recorder(stream_factory, self)
        self.mode = SOUND_OR_SPEECH
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.button = QToolButton()
        self.button.setText("Record")
        self.button.setIcon(_record_icon())
        self.button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        menu = QMenu(self.button)
        modes = QActionGroup(menu)
        self.speech_mode = QAction("Sound or speech", modes, checkable=True, checked=True)
        self.speech_mode.setToolTip("A sound, or words said aloud: finds photos, recordings and notes like it")
        self.hum_mode = QAction("Hum a tune", modes, checkable=True, enabled=can_hum)
        self.hum_mode.setToolTip(HUM_TIP if can_hum else HUM_NOT_YET)
        modes.triggered.connect(self._mode_chosen)
        menu.setToolTipsVisible(True)
        menu.addAction(self.speech_mode)
        menu.addAction(self.hum_mode)
        self.button.setMenu(menu)
        self.button.clicked.connect(self.start)
        self.meter = QProgressBar()
        self.meter.setRange(0, 100)
        self.meter.setTextVisible(False)
        self.meter.setFixedWidth(90)
        self.meter.setToolTip("Input level")
        self.elapsed = QLabel("")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaStop))
        self.stop_button.setToolTip("Stop recording and search by it")
        self.stop_button.clicked.connect(self.recorder.stop)
        for widget in (self.button, self.meter, self.elapsed, self.stop_button):
            layout.addWidget(widget)
        self._set_recording(False)
        self._clock = QTimer(self, interval=200)
        self._clock.timeout.connect(self._tick)
        self._started_ms = 0
        self.recorder.level.connect(self._show_level)
        self.recorder.finished.connect(self._finished)
        self.recorder.failed.connect(lambda _message: self._set_recording(False))
        self.set_device_problem(device_problem)

    def _mode_chosen(self, action: QAction) -> None:
        self.mode = HUM_A_TUNE if action is self.hum_mode else SOUND_OR_SPEECH
        self.button.setText("Hum" if self.mode == HUM_A_TUNE else "Record")
        self.set_device_problem(None if self.button.isEnabled() else self.button.toolTip())

    def set_device_problem(self, problem: str | None) -> None:
        self.button.setEnabled(problem is None)
        what = HUM_TIP if self.mode == HUM_A_TUNE else "Record a sound or speech to search by it"
        self.button.setToolTip(problem or f"{what} (the menu: the mode; stops by itself after "
                                          f"{LONGEST_RECORDING_S:.0f} s)")

    def start(self) -> None:
        self._set_recording(True)
        self._started_ms = 0
        self._clock.start()
        self.started.emit()
        self.recorder.start()

    def _tick(self) -> None:
        self._started_ms += self._clock.interval()
        self.elapsed.setText(f"{self._started_ms / 1000:.1f} s")

    def _show_level(self, level: float) -> None:
        self.meter.setValue(int(level * 100))

    def _finished(self, samples, rate: int) -> None:
        self._set_recording(False)
        self.recorded.emit(samples, rate, self.mode)

    def _set_recording(self, on: bool) -> None:
        if not on and hasattr(self, "_clock"):
            self._clock.stop()
        self.button.setVisible(not on)
        for widget in (self.meter, self.elapsed, self.stop_button):
            widget.setVisible(on)
        self.meter.setValue(0)
        self.elapsed.setText("0.0 s" if on else "")
