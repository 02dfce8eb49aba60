"""Thumbnails (photos; recordings as their waveform), made off the GUI thread (QThreadPool) and
cached on disk in the user cache folder. A job only makes a QImage (safe in any thread) and hands it
over by a queued signal; the GUI thread turns it into a pixmap. EXIF orientation is honoured
(QImageReader.setAutoTransform)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject, QRunnable, QSize, Qt, QThreadPool, Signal, Slot
from PySide6.QtGui import QColor, QImage, QImageReader, QPainter

from core.library import picture_png, user_cache_dir, waveform_outline

THUMBNAIL_SIZE = QSize(160, 120)
CACHE_VERSION = 2  # bump when the way thumbnails are made changes
WAVE_COLOUR = QColor("#a4532b")


def cache_file(path: str, size: QSize = THUMBNAIL_SIZE) -> Path | None:
    """The cached thumbnail's name: the file's path, size and change time, so an edited photo gets a new one."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    key = b"|".join([os.fsencode(path), str(stat.st_size).encode(), str(stat.st_mtime_ns).encode(),
                     f"{size.width()}x{size.height()}v{CACHE_VERSION}".encode()])
    return user_cache_dir() / "thumbnails" / f"{hashlib.sha1(key).hexdigest()}.png"


def make_thumbnail(path: str, kind: str = "image", size: QSize = THUMBNAIL_SIZE) -> QImage:
    """The thumbnail from the cache, or made from the file and saved there. Null when unreadable."""
    cached = cache_file(path, size)
    if cached is not None and cached.exists():
        image = QImage(str(cached))
        if not image.isNull():
            return image
    image = _waveform(path, size) if kind == "audio" else _photo(path, size)
    if cached is not None and not image.isNull():
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            image.save(str(cached), "PNG")
        except OSError:
            pass  # a read-only cache only costs the next decode
    return image


def _waveform(path: str, size: QSize) -> QImage:
    """The recording's peaks as mirrored bars."""
    peaks = waveform_outline(path, points=size.width() // 3)
    if not peaks:
        return QImage()
    image = QImage(size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(WAVE_COLOUR)
    middle, reach = size.height() / 2, size.height() / 2 - 14
    for i, peak in enumerate(peaks):
        half = max(1.0, peak * reach)
        painter.drawRoundedRect(i * 3, int(middle - half), 2, int(2 * half), 1, 1)
    painter.end()
    return image


def _photo(path: str, size: QSize, enlarge: bool = True) -> QImage:
    try:  # read the bytes in Python: a name that is not UTF-8 cannot pass through a Qt string
        with open(path, "rb") as stream:
            data = QByteArray(stream.read())
    except OSError:
        return QImage()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    reader = QImageReader(buffer)
    reader.setAutoTransform(True)
    full = reader.size()
    if full.isValid() and max(full.width(), full.height()) > 4 * max(size.width(), size.height()):
        # decode small (much faster for big JPEGs); rotation comes after, so fit a square
        side = 2 * max(size.width(), size.height())
        reader.setScaledSize(full.scaled(QSize(side, side), Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    if image.isNull():  # a format Qt cannot read (HEIC, AVIF, SVG): the engine's decoder, upright
        png = picture_png(path, 2 * max(size.width(), size.height()))
        image = QImage.fromData(png) if png else QImage()
    if image.isNull() or (not enlarge and image.width() <= size.width() and image.height() <= size.height()):
        return image
    return image.scaled(size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)


class _Job(QRunnable):
    def __init__(self, make, path: str, kind: str, size: QSize, done):
        super().__init__()
        self.make, self.path, self.kind, self.size, self.done = make, path, kind, size, done

    def run(self) -> None:
        try:
            image = self.make(self.path, self.kind, self.size)
        except Exception:  # noqa: BLE001 - a broken photo gets the kind's icon, never a crash
            image = QImage()
        self.done.emit(self.path, image)


def make_preview(path: str, kind: str, size: QSize) -> QImage:
    """A photo at most `size`, or a recording's waveform at `size`, not cached on disk."""
    return _waveform(path, size) if kind == "audio" else _photo(path, size, enlarge=False)


class ThumbnailLoader(QObject):
    """Asks the pool for thumbnails; `ready(path, QImage)` arrives on the GUI thread."""
    ready = Signal(object, QImage)  # path (object: it may not be valid UTF-8), image (null when unreadable)
    make = staticmethod(make_thumbnail)

    def __init__(self, parent=None, size: QSize = THUMBNAIL_SIZE):
        super().__init__(parent)
        self.size = size
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max(1, min(4, (os.cpu_count() or 2) - 1)))
        self._asked: set[str] = set()
        self.ready.connect(self._arrived)

    @Slot(object, QImage)
    def _arrived(self, path, _image) -> None:
        self._asked.discard(path)

    def request(self, path: str, kind: str = "image", size: QSize | None = None) -> None:
        if path in self._asked:
            return
        self._asked.add(path)
        self.pool.start(_Job(self.make, path, kind, size or self.size, self.ready))

    def wait(self, msecs: int = 5000) -> bool:
        return self.pool.waitForDone(msecs)


class ImageLoader(ThumbnailLoader):
    """The preview pane's pictures: bigger, one at a time, never cached on disk."""
    make = staticmethod(make_preview)
