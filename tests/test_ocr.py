"""Text in pictures (issue 37, item 5): the cheap test tells rendered screenshots, receipts, slides
and signs from the demo photos; OCR reads a sign's words; the setting turns it off or on for all;
OCR text is found by keyword search; and OCR runs with no network (weights from the wheel)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bench.text_pictures import receipt, screenshot, sign_on, slide
from core.media import ocr
from core.media.extract import extract_image
from core.model.preprocess import open_image
from tests.conftest import DEMO

DEMO_PHOTOS = sorted((DEMO / "photos").glob("*.jpg"))


@pytest.fixture(autouse=True)
def default_mode(monkeypatch):
    monkeypatch.delenv(ocr.MODE_VARIABLE, raising=False)
    ocr.set_ocr_mode(None)
    yield
    ocr.set_ocr_mode(None)


@pytest.fixture(scope="module")
def text_pictures(tmp_path_factory) -> dict[str, tuple[Path, list[str]]]:
    folder = tmp_path_factory.mktemp("text-pictures")
    made = {}
    for name, maker in (("screenshot", screenshot), ("receipt", receipt), ("slide", slide)):
        img, words = maker(0)
        made[name] = (folder / f"{name}.png", words)
        img.save(made[name][0])
    img, words = sign_on(DEMO / "photos" / "coffee.jpg")
    made["sign"] = (folder / "street_0412.jpg", words)
    img.save(made["sign"][0], quality=90)
    return made


def test_the_cheap_test_tells_pictures_of_text_from_photos(text_pictures):
    for name, (path, _) in text_pictures.items():
        with open_image(path) as img:
            assert ocr.likely_has_text(img), name
    for path in DEMO_PHOTOS:
        with open_image(path) as img:
            assert not ocr.likely_has_text(img), (path.name, ocr.text_fraction(img))


def test_ocr_reads_the_words_on_a_sign(text_pictures):
    path, words = text_pictures["sign"]
    with open_image(path) as img:
        read = ocr.picture_text(img)
    assert all(word in read for word in words), read


def captioned_photo(path: Path) -> Path:
    """A photo with a small caption in a corner: too little text for the cheap test (auto skips
    it), still readable by full OCR."""
    from PIL import Image, ImageDraw

    from bench.text_pictures import font

    with Image.open(DEMO / "photos" / "chelsea_the_cat.jpg") as opened:
        img = opened.convert("RGB").resize((1024, 768))
    draw = ImageDraw.Draw(img)
    draw.rectangle((20, 720, 146, 746), fill="white")
    draw.text((24, 722), "Harbour Street", font=font(18), fill="black")
    img.save(path, quality=92)
    return path


def test_the_setting_turns_ocr_off_and_on_for_all(text_pictures, monkeypatch, tmp_path):
    sign, _ = text_pictures["sign"]
    caption = str(captioned_photo(tmp_path / "caption.jpg"))
    assert "Harbour" in extract_image(str(sign)).text  # auto, the default: the test says text
    assert extract_image(caption).text is None  # auto: a photo with a small caption is not read
    assert extract_image(str(DEMO / "photos" / "chelsea_the_cat.jpg")).text is None
    monkeypatch.setenv(ocr.MODE_VARIABLE, "on")
    assert ocr.ocr_mode() == "on"
    assert "Harbour" in extract_image(caption).text  # on: every picture is read
    ocr.set_ocr_mode("off")  # the setting wins over the environment
    assert extract_image(str(sign)).text is None
    with pytest.raises(ValueError, match="auto, on, off"):
        ocr.set_ocr_mode("sometimes")


def test_text_in_a_picture_is_found_by_keyword(tmp_path, embedder, text_pictures):
    from core.library import Library

    media = tmp_path / "media"
    media.mkdir()
    sign, _ = text_pictures["sign"]
    (media / sign.name).write_bytes(sign.read_bytes())
    (media / "cat.jpg").write_bytes((DEMO / "photos" / "chelsea_the_cat.jpg").read_bytes())
    with Library(tmp_path / "lib.db", embedder=embedder) as library:
        library.index([media])
        hits = library.search_text("Harbour Street museum", limit=2)
    assert Path(hits[0].item.path).name == sign.name


def test_ocr_makes_no_network_call(tmp_path, text_pictures):
    from tests.test_offline import _traced, network_traffic, required_tool

    path, _ = text_pictures["slide"]
    log = tmp_path / "strace.log"
    code = (f"from core.media.ocr import text_in_picture\n"
            f"print(text_in_picture({str(path)!r}, 'on'))\n")
    result = _traced(required_tool("strace"), log, [sys.executable, "-c", code], None, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "Quarterly" in result.stdout
    assert network_traffic(log.read_text()) == []
