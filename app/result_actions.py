"""What can be done with a result: open it, show it in its folder, copy its path, preview it, find
more like it (same kind) or search everything by it. From the context menu and the keys."""

from __future__ import annotations

import os
import shutil
import subprocess

from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication, QMenu, QWidget

from core.library import printable


def open_file(path: str) -> None:
    QDesktopServices.openUrl(QUrl.fromLocalFile(path))


def reveal_in_folder(path: str) -> None:
    """Select the file in the file manager where the desktop offers it (the FileManager1 D-Bus
    interface); else open its folder."""
    dbus_send = shutil.which("dbus-send")
    if dbus_send and os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        uri = QUrl.fromLocalFile(path).toString()
        done = subprocess.run([dbus_send, "--session", "--print-reply", "--dest=org.freedesktop.FileManager1",
                               "/org/freedesktop/FileManager1", "org.freedesktop.FileManager1.ShowItems",
                               f"array:string:{uri}", "string:"], capture_output=True, timeout=5)
        if done.returncode == 0:
            return
    QDesktopServices.openUrl(QUrl.fromLocalFile(os.path.dirname(path)))


def copy_path(path: str) -> None:
    QApplication.clipboard().setText(printable(path))


class ResultActions(QObject):
    """The menu for one result; asks the window for what needs the library."""
    preview = Signal(object)  # the hit
    more_like_this = Signal(object)  # the hit: items of its kind like it
    search_by_this = Signal(str)  # a path: everything like it

    def menu_for(self, hit, can_search_by: bool, parent: QWidget) -> QMenu:
        path = hit.item.path
        menu = QMenu(parent)
        menu.addAction("Open", lambda: open_file(path)).setShortcutVisibleInContextMenu(True)
        menu.addAction("Preview", lambda: self.preview.emit(hit))
        menu.addAction("Show in folder", lambda: reveal_in_folder(path))
        menu.addAction("Copy path", lambda: copy_path(path))
        menu.addSeparator()
        more = menu.addAction("More like this", lambda: self.more_like_this.emit(hit))
        every = menu.addAction("Search by this", lambda: self.search_by_this.emit(path))
        for action in (more, every):
            action.setEnabled(can_search_by)
        return menu
