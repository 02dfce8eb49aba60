"""Copies fold into one result: an identical file and a resized re-encode of a photo join the
best-ranked hit's `copies`; a different photo stays a result of its own."""

from __future__ import annotations

import shutil

from PIL import Image

from core.library import Library
from tests.conftest import DEMO


def test_copies_of_a_photo_fold_into_one_hit_and_other_photos_stay(tmp_path, embedder, qtbot):
    folder = tmp_path / "pictures"
    (folder / "backup").mkdir(parents=True)
    photos = sorted(p for p in (DEMO / "photos").iterdir() if p.suffix == ".jpg")
    cat, other = photos[0], photos[1]
    shutil.copy(cat, folder / cat.name)
    shutil.copy(cat, folder / "backup" / cat.name)  # the same bytes twice
    with Image.open(cat) as image:
        image.convert("RGB").resize((image.width // 2, image.height // 2)).save(folder / "small copy.jpg", quality=60)
    shutil.copy(other, folder / other.name)
    with Library(tmp_path / "lib.db", embedder=embedder) as library:
        library.index([folder])
        hits = library.search_like(str(folder / cat.name), kinds=("image",), limit=10)
        folded = library.fold_copies(library.search_text("a photo", kinds=("image",), limit=10))
    assert len(hits) == 3  # the file searched by is left out; its copies and the other photo are found
    by_name = {hit.item.path.rsplit("/", 1)[1]: hit for hit in folded}
    assert len(folded) == 2, [h.item.path for h in folded]
    kept = next(hit for hit in folded if hit.copies)
    assert {c.path for c in kept.copies} | {kept.item.path} == {
        str(folder / cat.name), str(folder / "backup" / cat.name), str(folder / "small copy.jpg")}
    assert by_name[other.name].copies == ()

    from PySide6.QtCore import Qt

    from app.results import ResultsModel

    model = ResultsModel()
    model.set_hits(folded)
    tips = [model.data(model.index(row), Qt.ItemDataRole.ToolTipRole) for row in range(model.rowCount())]
    model.loader.pool.waitForDone()  # the thumbnails it asked for, before the model goes
    qtbot.wait(50)
    assert sum(tip.count("also at ") for tip in tips) == 2  # the card names where the copies are
