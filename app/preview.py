"""The preview pane beside the grid: a photo viewer (fit, zoom), a recording's player (play, pause,
seek through QtMultimedia; disabled, with the reason, when there is no audio output) with its
transcript, and a note's text, with the words and the passage that matched highlighted."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QUrl, Signal
from PySide6.QtGui import QColor, QPainter, QPixmap, QTextCharFormat, QTextCursor, QTextDocument
from PySide6.QtWidgets import (
    QGraphicsPixmapItem, QGraphicsScene, QGraphicsView, QHBoxLayout, QLabel, QPushButton, QSlider,
    QStackedWidget, QStyle, QTextEdit, QToolButton, QVBoxLayout, QWidget,
)

from app.results import FOUND_BY
from app.thumbnails import ImageLoader
from core.kinds import KINDS
from core.library import printable

try:
    from PySide6.QtMultimedia import QAudioOutput, QMediaDevices, QMediaPlayer
    MULTIMEDIA_MISSING = None
except ImportError as exc:  # PySide6-Essentials alone has no QtMultimedia; PySide6-Addons brings it
    MULTIMEDIA_MISSING = f"Playback is off: Qt Multimedia is not installed (PySide6-Addons) — {exc}"

PREVIEW_LONGEST_SIDE = 2400
WAVE_SIZE = QSize(600, 120)
PASSAGE_COLOUR = QColor("#fff3b0")
WORD_COLOUR = QColor("#ffd54a")


def audio_output_problem() -> str | None:
    """Why recordings cannot be played here, or None when there is an audio output."""
    if MULTIMEDIA_MISSING:
        return MULTIMEDIA_MISSING
    if not QMediaDevices.audioOutputs():
        return "Playback is off: this computer has no audio output device (no sound card or speakers found)"
    return None


def _clock(ms: int) -> str:
    seconds = max(0, ms) // 1000
    return f"{seconds // 60}:{seconds % 60:02d}"


def highlight(edit: QTextEdit, words: tuple[str, ...], passage: str | None) -> None:
    """Mark the passage that matched (light) and the words that matched (stronger) and scroll there."""
    document = edit.document()
    first = None
    if passage:
        plain = re.sub(r"[\[\]]", "", passage).strip(" ….")
        cursor = document.find(plain) if plain else QTextCursor()
        if not cursor.isNull():
            fmt = QTextCharFormat()
            fmt.setBackground(PASSAGE_COLOUR)
            cursor.mergeCharFormat(fmt)
            first = QTextCursor(cursor)
    for word in words:
        cursor = QTextCursor(document)
        while True:
            cursor = document.find(word, cursor, QTextDocument.FindFlag.FindWholeWords)
            if cursor.isNull():
                break
            fmt = QTextCharFormat()
            fmt.setBackground(WORD_COLOUR)
            fmt.setFontWeight(700)
            cursor.mergeCharFormat(fmt)
            if first is None:
                first = QTextCursor(cursor)
    place = QTextCursor(document)  # a plain cursor: the edit's typing format must stay plain
    place.setPosition(first.selectionStart() if first is not None else 0)
    edit.setTextCursor(place)
    edit.ensureCursorVisible()


def show_text(edit: QTextEdit, text: str, words: tuple[str, ...] = (), passage: str | None = None) -> None:
    edit.setCurrentCharFormat(QTextCharFormat())  # setPlainText writes in the current format
    edit.setPlainText(text)
    highlight(edit, words, passage)


def _text_view() -> QTextEdit:
    edit = QTextEdit()
    edit.setReadOnly(True)
    edit.setAcceptRichText(False)
    return edit


class ImageViewer(QGraphicsView):
    """A photo fitted to the pane, or zoomed (buttons, Ctrl+wheel); dragging pans."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.item = QGraphicsPixmapItem()
        self.item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.scene().addItem(self.item)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.fitting = True

    def show_pixmap(self, pixmap: QPixmap) -> None:
        self.item.setPixmap(pixmap)
        self.scene().setSceneRect(self.item.boundingRect())
        self.fit()

    def clear(self) -> None:
        self.item.setPixmap(QPixmap())

    def fit(self) -> None:
        self.fitting = True
        if not self.item.pixmap().isNull():
            self.fitInView(self.item, Qt.AspectRatioMode.KeepAspectRatio)

    def zoom(self, factor: float) -> None:
        self.fitting = False
        self.scale(factor, factor)

    def actual_size(self) -> None:
        self.fitting = False
        self.resetTransform()

    def scale_now(self) -> float:
        return self.transform().m11()

    def wheelEvent(self, event) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom(1.25 if event.angleDelta().y() > 0 else 0.8)
        else:
            super().wheelEvent(event)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.fitting:
            self.fit()


