"""The About box: version, credits and the licence of every model the app runs (from the model
card shipped in resources/model, so the box and the card never disagree)."""

from __future__ import annotations

import html
import re
from pathlib import Path

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QTextBrowser, QVBoxLayout

from core.library import BUNDLED_MODEL_DIR, DEMO_LIBRARY_DIR, VERSION

# Shown when the model card cannot be read; the card's "Sources and licences" section is the source.
FALLBACK_LICENCES = [
    "all-MiniLM-L6-v2 (sentence-transformers): Apache-2.0",
    "EfficientNet-Lite0, ImageNet weights: Apache-2.0",
    "aisfx sound-effects embedding network by A. B. Ma and A. Lerch, “Representation Learning for the "
    "Automatic Indexing of Sound Effects Libraries”, ISMIR 2022: code MIT, pre-trained weights CC BY 4.0 "
    "(Copyright (c) 2022 A.B. Ma and A. Lerch)",
    "ImageNet class names: WordNet lemmas (WordNet licence)",
    "Whisper tiny.en (OpenAI): MIT, run by faster-whisper (MIT) with Silero VAD (MIT)",
    "Our heads (image, audio, speech): trained on share-alike sources, offered under CC BY-SA 4.0 as well",
]


def model_licences(model_dir: Path = BUNDLED_MODEL_DIR) -> list[tuple[str, str]]:
    """The model card's "Sources and licences" section as ("item" | "text", line) blocks: its
    bullet points, and the paragraphs between them, each joined into one line."""
    try:
        card = (Path(model_dir) / "MODEL_CARD.md").read_text(encoding="utf-8")
    except OSError:
        card = ""
    section = card.split("## Sources and licences", 1)
    if len(section) < 2:
        return [("item", line) for line in FALLBACK_LICENCES]
    blocks: list[list[str]] = []
    for line in section[1].split("\n## ", 1)[0].splitlines():
        if not line.strip():
            blocks.append(["", ""])  # a blank line ends a paragraph or a bullet
        elif line.startswith("- "):
            blocks.append(["item", line[2:].strip()])
        elif blocks and blocks[-1][0] and (line.startswith("  ") or blocks[-1][0] == "text"):
            blocks[-1][1] += " " + line.strip()
        else:
            blocks.append(["text", line.strip()])
    found = [(kind, re.sub(r"\s+", " ", text)) for kind, text in blocks if kind]
    return found or [("item", line) for line in FALLBACK_LICENCES]


def _markdown_inline(text: str) -> str:
    text = html.escape(text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", text)


def about_html(model_id: str, database: str) -> str:
    items = "".join(f"<li>{_markdown_inline(text)}</li>" if kind == "item" else f"</ul><p>{_markdown_inline(text)}</p><ul>"
                    for kind, text in model_licences())
    return (
        f"<h2>Trimodal-Bind {html.escape(VERSION)}</h2>"
        "<p>Finds photos, recordings and notes from anything else — words, a photo, a sound — entirely "
        "offline: nothing you index or search leaves this computer.</p>"
        f"<p><b>Model:</b> {html.escape(model_id)}<br><b>Library:</b> {html.escape(database)}</p>"
        "<h3>Models and their licences</h3>"
        f"<ul>{items}</ul>"
        "<h3>Credits</h3>"
        "<p>Sound-effects embeddings: aisfx by A. B. Ma and A. Lerch (ISMIR 2022), pre-trained weights "
        "licensed CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/). Speech: Whisper (OpenAI) "
        "through faster-whisper and CTranslate2; Silero VAD. Built with Qt for Python (PySide6, LGPL-3.0), "
        "ONNX Runtime (MIT), SQLite and sqlite-vec (MIT/Apache-2.0), FAISS (MIT).</p>"
        f"<p>The demo library's files and their authors are listed in "
        f"{html.escape(str(Path(DEMO_LIBRARY_DIR) / 'CREDITS.md'))}; the full model card in "
        f"{html.escape(str(Path(BUNDLED_MODEL_DIR) / 'MODEL_CARD.md'))}.</p>"
    )


class AboutDialog(QDialog):
    def __init__(self, model_id: str, database: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle("About Trimodal-Bind")
        self.resize(620, 560)
        layout = QVBoxLayout(self)
        self.text = QTextBrowser()
        self.text.setOpenExternalLinks(False)
        self.text.setHtml(about_html(model_id, database))
        layout.addWidget(self.text)
        layout.addWidget(QLabel("Trimodal-Bind is free software (MIT)."))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
