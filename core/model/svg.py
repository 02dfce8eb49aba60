"""SVG drawings rendered to pixels with resvg (resvg-py: a Rust renderer in the wheel, no Qt, no
network: it loads no URL, only fonts installed on the system).

resvg renders at the drawing's own size unless told otherwise, and a drawing that says it is
200000 px wide makes it allocate 80 GB and abort the process (measured). So the drawing's size is
read from its root element first and it is always rendered into a box of at most RENDER_SIDE.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ElementTree

RENDER_SIDE = 1024  # enough for thumbnails, the image tower's 224 px and text in pictures
_LENGTH = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(px|pt|pc|mm|cm|in)?\s*$")


class SvgError(ValueError):
    pass


def looks_like_svg(data: bytes) -> bool:
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<?xml", b"<svg", b"<!doctype svg", b"<!--")) and b"<svg" in data[:65536].lower()


def _length(value: str | None) -> float | None:
    match = _LENGTH.match(value or "")
    return float(match.group(1)) if match else None  # percentages and "auto" say nothing


def drawing_size(data: bytes) -> tuple[float, float]:
    """(width, height) the drawing declares (its width/height, else its viewBox); 1:1 when it
    declares neither. Only the root element is parsed."""
    try:
        for _, element in ElementTree.iterparse(io.BytesIO(data), events=("start",)):
            width, height = _length(element.get("width")), _length(element.get("height"))
            box = (element.get("viewBox") or "").replace(",", " ").split()
            if (not width or not height) and len(box) == 4:
                try:
                    box_width, box_height = float(box[2]), float(box[3])
                except ValueError:
                    box_width = box_height = 0.0
                if box_width > 0 and box_height > 0:
                    width = width or (height * box_width / box_height if height else box_width)
                    height = height or width * box_height / box_width
            return (width or 1.0, height or width or 1.0) if width else (1.0, 1.0)
    except ElementTree.ParseError as exc:
        raise SvgError(f"not a readable SVG drawing: {exc}") from None
    raise SvgError("not a readable SVG drawing: no root element")


def render_svg(data: bytes) -> io.BytesIO:
    """PNG bytes of the drawing, its longer side RENDER_SIDE pixels; raises SvgError."""
    import resvg_py

    width, height = drawing_size(data)
    box = {"width": RENDER_SIDE} if width >= height else {"height": RENDER_SIDE}  # resvg keeps the aspect
    try:
        png = resvg_py.svg_to_bytes(svg_string=data.decode("utf-8", "replace"), background="white", **box)
    except BaseException as exc:  # noqa: BLE001 - the Rust binding raises its own panic type
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise SvgError(f"cannot render SVG drawing: {exc}") from None
    return io.BytesIO(bytes(png))
