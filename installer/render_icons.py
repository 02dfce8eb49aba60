"""Render installer/icons/trimodal-bind.svg to the PNG sizes the desktop icon theme uses (and the
Windows .ico and macOS .icns).

Run with the runtime venv (resvg-py is a runtime dependency): python installer/render_icons.py
"""

from __future__ import annotations

from pathlib import Path

import resvg_py
from PIL import Image

ICONS = Path(__file__).resolve().parent / "icons"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def render() -> list[Path]:
    svg = (ICONS / "trimodal-bind.svg").read_text(encoding="utf-8")
    written = []
    for size in SIZES:
        target = ICONS / f"trimodal-bind-{size}.png"
        target.write_bytes(bytes(resvg_py.svg_to_bytes(svg_string=svg, width=size, height=size)))
        written.append(target)
    # Windows and macOS (installer/trimodal-bind.spec, not tested there): one file of many sizes.
    largest = Image.open(ICONS / f"trimodal-bind-{SIZES[-1]}.png")
    largest.save(ICONS / "trimodal-bind.ico", sizes=[(s, s) for s in SIZES if s <= 256])
    largest.save(ICONS / "trimodal-bind.icns")
    return written + [ICONS / "trimodal-bind.ico", ICONS / "trimodal-bind.icns"]


if __name__ == "__main__":
    for path in render():
        print(path)
