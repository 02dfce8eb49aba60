"""Pictures that hold text, rendered with Pillow for the OCR tests and bench/ocr_gate.py: a
screenshot (a window of small text), a receipt, a slide, a sign pasted on a photo. Each comes
with words that OCR should read back."""

from __future__ import annotations

import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT_DIRS = ("/usr/share/fonts/truetype/dejavu",)


def font(size: int, mono: bool = False, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    name = "DejaVuSansMono" if mono else "DejaVuSans"
    name += "-Bold" if bold else ""
    for folder in FONT_DIRS:
        path = Path(folder) / f"{name}.ttf"
        if path.exists():
            return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)


WORDS = ("invoice", "meeting", "project", "budget", "schedule", "holiday", "station", "market", "garden",
         "window", "coffee", "ticket", "report", "summary", "printer", "library", "museum", "harbour")


def screenshot(seed: int = 0) -> tuple[Image.Image, list[str]]:
    rng = random.Random(seed)
    img = Image.new("RGB", (1280, 800), (245, 245, 245))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 0, 1280, 40), fill=(60, 60, 80))
    draw.text((16, 10), "Settings - Network", font=font(18, bold=True), fill="white")
    lines = []
    for row in range(18):
        line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 7)))
        lines.append(line)
        draw.text((40, 70 + row * 38), line, font=font(20), fill=(20, 20, 20))
    return img, ["Settings", "Network", *lines[0].split()[:2]]


def receipt(seed: int = 0) -> tuple[Image.Image, list[str]]:
    rng = random.Random(seed)
    img = Image.new("RGB", (480, 1100), (252, 250, 240))
    draw = ImageDraw.Draw(img)
    draw.text((120, 30), "CORNER BAKERY", font=font(30, mono=True, bold=True), fill="black")
    items = ["Croissant", "Baguette", "Espresso", "Muffin", "Sourdough", "Cappuccino", "Danish"]
    for row, item in enumerate(items):
        draw.text((40, 120 + row * 50), f"{item:<14}{rng.randint(1, 9)}.{rng.randint(10, 99)}",
                  font=font(26, mono=True), fill="black")
    draw.text((40, 520), "TOTAL         24.60", font=font(28, mono=True, bold=True), fill="black")
    draw.text((40, 600), "Thank you for visiting", font=font(22, mono=True), fill="black")
    return img, ["BAKERY", "Croissant", "Espresso", "TOTAL"]


def slide(seed: int = 0) -> tuple[Image.Image, list[str]]:
    img = Image.new("RGB", (1600, 900), (25, 55, 110))
    draw = ImageDraw.Draw(img)
    draw.text((100, 80), "Quarterly Results", font=font(80, bold=True), fill="white")
    for row, bullet in enumerate(["Revenue grew twelve percent", "Three new offices opened",
                                  "Hiring continues in spring"]):
        draw.text((140, 300 + row * 120), "• " + bullet, font=font(52), fill=(230, 230, 230))
    return img, ["Quarterly", "Results", "Revenue", "offices"]


def sign_on(photo: Path, seed: int = 0) -> tuple[Image.Image, list[str]]:
    """A street sign: a board of words pasted on a real photo."""
    with Image.open(photo) as opened:
        img = opened.convert("RGB").resize((1024, 768))
    draw = ImageDraw.Draw(img)
    draw.rectangle((300, 250, 760, 400), fill=(20, 90, 40), outline="white", width=6)
    draw.text((330, 270), "Harbour Street", font=font(56, bold=True), fill="white")
    draw.text((330, 340), "Museum  500 m", font=font(40), fill="white")
    return img, ["Harbour", "Street", "Museum"]


MAKERS = {"screenshot": screenshot, "receipt": receipt, "slide": slide}


def render_all(folder: Path, photos: list[Path] = (), seeds: int = 1) -> list[tuple[Path, list[str]]]:
    """Render every kind (and a sign on each photo given) as PNG/JPEG files in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for seed in range(seeds):
        for name, maker in MAKERS.items():
            img, words = maker(seed)
            path = folder / f"{name}_{seed}.png"
            img.save(path)
            made.append((path, words))
    for index, photo in enumerate(photos):
        img, words = sign_on(photo, index)
        path = folder / f"sign_{index}.jpg"
        img.save(path, quality=90)
        made.append((path, words))
    return made
