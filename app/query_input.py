"""What can be searched by besides typed words: a file dropped on the window, or an image or a
path on the clipboard (a pasted image is kept in the cache folder so it can be searched again)."""

from __future__ import annotations

import hashlib
import os

from PySide6.QtCore import QEvent, QObject, QUrl, Signal
from PySide6.QtGui import QImage, QKeySequence
from PySide6.QtWidgets import QApplication

from core.kinds import kind_of
from core.library import user_cache_dir

PASTED_KEPT = 20


def dropped_file(mime) -> str | None:
    """The first local file of a drag that the library can search by, or None."""
    urls = mime.urls() if mime is not None else []
    if urls and urls[0].isLocalFile() and kind_of(urls[0].toLocalFile()):
        return urls[0].toLocalFile()
    return None


def clipboard_query() -> str | None:
    """A file to search by from the clipboard: a file copied in the file manager, a path or file://
    URL as text, or an image (saved first). None when it holds plain words, left to the field."""
    mime = QApplication.clipboard().mimeData()
    if mime is None:
        return None
    paths = [url.toLocalFile() for url in mime.urls() if url.isLocalFile()]
    text = mime.text().strip() if mime.hasText() else ""
    if not paths and text.startswith("file://"):
        paths = [QUrl(text.splitlines()[0]).toLocalFile()]
    elif not paths and text and "\n" not in text and os.path.isfile(os.path.expanduser(text)):
        paths = [os.path.expanduser(text)]
    if paths and kind_of(paths[0]):
        return paths[0]
    if mime.hasImage():
        image = mime.imageData()
        if isinstance(image, QImage) and not image.isNull():
            return save_pasted(image)
    return None


def save_pasted(image: QImage) -> str:
    folder = user_cache_dir() / "pasted"
    folder.mkdir(parents=True, exist_ok=True)
    tag = hashlib.sha1(bytes(image.constBits())[:1 << 20]).hexdigest()[:12]
    path = folder / f"pasted-{image.width()}x{image.height()}-{tag}.png"
    image.save(str(path), "PNG")
    for old in sorted(folder.glob("pasted-*.png"), key=lambda p: p.stat().st_mtime)[:-PASTED_KEPT]:
        old.unlink(missing_ok=True)  # the last few pasted images are kept, for "more like this"
    return str(path)


class PasteWatcher(QObject):
    """Ctrl+V in the widgets it watches: an image or a file on the clipboard becomes the query
    (`pasted(path)`); anything else is pasted as usual."""
    pasted = Signal(str)

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.KeyPress and event.matches(QKeySequence.StandardKey.Paste):
            path = clipboard_query()
            if path:
                self.pasted.emit(path)
                return True
        return False
