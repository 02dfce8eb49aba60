"""Text inside pictures (screenshots, receipts, slides, signs) read with RapidOCR (PP-OCRv4 det +
rec as ONNX; rapidocr-onnxruntime 1.4.4 ships the weights in its wheel and never downloads).

Full OCR costs seconds a picture on this machine's CPUs (1-4 s of detection at 736 px, more for
recognition on a page of text), so a library of holiday photos must not pay it for every photo. In
"auto" mode a cheap test runs first: the same detection network on the picture shrunk to
GATE_SIDE px (a few tens of ms), and full OCR only when enough of the shrunk picture reads as text.
Thresholds are measured by bench/ocr_gate.py (docs/experiments/ocr-gate.md).

Both steps are exposed (`likely_has_text`, `picture_text`) so the job queue can run OCR as its own
job later; today core.media.extract calls `text_in_picture` while reading a picture.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
from PIL import Image

from core.model.preprocess import FileContent, open_image

MODES = ("auto", "on", "off")
MODE_VARIABLE = "TRIMODAL_BIND_OCR"  # the setting's default: auto, on or off
GATE_SIDE = 320  # the cheap test's picture: longer side in px (a multiple of 32, as the net wants)
GATE_PIXEL_SCORE = 0.5  # a pixel of the detection map counts as text above this probability
GATE_MIN_TEXT_FRACTION = 0.004  # a picture is "likely text" when this share of its map is text
MIN_CONFIDENCE = 0.6  # recognised lines below this score are dropped (mostly texture read as glyphs)
MAX_OCR_SIDE = 2000  # larger pictures are shrunk before full OCR (RapidOCR's own max_side_len)
_mode = None
_lock = threading.Lock()
# RapidOCR keeps per-call state on its objects (the detector's resize step), and its sessions
# use every core anyway: reader threads take turns.
_ocr_turn = threading.Lock()
_gate_session = None
_engine = None


def ocr_mode() -> str:
    """The current setting: set_ocr_mode's, else $TRIMODAL_BIND_OCR, else "auto"."""
    if _mode is not None:
        return _mode
    mode = os.environ.get(MODE_VARIABLE, "auto").strip().lower()
    return mode if mode in MODES else "auto"


def set_ocr_mode(mode: str | None) -> None:
    """auto: OCR pictures the cheap test says hold text; on: every picture; off: none; None:
    back to the default ($TRIMODAL_BIND_OCR, else auto)."""
    global _mode
    if mode is None:
        _mode = None
        return
    mode = mode.strip().lower()
    if mode not in MODES:
        raise ValueError(f"text-in-pictures mode must be one of {', '.join(MODES)}, not {mode!r}")
    _mode = mode


def _models_folder() -> Path:
    import rapidocr_onnxruntime

    return Path(rapidocr_onnxruntime.__file__).parent / "models"


def _session():
    global _gate_session
    with _lock:
        if _gate_session is None:
            import onnxruntime

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = 1  # a small picture: one core is as fast, the other stays free
            options.log_severity_level = 3
            _gate_session = onnxruntime.InferenceSession(
                str(_models_folder() / "ch_PP-OCRv4_det_infer.onnx"), options, providers=["CPUExecutionProvider"])
        return _gate_session


def _shrunk(img: Image.Image, side: int) -> Image.Image:
    """RGB copy whose longer side is `side` px (both sides multiples of 32); JPEGs decode at a
    fraction of their size (draft mode), which is most of the test's saving."""
    if img.mode in ("RGB", "L") and getattr(img, "format", None) == "JPEG":
        img.draft("RGB", (side, side))
    img = img.convert("RGB")
    scale = side / max(img.size)
    width = max(32, round(img.width * scale / 32) * 32)
    height = max(32, round(img.height * scale / 32) * 32)
    return img.resize((width, height), Image.BILINEAR)


def text_fraction(img: Image.Image) -> float:
    """The share of the shrunk picture the text detector marks as text (0..1)."""
    small = np.asarray(_shrunk(img, GATE_SIDE), dtype=np.float32)[:, :, ::-1]  # the net was trained on BGR
    batch = ((small / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)[None]
    session = _session()
    probability = session.run(None, {session.get_inputs()[0].name: np.ascontiguousarray(batch)})[0]
    return float((probability > GATE_PIXEL_SCORE).mean())


def likely_has_text(img: Image.Image) -> bool:
    """The cheap test: whether full OCR is worth running on this picture (EXIF orientation need
    not be applied: text is detected at any angle)."""
    return text_fraction(img) >= GATE_MIN_TEXT_FRACTION


def _ocr_engine():
    global _engine
    with _lock:
        if _engine is None:
            from rapidocr_onnxruntime import RapidOCR

            _engine = RapidOCR(print_verbose=False)
        return _engine


def picture_text(img: Image.Image) -> str:
    """The words in a picture, one detected line per line, top to bottom (full OCR: seconds)."""
    from PIL import ImageOps

    upright = ImageOps.exif_transpose(img).convert("RGB")
    if max(upright.size) > MAX_OCR_SIDE:
        upright.thumbnail((MAX_OCR_SIDE, MAX_OCR_SIDE), Image.BILINEAR)
    engine = _ocr_engine()
    with _ocr_turn:
        result, _ = engine(np.asarray(upright)[:, :, ::-1].copy())
    lines = [text.strip() for _, text, score in (result or []) if float(score) >= MIN_CONFIDENCE and text.strip()]
    return "\n".join(lines)


def text_in_picture(source: str | FileContent, mode: str | None = None) -> str | None:
    """What the setting says to read from a picture: None when OCR is off, the test says no text,
    or OCR finds none. Never raises for a picture that does not decode (its reader says why)."""
    mode = mode or ocr_mode()
    if mode == "off":
        return None
    try:
        with open_image(source) as img:
            if mode == "auto" and not likely_has_text(img):
                return None
            with open_image(source) as fresh:  # the test may have drafted the first one small
                return picture_text(fresh) or None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
