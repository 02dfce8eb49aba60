"""The results grid: a list model of search hits, a delegate that draws each as a card (thumbnail or
text, kind badge, name, relevance bar) and the icon-mode view that shows them."""

from __future__ import annotations

import html
import re
from pathlib import Path

from PySide6.QtCore import QAbstractListModel, QModelIndex, QRect, QSize, Qt, Signal, Slot
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPalette, QPixmap, QTextDocument
from PySide6.QtWidgets import QListView, QStyle, QStyledItemDelegate

from app.thumbnails import THUMBNAIL_SIZE, ThumbnailLoader
from core.kinds import KINDS
from core.library import printable

HitRole = Qt.ItemDataRole.UserRole + 1
FOUND_BY = {"semantic": "its meaning", "keywords": "its words", "melody": "its tune"}  # a hit's channels
PathRole = Qt.ItemDataRole.UserRole + 2  # the real name (may hold bytes that are not UTF-8)
THUMBNAIL_SIZES = {"small": QSize(120, 90), "medium": THUMBNAIL_SIZE, "large": QSize(220, 165)}


def card_size(thumbnail: QSize) -> QSize:
    return QSize(thumbnail.width() + 16, thumbnail.height() + 58)
BADGE_COLOURS = {"image": QColor("#2f7d4f"), "audio": QColor("#a4532b"), "text": QColor("#3d5fa8")}


class ResultsModel(QAbstractListModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.hits: list = []
        self.thumbnails: dict[str, QPixmap] = {}  # path → pixmap, this session's
        self.loader = ThumbnailLoader(self)
        self.loader.ready.connect(self._thumbnail_ready)

    def set_hits(self, hits: list) -> None:
        self.beginResetModel()
        self.hits = list(hits)
        self.endResetModel()
        for hit in self.hits:  # asked for at once, so they arrive even before the view paints
            if hit.item.kind in ("image", "audio") and hit.item.path not in self.thumbnails:
                self.loader.request(hit.item.path, hit.item.kind)

    def set_thumbnail_size(self, size: QSize) -> None:
        self.loader.size = size
        self.thumbnails.clear()
        self.set_hits(self.hits)

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.hits)

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self.hits):
            return None
        hit = self.hits[index.row()]
        item = hit.item
        if role == Qt.ItemDataRole.DisplayRole:
            return printable(Path(item.path).name)
        if role == Qt.ItemDataRole.ToolTipRole:
            details = [KINDS[item.kind].label, f"match {hit.relevance:.0%}"]
            if item.width and item.height:
                details.append(f"{item.width}×{item.height}")
            if item.duration:
                details.append(f"{item.duration:.1f} s")
            why = [FOUND_BY.get(channel, channel) for channel in hit.channels]
            found = f"\nFound by {' and '.join(why)}" + (f": {', '.join(hit.matched)}" if hit.matched else "")
            snippet = f"\n“{hit.snippet}”" if hit.snippet else ""
            at = getattr(hit, "at_seconds", None)
            if at is not None:
                snippet += f"\nbest from {int(at) // 60}:{int(at) % 60:02d}"
            copies = getattr(hit, "copies", ())
            also = "".join(f"\nalso at {printable(copy.path)}" for copy in copies[:5])
            return f"{printable(item.path)}\n{' · '.join(details)}{found}{snippet}{also}"
        if role == Qt.ItemDataRole.DecorationRole:
            return self.thumbnails.get(item.path)
        if role == HitRole:
            return hit
        if role == PathRole:
            return item.path
        return None

    def thumbnail(self, row: int) -> QPixmap | None:
        return self.thumbnails.get(self.hits[row].item.path)

    @Slot(object, QImage)
    def _thumbnail_ready(self, path, image: QImage) -> None:
        if image.isNull():
            return
        if len(self.thumbnails) > 2000:
            self.thumbnails.clear()
        self.thumbnails[path] = QPixmap.fromImage(image)
        for row, hit in enumerate(self.hits):
            if hit.item.path == path:
                index = self.index(row)
                self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])


