"""Thumbnails of pictures Qt cannot read itself (HEIC from phones) come from the engine's decoder."""

from __future__ import annotations

from PIL import Image
from PySide6.QtCore import QSize

from app.thumbnails import _photo
from tests.conftest import DEMO


def test_a_heic_photo_gets_a_thumbnail(tmp_path, qtbot):
    import pillow_heif

    pillow_heif.register_heif_opener()
    heic = tmp_path / "phone photo.heic"
    with Image.open(DEMO / "photos" / "chelsea_the_cat.jpg") as image:
        image.save(heic)
    thumbnail = _photo(str(heic), QSize(160, 120))
    assert not thumbnail.isNull() and thumbnail.width() == 160 and thumbnail.height() <= 120
