"""Input preprocessing shared by the runtime towers and the training/export code (numpy + Pillow).

Keeping one implementation is what makes export parity tests meaningful: torch and onnxruntime
see exactly the same arrays.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

# Refuse decompression bombs loudly instead of exhausting memory (Pillow only warns below 2x).
Image.MAX_IMAGE_PIXELS = 120_000_000


class UnreadableInput(ValueError):
    """An input file exists but cannot be decoded; the message says why, for the user."""


@dataclass(frozen=True)
class FileContent:
    """A file read once into memory: its path (for messages) and its bytes. Readers take it
    wherever they take a path, so the bytes that were hashed are the bytes that get decoded, and
    a file is read from disk once."""

    path: str
    data: bytes

    def open(self) -> io.BytesIO:
        return io.BytesIO(self.data)


def decode_error(exc: BaseException, source) -> str:
    """A decoder's message about `source`, naming the file rather than an in-memory buffer
    (Pillow and libsndfile print the object they were given)."""
    name = Path(source.path).name if isinstance(source, FileContent) else None
    text = str(exc)
    return re.sub(r"<_io\.BytesIO object at 0x[0-9a-f]+>", repr(name), text) if name else text


def binary(source: str | Path | FileContent):
    """Something to read bytes from: the file itself, or the bytes already in memory."""
    return source.open() if isinstance(source, FileContent) else open(source, "rb")


@dataclass(frozen=True)
class Waveform:
    """Audio already in memory (a microphone recording, a decoded file): samples as (n,) or
    (n, channels) floats, at `rate` Hz. Audio towers take it wherever they take a path."""

    samples: np.ndarray
    rate: int


def _register_image_formats() -> None:
    """HEIC/HEIF (phones' photos) through pillow-heif's libheif; AVIF Pillow reads itself."""
    try:
        from pillow_heif import register_heif_opener
    except ImportError:  # an install without it reads every other format
        return
    register_heif_opener()


_register_image_formats()
SVG_EXTENSIONS = (".svg",)


def _is_svg(image: str | Path | FileContent) -> bool:
    name = image.path if isinstance(image, FileContent) else str(image)
    return name.lower().endswith(SVG_EXTENSIONS)


def open_image(image: str | Path | FileContent) -> Image.Image:
    """Pillow's lazy image (headers read, pixels not yet) for a file or its bytes; an SVG drawing
    is rendered first (core.model.svg). Raises what Pillow raises, and SvgError (a ValueError)."""
    if _is_svg(image):
        from core.model.svg import render_svg

        data = image.data if isinstance(image, FileContent) else Path(image).read_bytes()
        return Image.open(render_svg(data))
    return Image.open(image.open() if isinstance(image, FileContent) else image)


def load_rgb(image: str | Path | FileContent | Image.Image) -> Image.Image:
    """An image (a file, its bytes, or a picture already in memory) with its EXIF orientation
    applied, in RGB; raises UnreadableInput."""
    try:
        if isinstance(image, Image.Image):
            return ImageOps.exif_transpose(image).convert("RGB")
        with open_image(image) as img:
            img = ImageOps.exif_transpose(img)
            return img.convert("RGB")
    except Image.DecompressionBombError as exc:
        raise UnreadableInput(f"image too large to decode safely: {exc}") from exc
    except FileNotFoundError as exc:
        raise UnreadableInput("file not found") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        # Pillow raises OSError/UnidentifiedImageError for corrupt or truncated data.
        if str(exc).startswith("image file is truncated"):
            raise UnreadableInput("cannot decode image: the file is cut short (truncated), as when a copy "
                                  "or download did not finish") from exc
        raise UnreadableInput(f"cannot decode image: {decode_error(exc, image)}") from exc


def image_to_array(
    img: Image.Image, resize: int, crop: int, pixel_range=(-1.0, 1.0), mode: str = "crop"
) -> np.ndarray:
    """CHW float32 scaled to pixel_range. mode "crop": shorter side to `resize` (bicubic), centre
    crop `crop`²; mode "squash": the whole picture resized to `crop`² (keeps what is at the edges,
    at the cost of the aspect ratio)."""
    if mode == "squash":
        img = img.resize((crop, crop), Image.BICUBIC)
    elif mode == "crop":
        width, height = img.size
        scale = resize / min(width, height)
        new_size = (max(crop, round(width * scale)), max(crop, round(height * scale)))
        img = img.resize(new_size, Image.BICUBIC)
        left = (new_size[0] - crop) // 2
        top = (new_size[1] - crop) // 2
        img = img.crop((left, top, left + crop, top + crop))
    else:
        raise ValueError(f"unknown image resize mode {mode!r}")
    pixels = np.asarray(img, dtype=np.float32) / 255.0
    low, high = pixel_range
    pixels = pixels * (high - low) + low
    return np.ascontiguousarray(pixels.transpose(2, 0, 1))


def preprocess_image(
    path: str | Path, resize: int = 256, crop: int = 224, pixel_range=(-1.0, 1.0), mode: str = "crop"
) -> np.ndarray:
    return image_to_array(load_rgb(path), resize, crop, pixel_range, mode)


def image_views(
    img: Image.Image, resize: int, crop: int, pixel_range=(-1.0, 1.0), mode: str = "crop",
    end_views_from: float | None = None,
) -> np.ndarray:
    """(views, C, H, W): the usual view, then, for a picture whose long side is at least
    `end_views_from` × its short side, the square at each end of the long side, resized to crop².
    A centre crop of a wide photo loses what stands at its sides; square pictures keep one view."""
    views = [image_to_array(img, resize, crop, pixel_range, mode)]
    width, height = img.size
    side = min(width, height)
    if end_views_from and side and max(width, height) >= end_views_from * side:
        if width >= height:
            boxes = [(0, 0, side, side), (width - side, 0, width, side)]
        else:
            boxes = [(0, 0, side, side), (0, height - side, side, height)]
        views += [image_to_array(img.crop(box), crop, crop, pixel_range, "squash") for box in boxes]
    return np.stack(views)


def l2_normalise(matrix: np.ndarray) -> np.ndarray:
    """Row-wise unit length; all-zero rows stay zero (they mark inputs that failed)."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.maximum(norms, 1e-12)).astype(np.float32)


def mean_pool(hidden: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    mask = attention_mask[..., None].astype(np.float32)
    return (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