class CardDelegate(QStyledItemDelegate):
    def __init__(self, kind_icons: dict, parent=None):
        super().__init__(parent)
        self.kind_icons = kind_icons
        self.thumbnail = THUMBNAIL_SIZE

    def sizeHint(self, option, index) -> QSize:
        return card_size(self.thumbnail)

    def paint(self, painter: QPainter, option, index: QModelIndex) -> None:
        hit = index.data(HitRole)
        if hit is None:
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = option.palette
        card = option.rect.adjusted(4, 4, -4, -4)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        painter.setPen(palette.color(QPalette.ColorRole.Highlight if selected else QPalette.ColorRole.Mid))
        painter.setBrush(palette.color(QPalette.ColorRole.Highlight).lighter(170) if selected
                         else palette.color(QPalette.ColorRole.Base))
        painter.drawRoundedRect(card, 6, 6)

        area = QRect(card.left() + 4, card.top() + 4, card.width() - 8, self.thumbnail.height())
        self._paint_preview(painter, area, hit, index.data(Qt.ItemDataRole.DecorationRole), palette)
        self._paint_badge(painter, area, hit.item.kind)
        if getattr(hit, "copies", ()):
            self._paint_copies(painter, area, len(hit.copies))

        text_rect = QRect(card.left() + 6, area.bottom() + 6, card.width() - 12, 18)
        painter.setPen(palette.color(QPalette.ColorRole.Text))
        name = option.fontMetrics.elidedText(index.data(Qt.ItemDataRole.DisplayRole), Qt.TextElideMode.ElideMiddle,
                                             text_rect.width())
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, name)

        bar = QRect(card.left() + 6, text_rect.bottom() + 8, card.width() - 12, 6)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(palette.color(QPalette.ColorRole.Midlight))
        painter.drawRoundedRect(bar, 3, 3)
        filled = QRect(bar.left(), bar.top(), max(6, int(bar.width() * hit.relevance)), bar.height())
        painter.setBrush(QColor("#3b8ed8"))
        painter.drawRoundedRect(filled, 3, 3)
        painter.restore()

    def _paint_preview(self, painter: QPainter, area: QRect, hit, pixmap, palette) -> None:
        item = hit.item
        if isinstance(pixmap, QPixmap) and not pixmap.isNull():
            x = area.left() + (area.width() - pixmap.width()) // 2
            y = area.top() + (area.height() - pixmap.height()) // 2
            painter.drawPixmap(x, y, pixmap)
            return
        if item.kind == "text" and (hit.snippet or item.extracted_text):
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor("#fbf8ea"))
            painter.drawRect(area)
            font = QFont(painter.font())
            font.setPointSizeF(max(6.0, font.pointSizeF() * 0.8))
            document = QTextDocument()
            document.setDefaultFont(font)
            document.setTextWidth(area.width() - 12)
            document.setHtml(_note_html(hit))
            painter.save()
            painter.translate(area.left() + 6, area.top() + 20)
            painter.setClipRect(0, 0, area.width() - 12, area.height() - 24)
            document.drawContents(painter)
            painter.restore()
            return
        icon = self.kind_icons.get(item.kind)
        if icon is not None:
            icon.paint(painter, area.adjusted(0, 20, 0, -10))

    @staticmethod
    def _paint_copies(painter: QPainter, area: QRect, count: int) -> None:
        """"+2 copies" in the card's top right: the same photo or file found elsewhere, folded in."""
        label = f"+{count} cop{'y' if count == 1 else 'ies'}"
        font = QFont(painter.font())
        font.setPointSizeF(max(6.0, font.pointSizeF() * 0.8))
        painter.setFont(font)
        width = painter.fontMetrics().horizontalAdvance(label) + 10
        badge = QRect(area.right() - width - 2, area.top() + 2, width, painter.fontMetrics().height() + 2)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 150))
        painter.drawRoundedRect(badge, 4, 4)
        painter.setPen(QColor("white"))
        painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, label)
        painter.setFont(QFont())

    @staticmethod
    def _paint_badge(painter: QPainter, area: QRect, kind: str) -> None:
        label = KINDS[kind].label
        font = QFont(painter.font())
        font.setBold(True)
        font.setPointSizeF(max(6.0, font.pointSizeF() * 0.8))
        painter.setFont(font)
        width = painter.fontMetrics().horizontalAdvance(label) + 10
        badge = QRect(area.left() + 2, area.top() + 2, width, painter.fontMetrics().height() + 2)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(BADGE_COLOURS.get(kind, QColor("#555555")))
        painter.drawRoundedRect(badge, 4, 4)
        painter.setPen(QColor("white"))
        painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, label)
        painter.setFont(QFont())


class ResultsView(QListView):
    """A grid of cards that reflows with the window's width. Enter opens a card (activated), Space
    previews it."""
    preview_requested = Signal(QModelIndex)

    def __init__(self, model: ResultsModel, kind_icons: dict, parent=None):
        super().__init__(parent)
        self.setModel(model)
        self.cards = CardDelegate(kind_icons, self)
        self.setItemDelegate(self.cards)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setGridSize(card_size(THUMBNAIL_SIZE) + QSize(6, 6))
        self.setSpacing(0)
        self.setWordWrap(True)
        self.setSelectionMode(QListView.SelectionMode.SingleSelection)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)

    def set_thumbnail_size(self, size: QSize) -> None:
        self.cards.thumbnail = size
        self.setGridSize(card_size(size) + QSize(6, 6))
        self.model().set_thumbnail_size(size)
        self.scheduleDelayedItemsLayout()

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and self.currentIndex().isValid():
            self.preview_requested.emit(self.currentIndex())
            return
        super().keyPressEvent(event)

    def path_at(self, index: QModelIndex) -> str | None:
        return index.data(PathRole) if index.isValid() else None


def _note_html(hit) -> str:
    """A note's card: the passage that matched, its matched words (in [brackets]) in bold; else its start."""
    text = " ".join((hit.snippet or getattr(hit, "passage", None) or hit.item.extracted_text or "").split())[:400]
    text = html.escape(text)
    if hit.snippet:
        text = re.sub(r"\[([^\[\]]+)\]", r"<b>\1</b>", text)
    return f'<span style="color:#3a3a3a">{text}</span>'
