"""The model card (training.model_card): regenerating it keeps its measured sections, and the
bundled card's speed table was measured on the bundled model."""

from __future__ import annotations

import re
import shutil

from core.model.speech import HYPOTHESES, HYPOTHESIS_SHARPNESS
from core.paths import BUNDLED_MODEL_DIR
from training.model_card import SPEED_CAPTION, write_card

TIMINGS = "| model | text (ms) |\n|---|---|\n| some-model-0123456789ab | 4.2 |"


def section(card: str, title: str) -> str:
    found = re.search(rf"## {title}\n(.*?)(?=\n## |\Z)", card, flags=re.S)
    assert found, f"the card has no {title} section"
    return found.group(1).strip()


def card_folder(tmp_path):
    """The bundled model's files through symlinks; model.json and the card as real copies."""
    folder = tmp_path / "model"
    folder.mkdir()
    for path in BUNDLED_MODEL_DIR.iterdir():
        if path.name in ("model.json", "MODEL_CARD.md"):
            shutil.copy(path, folder / path.name)
        elif path.is_file():
            (folder / path.name).symlink_to(path.resolve())
    return folder


def test_regenerating_the_card_keeps_metrics_and_speed(tmp_path):
    folder = card_folder(tmp_path)
    metrics = section((BUNDLED_MODEL_DIR / "MODEL_CARD.md").read_text(encoding="utf-8"), "Metrics")

    write_card(folder, TIMINGS)
    card = (folder / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert section(card, "Speed") == f"{SPEED_CAPTION}\n\n{TIMINGS}"
    assert section(card, "Metrics") == metrics

    write_card(folder)  # no new timings: the measured ones stay
    again = (folder / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert section(again, "Speed") == f"{SPEED_CAPTION}\n\n{TIMINGS}"
    assert section(again, "Metrics") == metrics


def test_card_states_the_speech_settings_the_code_uses(tmp_path):
    folder = card_folder(tmp_path)
    write_card(folder)
    card = (folder / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert f"the {HYPOTHESES} best readings' text embeddings weighted by softmax({HYPOTHESIS_SHARPNESS:g} · log p)" in card


def test_bundled_card_times_the_bundled_model(embedder):
    card = (BUNDLED_MODEL_DIR / "MODEL_CARD.md").read_text(encoding="utf-8")
    speed = section(card, "Speed")
    assert f"| {embedder.model_id} |" in speed, "the card's speed table was measured on other files"


def test_writing_the_card_creates_nothing_in_the_training_work_folder(tmp_path, monkeypatch):
    """On a machine that never trained, the card reads what it can and leaves no empty folders."""
    work = tmp_path / "train-cache"
    monkeypatch.setenv("TRIMODAL_TRAIN_CACHE", str(work))
    write_card(card_folder(tmp_path))
    card = (tmp_path / "model" / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "Training log not available on this machine." in card
    assert not work.exists()
