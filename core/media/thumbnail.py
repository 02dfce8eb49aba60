"""A small upright PNG of a picture, for front ends whose own decoders lack a format (Qt reads
neither HEIC nor AVIF): decoded by the same Pillow path the model uses (HEIC through pillow-heif,
SVG rendered by resvg, EXIF orientation applied), so what is shown is what was embedded."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from core.model.preprocess import UnreadableInput, load_rgb


def picture_png(path: str | Path, side: int = 256) -> bytes | None:
    """PNG bytes of the picture fitted into side×side, or None when it cannot be decoded."""
    try:
        picture = load_rgb(str(path))
    except UnreadableInput:
        return None
    picture.thumbnail((side, side), Image.LANCZOS)
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()
