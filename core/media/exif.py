"""What a photo's EXIF says: when it was taken, with which camera, where, and which way up.

Read from the picture Pillow has opened (headers only, no pixels decoded). The size a user sees is
the size after the EXIF orientation is applied: a portrait photo from a phone is stored landscape
with "rotate 90°" in its EXIF, and is shown, thumbnailed and embedded upright (Pillow's
`ImageOps.exif_transpose`), so its width and height are swapped here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from PIL import Image

EXIF_IFD = 0x8769
GPS_IFD = 0x8825
DATETIME_ORIGINAL = 0x9003
DATETIME = 0x0132
MAKE, MODEL, ORIENTATION = 0x010F, 0x0110, 0x0112
GPS_LATITUDE_REF, GPS_LATITUDE, GPS_LONGITUDE_REF, GPS_LONGITUDE = 1, 2, 3, 4
# Orientations 5-8 turn the picture a quarter: its width and height trade places.
QUARTER_TURNS = frozenset({5, 6, 7, 8})


@dataclass(frozen=True)
class PhotoFacts:
    width: int
    height: int  # as shown: after the EXIF orientation
    taken_at: float | None = None
    camera: str | None = None  # "Apple iPhone 12", "Canon EOS 5D"
    latitude: float | None = None
    longitude: float | None = None
    orientation: int = 1  # EXIF's 1-8; 1 is upright


def _text(value) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value).strip("\x00 ").strip() if value is not None else ""
    return text or None


def _date(exif) -> float | None:
    raw = exif.get_ifd(EXIF_IFD).get(DATETIME_ORIGINAL) or exif.get(DATETIME)
    text = _text(raw)
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y:%m:%d %H:%M:%S").timestamp()
    except ValueError:
        return None


def _camera(exif) -> str | None:
    make, model = _text(exif.get(MAKE)), _text(exif.get(MODEL))
    if make and model and model.lower().startswith(make.split()[0].lower()):
        return model  # "Canon" + "Canon EOS 5D": the model already names the maker
    return " ".join(part for part in (make, model) if part) or None


def _degrees(value, reference) -> float | None:
    """Degrees, minutes, seconds (rationals) and N/S/E/W as signed decimal degrees."""
    try:
        degrees, minutes, seconds = (float(part) for part in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    decimal = degrees + minutes / 60 + seconds / 3600
    if _text(reference) in ("S", "W"):
        decimal = -decimal
    return round(decimal, 7)


def _position(exif) -> tuple[float | None, float | None]:
    try:
        gps = exif.get_ifd(GPS_IFD)
    except (KeyError, ValueError, TypeError):
        return None, None
    latitude = _degrees(gps.get(GPS_LATITUDE), gps.get(GPS_LATITUDE_REF)) if gps else None
    longitude = _degrees(gps.get(GPS_LONGITUDE), gps.get(GPS_LONGITUDE_REF)) if gps else None
    if latitude is None or longitude is None or not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None, None
    if latitude == 0 and longitude == 0:
        return None, None  # cameras without a fix write zeros
    return latitude, longitude


def photo_facts(img: Image.Image) -> PhotoFacts:
    """The facts of an opened picture; EXIF that is missing or damaged leaves its fields None."""
    width, height = img.size
    try:
        exif = img.getexif()
    except (OSError, ValueError, SyntaxError, TypeError):
        return PhotoFacts(width, height)
    try:
        orientation = int(exif.get(ORIENTATION, 1))
    except (TypeError, ValueError):
        orientation = 1
    orientation = orientation if 1 <= orientation <= 8 else 1
    if orientation in QUARTER_TURNS:
        width, height = height, width
    latitude, longitude = _position(exif)
    return PhotoFacts(width, height, _date(exif), _camera(exif), latitude, longitude, orientation)
