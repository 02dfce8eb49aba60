"""Photo thumbnails, decoded off the GUI thread (QThreadPool) and cached on disk in the user cache
folder. A job only makes a QImage (safe in any thread) and hands it over by a queued signal; the
GUI thread turns it into a pixmap. EXIF orientation is honoured (QImageReader.setAutoTransform)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import platformdirs
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject, QRunnable, QSize, Qt, QThreadPool, Signal, Slot
from PySide6.QtGui import QImage, QImageReader

THUMBNAIL_SIZE = QSize(160, 120)
CACHE_VERSION = 1  # bump when the way thumbnails are made changes


def cache_dir() -> Path:
    """The user cache folder; beside the library's data when TRIMODAL_BIND_HOME is set (tests, portable use)."""
    home = os.environ.get("TRIMODAL_BIND_HOME")
    return Path(home) / "cache" if home else Path(platformdirs.user_cache_dir("trimodal-bind"))


def cache_file(path: str, size: QSize = THUMBNAIL_SIZE) -> Path | None:
    """The cached thumbnail's name: the file's path, size and change time, so an edited photo gets a new one."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    key = b"|".join([os.fsencode(path), str(stat.st_size).encode(), str(stat.st_mtime_ns).encode(),
                     f"{size.width()}x{size.height()}v{CACHE_VERSION}".encode()])
    return cache_dir() / "thumbnails" / f"{hashlib.sha1(key).hexdigest()}.png"


def make_thumbnail(path: str, size: QSize = THUMBNAIL_SIZE) -> QImage:
    """The thumbnail from the cache, or decoded from the file and saved there. Null when unreadable."""
    cached = cache_file(path, size)
    if cached is not None and cached.exists():
        image = QImage(str(cached))
        if not image.isNull():
            return image
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
    if image.isNull():
        return image
    image = image.scaled(size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
    if cached is not None:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            image.save(str(cached), "PNG")
        except OSError:
            pass  # a read-only cache only costs the next decode
    return image


class _Job(QRunnable):
    def __init__(self, path: str, done):
        super().__init__()
        self.path, self.done = path, done

    def run(self) -> None:
        try:
            image = make_thumbnail(self.path)
        except Exception:  # noqa: BLE001 - a broken photo gets the kind's icon, never a crash
            image = QImage()
        self.done.emit(self.path, image)


class ThumbnailLoader(QObject):
    """Asks the pool for thumbnails; `ready(path, QImage)` arrives on the GUI thread."""
    ready = Signal(object, QImage)  # path (object: it may not be valid UTF-8), image (null when unreadable)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max(1, min(4, (os.cpu_count() or 2) - 1)))
        self._asked: set[str] = set()
        self.ready.connect(self._arrived)

    @Slot(object, QImage)
    def _arrived(self, path, _image) -> None:
        self._asked.discard(path)

    def request(self, path: str) -> None:
        if path in self._asked:
            return
        self._asked.add(path)
        self.pool.start(_Job(path, self.ready))

    def wait(self, msecs: int = 5000) -> bool:
        return self.pool.waitForDone(msecs)