class PhotoPage(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.viewer = ImageViewer()
        layout.addWidget(self.viewer, 1)
        tools = QHBoxLayout()
        for label, tip, action in (("Fit", "Fit the photo to the pane", self.viewer.fit),
                                   ("1:1", "Actual size", self.viewer.actual_size),
                                   ("−", "Zoom out (Ctrl+wheel)", lambda: self.viewer.zoom(0.8)),
                                   ("+", "Zoom in (Ctrl+wheel)", lambda: self.viewer.zoom(1.25))):
            button = QToolButton(text=label, toolTip=tip)
            button.clicked.connect(action)
            tools.addWidget(button)
        tools.addStretch(1)
        layout.addLayout(tools)
        self.words = QLabel("")  # words read in the photo (OCR), when there are any
        self.words.setWordWrap(True)
        layout.addWidget(self.words)


class RecordingPage(QWidget):
    def __init__(self, playback_problem: str | None, parent=None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.wave = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.wave.setMinimumHeight(WAVE_SIZE.height())
        layout.addWidget(self.wave)
        transport = QHBoxLayout()
        self.play_button = QPushButton("Play")
        self._icons = {playing: self.style().standardIcon(icon) for playing, icon in (
            (False, QStyle.StandardPixmap.SP_MediaPlay), (True, QStyle.StandardPixmap.SP_MediaPause))}
        self.play_button.setIcon(self._icons[False])
        self.position = QSlider(Qt.Orientation.Horizontal)
        self.position.setToolTip("Seek")
        self.time = QLabel("0:00 / 0:00")
        for widget in (self.play_button, self.position):
            transport.addWidget(widget)
        transport.addWidget(self.time)
        layout.addLayout(transport)
        self.why_silent = QLabel(playback_problem or "")
        self.why_silent.setWordWrap(True)
        self.why_silent.setStyleSheet("color: palette(mid);" if not playback_problem else "color: #8a5a00;")
        self.why_silent.setVisible(bool(playback_problem))
        layout.addWidget(self.why_silent)
        layout.addWidget(QLabel("<b>Transcript</b>"))
        self.transcript = _text_view()
        layout.addWidget(self.transcript, 1)
        self.player = None
        if playback_problem is None:
            self.player = QMediaPlayer(self)
            self.output = QAudioOutput(self)
            self.player.setAudioOutput(self.output)
            self.player.positionChanged.connect(self._moved)
            self.player.durationChanged.connect(lambda ms: self.position.setRange(0, ms))
            self.player.playbackStateChanged.connect(self._state_changed)
            self.player.errorOccurred.connect(lambda _e, text: self._say(f"Cannot play this file: {text}"))
            self.position.sliderMoved.connect(self.player.setPosition)
            self.play_button.clicked.connect(self.toggle)
        for widget in (self.play_button, self.position):
            widget.setEnabled(self.player is not None)
            if playback_problem:
                widget.setToolTip(playback_problem)

    def _say(self, text: str) -> None:
        self.why_silent.setText(text)
        self.why_silent.setVisible(True)

    def load(self, path: str, start_seconds: float = 0.0) -> None:
        """Ready to play from `start_seconds` (where a hummed tune starts in it)."""
        self.time.setText(f"{_clock(int(start_seconds * 1000))} / 0:00")
        if self.player is not None:
            self.player.stop()
            self.player.setSource(QUrl.fromLocalFile(path))
            self.player.setPosition(int(start_seconds * 1000))

    def toggle(self) -> None:
        if self.player is None:
            return
        if self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState:
            self.player.pause()
        else:
            self.player.play()

    def stop(self) -> None:
        if self.player is not None:
            self.player.stop()

    def _moved(self, ms: int) -> None:
        if not self.position.isSliderDown():
            self.position.setValue(ms)
        self.time.setText(f"{_clock(ms)} / {_clock(self.player.duration())}")

    def _state_changed(self, state) -> None:
        playing = state == QMediaPlayer.PlaybackState.PlayingState
        self.play_button.setText("Pause" if playing else "Play")
        self.play_button.setIcon(self._icons[playing])


class PreviewPane(QWidget):
    """Shows one search hit; photos and waveforms are decoded off the GUI thread."""
    closed = Signal()

    def __init__(self, playback_problem: str | None = None, parent=None):
        super().__init__(parent)
        self.hit = None
        self.loader = ImageLoader(self)
        self.loader.ready.connect(self._image_ready)
        layout = QVBoxLayout(self)
        header = QHBoxLayout()
        self.title = QLabel("")
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton(toolTip="Close the preview (Space)")
        close.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_TitleBarCloseButton))
        close.setAutoRaise(True)
        close.clicked.connect(self.closed)
        header.addWidget(self.title, 1)
        header.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(header)
        self.why = QLabel("")
        self.why.setWordWrap(True)
        layout.addWidget(self.why)
        self.pages = QStackedWidget()
        self.photo = PhotoPage()
        self.recording = RecordingPage(playback_problem)
        self.note = _text_view()
        for page in (self.photo, self.recording, self.note):
            self.pages.addWidget(page)
        layout.addWidget(self.pages, 1)
        self.setMinimumWidth(320)

    def show_hit(self, hit) -> None:
        self.recording.stop()
        self.hit = hit
        item = hit.item
        details = [KINDS[item.kind].label]
        if item.width and item.height:
            details.append(f"{item.width}×{item.height}")
        if item.duration:
            details.append(f"{item.duration:.1f} s")
        details.append(f"match {hit.relevance:.0%}")
        name = printable(Path(item.path).name)
        self.title.setText(f"<b>{_html(name)}</b><br><small>{_html(' · '.join(details))}<br>"
                           f"{_html(printable(str(Path(item.path).parent)))}</small>")
        self.why.setText(why_it_matched(hit))
        text = item.extracted_text or ""
        if item.kind == "image":
            self.pages.setCurrentWidget(self.photo)
            self.photo.viewer.clear()
            self.photo.words.setText(f"Words in the photo: {text}" if text.strip() else "")
            self.loader.request(item.path, "image", QSize(PREVIEW_LONGEST_SIDE, PREVIEW_LONGEST_SIDE))
        elif item.kind == "audio":
            self.pages.setCurrentWidget(self.recording)
            self.recording.wave.clear()
            show_text(self.recording.transcript, text.strip() or "(no speech found in this recording)",
                      hit.matched, hit.snippet)
            self.recording.load(item.path, getattr(hit, "at_seconds", None) or 0.0)  # the matching part
            self.loader.request(item.path, "audio", WAVE_SIZE)
        else:
            self.pages.setCurrentWidget(self.note)
            passage = (getattr(hit, "passage", None) or "").strip().split("\n")[0]  # one line: find() stays in one
            show_text(self.note, text or _read_note(item.path), hit.matched, hit.snippet or passage or None)

    def _image_ready(self, path, image) -> None:
        if self.hit is None or path != self.hit.item.path or image.isNull():
            return
        if self.hit.item.kind == "image":
            self.photo.viewer.show_pixmap(QPixmap.fromImage(image))
        else:
            self.recording.wave.setPixmap(QPixmap.fromImage(image))

    def stop(self) -> None:
        self.recording.stop()


def why_it_matched(hit) -> str:
    ways = [FOUND_BY.get(channel, channel) for channel in hit.channels]
    line = f"Found by {' and '.join(ways)}"
    if hit.matched:
        line += f": {', '.join(hit.matched)}"
    elif hit.snippet and hit.channels == ("melody",):
        line += f": {hit.snippet}"
    companions = getattr(hit, "companions", ())
    if companions:
        line += f". With this recording: {', '.join(printable(Path(c.path).name) for c in companions)}"
    return line


def _html(text: str) -> str:
    import html
    return html.escape(text)


def _read_note(path: str) -> str:
    try:
        with open(path, "rb") as stream:
            return stream.read(200_000).decode("utf-8", "replace")
    except OSError as exc:
        return f"(cannot read this note: {exc.strerror})"
