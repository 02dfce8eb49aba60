"""The user's settings, kept with QSettings (OCR, transcripts, CPU use, thumbnail size, theme, whether
the first run is over), the dialog that edits them, and the theme applied to the application."""

from __future__ import annotations

import os

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel

OCR_CHOICES = {"auto": "Automatic (photos that look like text)", "on": "Every photo", "off": "Off"}
CPU_CHOICES = {"low": "Gentle (one core)", "half": "Half of the cores", "all": "All cores (fastest)"}
THEME_CHOICES = {"system": "As the system", "light": "Light", "dark": "Dark"}
SIZE_CHOICES = {"small": "Small", "medium": "Medium", "large": "Large"}
# The engine reads its OCR setting from this variable at each picture (docs/USAGE.md): the window sets
# it in its own process, which is where its workers index.
OCR_VARIABLE = "TRIMODAL_BIND_OCR"
DEFAULTS = {"ocr": "auto", "transcripts": True, "cpu": "half", "thumbnails": "medium", "theme": "system",
            "first_run_done": False}


def _settings() -> QSettings:
    """Beside the library's data when TRIMODAL_BIND_HOME is set (tests, portable use), else the
    platform's place for the application's settings."""
    home = os.environ.get("TRIMODAL_BIND_HOME")
    if home:
        return QSettings(os.path.join(home, "settings.ini"), QSettings.Format.IniFormat)
    return QSettings("Trimodal-Bind", "Trimodal-Bind")


class AppSettings:
    def __init__(self):
        self.store = _settings()

    def get(self, key: str):
        default = DEFAULTS[key]
        value = self.store.value(key, default)
        if isinstance(default, bool):
            return value in (True, "true", "1", 1)
        return value if value is not None else default

    def set(self, key: str, value) -> None:
        self.store.setValue(key, value)
        self.store.sync()

    def threads(self) -> int | None:
        """The CPU setting as a number of threads for the engine (None: all cores)."""
        cores = os.cpu_count() or 2
        return {"low": 1, "half": max(1, cores // 2)}.get(self.get("cpu"))


def _combo(choices: dict, current: str) -> QComboBox:
    combo = QComboBox()
    for key, label in choices.items():
        combo.addItem(label, key)
    combo.setCurrentIndex(max(0, combo.findData(current)))
    return combo


class SettingsDialog(QDialog):
    def __init__(self, settings: AppSettings, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.settings = settings
        form = QFormLayout(self)
        self.ocr = _combo(OCR_CHOICES, settings.get("ocr"))
        self.ocr.setToolTip("Read the words in photos (screenshots, signs, scanned pages) so they can be searched")
        self.transcripts = QCheckBox("Transcribe speech in recordings")
        self.transcripts.setChecked(settings.get("transcripts"))
        self.cpu = _combo(CPU_CHOICES, settings.get("cpu"))
        self.cpu.setToolTip("How much of the computer indexing may use; applies from the next start")
        self.thumbnails = _combo(SIZE_CHOICES, settings.get("thumbnails"))
        self.theme = _combo(THEME_CHOICES, settings.get("theme"))
        form.addRow("Words in photos (OCR):", self.ocr)
        form.addRow("Recordings:", self.transcripts)
        form.addRow("CPU use while indexing:", self.cpu)
        form.addRow("Thumbnail size:", self.thumbnails)
        form.addRow("Theme:", self.theme)
        note = QLabel("OCR and transcripts apply to files indexed from now on; CPU use from the next start.")
        note.setWordWrap(True)
        form.addRow(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def accept(self) -> None:
        self.settings.set("ocr", self.ocr.currentData())
        self.settings.set("transcripts", self.transcripts.isChecked())
        self.settings.set("cpu", self.cpu.currentData())
        self.settings.set("thumbnails", self.thumbnails.currentData())
        self.settings.set("theme", self.theme.currentData())
        super().accept()


def _dark_palette() -> QPalette:
    palette = QPalette()
    colours = {
        QPalette.ColorRole.Window: "#2b2d30", QPalette.ColorRole.WindowText: "#e6e6e6",
        QPalette.ColorRole.Base: "#1f2023", QPalette.ColorRole.AlternateBase: "#2b2d30",
        QPalette.ColorRole.Text: "#e6e6e6", QPalette.ColorRole.Button: "#35373b",
        QPalette.ColorRole.ButtonText: "#e6e6e6", QPalette.ColorRole.Highlight: "#3b8ed8",
        QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.ToolTipBase: "#35373b",
        QPalette.ColorRole.ToolTipText: "#e6e6e6", QPalette.ColorRole.Mid: "#55585e",
        QPalette.ColorRole.Midlight: "#45484d", QPalette.ColorRole.PlaceholderText: "#9a9a9a",
    }
    for role, colour in colours.items():
        palette.setColor(role, QColor(colour))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor("#7a7a7a"))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor("#7a7a7a"))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText, QColor("#7a7a7a"))
    return palette


def apply_engine_settings(settings: AppSettings) -> None:
    """What the engine is told at once: the OCR mode, once chosen in Settings (until then the
    variable, if the user set one, or the engine's default). Transcripts and CPU use reach the
    model when it is loaded (app/main.py), so they take effect at the next start."""
    if settings.store.contains("ocr"):
        os.environ[OCR_VARIABLE] = settings.get("ocr")


def apply_theme(theme: str) -> None:
    """Light and dark are drawn by the Fusion style with our palette; "system" leaves both to the platform."""
    app = QApplication.instance()
    hints = app.styleHints()
    if hasattr(hints, "setColorScheme"):  # Qt 6.8: native dialogs and the platform follow too
        scheme = {"light": Qt.ColorScheme.Light, "dark": Qt.ColorScheme.Dark}.get(theme, Qt.ColorScheme.Unknown)
        hints.setColorScheme(scheme)
    if theme == "system":
        app.setPalette(app.style().standardPalette())
        return
    app.setStyle("Fusion")
    app.setPalette(_dark_palette() if theme == "dark" else app.style().standardPalette())
