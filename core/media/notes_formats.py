"""The text of notes kept in document formats: web pages (.html, text only), PDF (pypdf), Word
(.docx, python-docx) and OpenDocument text (.odt, odfpy). Plain-text notes are decoded in
core.media.extract; these readers take the file's bytes and give the words a reader would see.

Each reads at most MAX_TEXT_CHARS of text (a note is embedded from its start and its passages are
capped anyway) and raises NoteFormatError with a sentence a user can act on.
"""

from __future__ import annotations

import html.parser
import io
import re
import zipfile

MAX_TEXT_CHARS = 2_000_000
MAX_PDF_PAGES = 2_000
_SPACES = re.compile(r"[ \t\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n\s*\n(\s*\n)+")


class NoteFormatError(ValueError):
    pass


def _tidy(text: str) -> str:
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()[:MAX_TEXT_CHARS]


class _HtmlText(html.parser.HTMLParser):
    """The visible text of a page: no scripts, styles or markup; block elements end lines."""

    HIDDEN = frozenset({"script", "style", "noscript", "template", "head", "svg"})
    BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "title",
                        "section", "article", "blockquote", "pre", "table", "ul", "ol", "dd", "dt", "hr"})

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0
        self.title: list[str] = []
        self.in_title = False
        self.size = 0

    def handle_starttag(self, tag, attrs):
        if tag == "title":
            self.in_title = True
        elif tag in self.HIDDEN:
            self.hidden += 1
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag == "title":
            self.in_title = False
        elif tag in self.HIDDEN and self.hidden:
            self.hidden -= 1
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if self.in_title:
            self.title.append(data)
        elif not self.hidden and self.size < MAX_TEXT_CHARS:
            self.parts.append(data)
            self.size += len(data)


def html_text(markup: str) -> str:
    """The title and visible text of an HTML page (stdlib html.parser: lenient with broken markup)."""
    parser = _HtmlText()
    parser.feed(markup)
    parser.close()
    title = " ".join("".join(parser.title).split())
    return _tidy("\n".join(part for part in (title, "".join(parser.parts)) if part))


def pdf_text(data: bytes) -> str:
    """The text layer of a PDF, page by page (a scanned PDF without one has no text: refused)."""
    import pypdf
    from pypdf.errors import FileNotDecryptedError, PdfReadError

    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise NoteFormatError("PDF is password-protected")
        pages, size = [], 0
        for page in reader.pages[:MAX_PDF_PAGES]:
            text = page.extract_text() or ""
            pages.append(text)
            size += len(text)
            if size >= MAX_TEXT_CHARS:
                break
    except FileNotDecryptedError:
        raise NoteFormatError("PDF is password-protected") from None
    except (PdfReadError, ValueError, KeyError, TypeError, IndexError, AttributeError, RecursionError,
            OSError, ZeroDivisionError, AssertionError) as exc:
        raise NoteFormatError(f"cannot read PDF (damaged or not a PDF): {exc}") from None
    return _tidy("\n\n".join(pages))


def _zip_document(data: bytes, kind: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError):
        raise NoteFormatError(f"cannot read {kind} document (damaged, or not a {kind} file)") from None


def docx_text(data: bytes) -> str:
    """A Word document's paragraphs and table cells, in order of the body."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    _zip_document(data, "Word").close()
    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise NoteFormatError(f"cannot read Word document (damaged, or not a .docx file): {exc}") from None
    except Exception as exc:  # noqa: BLE001 - lxml raises its own XML errors for broken parts
        raise NoteFormatError(f"cannot read Word document: {exc}") from None
    lines = [paragraph.text for paragraph in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            lines.append(" | ".join(cell.text for cell in row.cells))
    return _tidy("\n".join(lines))


def odt_text(data: bytes) -> str:
    """An OpenDocument text's headings and paragraphs (odfpy), in document order."""
    from odf import teletype
    from odf.namespaces import TEXTNS
    from odf.opendocument import load

    _zip_document(data, "OpenDocument").close()
    try:
        document = load(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - odfpy raises KeyError, XML errors and more
        raise NoteFormatError(f"cannot read OpenDocument text (damaged, or not an .odt file): {exc}") from None
    wanted = {(TEXTNS, "p"), (TEXTNS, "h")}  # paragraphs and headings
    lines: list[str] = []

    def walk(node) -> None:
        for child in node.childNodes:
            if getattr(child, "qname", None) in wanted:
                lines.append(teletype.extractText(child))
            elif child.nodeType == child.ELEMENT_NODE:
                walk(child)

    walk(document.text)
    return _tidy("\n".join(lines))


# What each document format's reader takes: the file's bytes (html: its decoded text).
BINARY_READERS = {".pdf": pdf_text, ".docx": docx_text, ".odt": odt_text}
MARKUP_READERS = {".html": html_text, ".htm": html_text, ".xhtml": html_text}
