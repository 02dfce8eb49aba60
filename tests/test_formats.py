"""The formats a library holds (issue 37, item 5), on real files made here: AAC/ALAC/Opus/MP3/FLAC/
Vorbis/WAV recordings (PyAV and libsndfile write them) with their tags; photos with EXIF
orientation, camera, date and GPS, HEIC, AVIF and SVG; notes in HTML, PDF, Word and OpenDocument;
and the files of types the app does not take, counted by type."""

from __future__ import annotations

import io
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

from core.index.scan import NO_EXTENSION, scan_folder
from core.kinds import kind_of
from core.media.extract import ExtractionError, extract, extract_audio, extract_image, extract_text
from core.media.outline import waveform_outline
from core.model.audio import load_waveform
from core.model.preprocess import load_rgb
from tests.conftest import DEMO

TAGS = {"title": "Morning Birdsong", "artist": "Ada Lovelace", "album": "Garden Walks"}


def tone(seconds: float, rate: int) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def encode_with_av(path: Path, codec: str, container: str, seconds: float = 3.0, rate: int = 44100,
                   tags: dict | None = None, options: dict | None = None) -> Path:
    """A mono tone encoded by FFmpeg's encoders through PyAV (no ffmpeg program needed)."""
    import av

    wave = tone(seconds, rate)
    with av.open(str(path), "w", format=container, options=options or {}) as out:
        out.metadata.update(tags or {})
        stream = out.add_stream(codec, rate=rate, layout="mono")
        sample_format = stream.codec_context.format.name
        step = 1024
        for start in range(0, wave.size, step):
            chunk = wave[start : start + step]
            if sample_format.startswith("s16"):
                chunk = (chunk * 32767).astype(np.int16)
            elif sample_format.startswith("s32"):
                chunk = (chunk * 2**31 * 0.99).astype(np.int32)
            frame = av.AudioFrame.from_ndarray(chunk[None, :], format=sample_format, layout="mono")
            frame.rate, frame.pts = rate, start
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def tag_with_mutagen(path: Path) -> None:
    import mutagen
    from mutagen.id3 import TALB, TIT2, TPE1

    tagged = mutagen.File(str(path), easy=path.suffix != ".wav")
    if tagged.tags is None:
        tagged.add_tags()
    if path.suffix == ".wav":  # WAV keeps raw ID3 frames
        for frame, value in zip((TIT2, TPE1, TALB), TAGS.values()):
            tagged.tags.add(frame(encoding=3, text=value))
    else:
        for key, value in TAGS.items():
            tagged[key] = value
    tagged.save()


def rotated_photo(path: Path, size=(400, 300), orientation: int = 6) -> Path:
    """A landscape picture stored with EXIF "rotate 90°" (as phones store portraits), a camera,
    a date and a GPS position (the Eiffel tower)."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F], exif[0x0110] = "Canon", "Canon EOS 5D"
    exif.get_ifd(0x8769)[0x9003] = "2021:07:04 12:30:00"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[3] = "N", "E"
    gps[2] = (IFDRational(48), IFDRational(51), IFDRational(2436, 100))
    gps[4] = (IFDRational(2), IFDRational(17), IFDRational(4032, 100))
    picture = Image.new("RGB", size, "white")
    picture.paste((200, 0, 0), (0, 0, size[0] // 2, size[1]))  # left half red: shows the turn
    picture.save(path, exif=exif)
    return path


# -- recordings --------------------------------------------------------------------------------

AV_FORMATS = [  # (file name, encoder, container, rate)
    ("voice_memo.m4a", "aac", "ipod", 44100),
    ("raw_stream.aac", "aac", "adts", 44100),
    ("lossless.m4a", "alac", "ipod", 44100),
    ("podcast.opus", "libopus", "opus", 48000),
    ("song.mp3", "libmp3lame", "mp3", 44100),
]


@pytest.mark.parametrize("name, codec, container, rate", AV_FORMATS)
def test_recordings_ffmpeg_writes_are_read_whole_with_their_length(tmp_path, name, codec, container, rate):
    path = encode_with_av(tmp_path / name, codec, container, seconds=3.0, rate=rate, tags=TAGS)
    assert kind_of(path) == "audio"
    info = extract_audio(str(path))
    assert info.warning is None
    assert info.duration == pytest.approx(3.0, abs=0.08)
    samples = load_waveform(path, 16000)
    assert samples.shape[0] == pytest.approx(3.0 * 16000, abs=0.08 * 16000)
    assert 0.2 < np.abs(samples).max() < 0.4  # the tone, not silence or noise
    if container != "adts":  # raw AAC has no place for tags
        assert info.text.splitlines() == list(TAGS.values())


@pytest.mark.parametrize("fmt, subtype, ext", [("WAV", "PCM_16", "wav"), ("FLAC", "PCM_16", "flac"),
                                               ("OGG", "VORBIS", "ogg"), ("MP3", "MPEG_LAYER_III", "mp3")])
def test_tags_of_libsndfile_formats_go_into_the_text(tmp_path, fmt, subtype, ext):
    path = tmp_path / f"take.{ext}"
    sf.write(str(path), tone(2.0, 44100), 44100, format=fmt, subtype=subtype)
    tag_with_mutagen(path)
    info = extract_audio(str(path))
    assert info.text.splitlines() == list(TAGS.values())
    assert info.duration == pytest.approx(2.0, abs=0.06)


def test_a_cut_m4a_with_its_index_first_is_indexed_from_what_is_there_with_a_warning(tmp_path):
    whole = encode_with_av(tmp_path / "whole.m4a", "aac", "ipod", seconds=10.0, options={"movflags": "faststart"})
    cut = tmp_path / "cut.m4a"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    info = extract_audio(str(cut))
    assert info.warning.startswith("truncated: the header declares 10.0 s")
    assert 3.0 < info.duration < 7.0
    assert load_waveform(cut, 16000).shape[0] == pytest.approx(info.duration * 16000, rel=0.1)


def test_an_m4a_whose_recording_did_not_finish_says_its_index_is_missing(tmp_path):
    whole = encode_with_av(tmp_path / "whole.m4a", "aac", "ipod", seconds=5.0)  # index last, as recorders write
    cut = tmp_path / "unfinished.m4a"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(ExtractionError, match="incomplete: its index .* is missing"):
        extract_audio(str(cut))


def test_an_m4a_gets_a_waveform_outline(tmp_path):
    path = encode_with_av(tmp_path / "memo.m4a", "aac", "ipod", seconds=2.0)
    outline = waveform_outline(str(path), points=60)
    assert len(outline) == 60 and max(outline) == 1.0


# -- pictures ----------------------------------------------------------------------------------

def test_a_rotated_photo_is_stored_embedded_and_shown_upright(tmp_path):
    path = rotated_photo(tmp_path / "portrait.jpg")
    info = extract_image(str(path))
    assert (info.width, info.height) == (300, 400)  # stored 400×300, shown 300×400
    assert load_rgb(path).size == (300, 400)  # what the model embeds
    upright = load_rgb(path)
    top, bottom = upright.getpixel((150, 10)), upright.getpixel((150, 390))
    assert top[0] > 150 and top[1] < 60 and min(bottom) > 200  # the stored left (red) half is on top
    assert info.camera == "Canon EOS 5D"
    assert (info.latitude, info.longitude) == pytest.approx((48.8567667, 2.2945333))
    assert info.taken_at is not None


def test_a_photo_without_exif_keeps_its_size_and_has_no_camera(tmp_path):
    path = tmp_path / "plain.png"
    Image.new("RGB", (64, 32)).save(path)
    info = extract_image(str(path))
    assert (info.width, info.height, info.camera, info.latitude) == (64, 32, None, None)


@pytest.mark.parametrize("ext", ["heic", "avif"])
def test_phone_formats_are_read(tmp_path, ext):
    path = tmp_path / f"IMG_0001.{ext}"
    source = rotated_photo(tmp_path / "source.jpg", orientation=1)
    with Image.open(source) as img:
        img.save(path, exif=img.getexif())
    assert kind_of(path) == "image"
    info = extract_image(str(path))
    assert (info.width, info.height) == (400, 300)
    assert info.camera == "Canon EOS 5D"
    assert load_rgb(path).size == (400, 300)


def test_an_svg_drawing_is_rendered_into_a_bounded_box(tmp_path):
    drawing = tmp_path / "logo.svg"
    drawing.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100">'
                       '<rect width="200" height="100" fill="blue"/></svg>')
    huge = tmp_path / "huge.svg"  # rendered at its own size it would need 80 GB
    huge.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="200000" height="100000">'
                    '<circle cx="50" cy="50" r="40" fill="red"/></svg>')
    assert (extract_image(str(drawing)).width, extract_image(str(drawing)).height) == (1024, 512)
    assert load_rgb(drawing).getpixel((500, 250)) == (0, 0, 255)
    assert load_rgb(huge).size == (1024, 512)
    broken = tmp_path / "broken.svg"
    broken.write_text("<svg xmlns='http://www.w3.org/2000/svg'><rect")
    with pytest.raises(ExtractionError, match="SVG"):
        extract_image(str(broken))


# -- notes -------------------------------------------------------------------------------------

def minimal_pdf(text: str) -> bytes:
    """A one-page PDF with a text layer, written by hand (byte offsets and all)."""
    stream = f"BT /F1 24 Tf 72 700 Td ({text}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_an_html_page_gives_its_title_and_visible_text_only(tmp_path):
    page = tmp_path / "trip.html"
    page.write_text("<html><head><title>Trip plan</title><style>p {color: red}</style></head><body>"
                    "<h1>Day one</h1><p>Visit the lighthouse &amp; the harbour</p>"
                    "<script>var secret = 'tracking';</script></body></html>")
    text = extract_text(str(page)).text
    assert text.splitlines()[0] == "Trip plan"
    assert "Visit the lighthouse & the harbour" in text and "Day one" in text
    assert "secret" not in text and "color" not in text


def test_a_pdf_gives_its_text_layer(tmp_path):
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(minimal_pdf("Quarterly lighthouse report"))
    assert extract_text(str(pdf)).text == "Quarterly lighthouse report"
    scanned = tmp_path / "scan.pdf"
    Image.new("RGB", (100, 100), "white").save(scanned)  # a picture only: no words to read
    with pytest.raises(ExtractionError, match="without a text layer"):
        extract_text(str(scanned))
    damaged = tmp_path / "damaged.pdf"
    damaged.write_bytes(b"%PDF-1.4\n" + b"\x00garbage" * 50)
    with pytest.raises(ExtractionError, match="PDF"):
        extract_text(str(damaged))


def test_word_and_opendocument_notes_give_their_paragraphs(tmp_path):
    import docx
    from odf.opendocument import OpenDocumentText
    from odf.text import H, P

    word = docx.Document()
    word.add_heading("Packing list", level=1)
    word.add_paragraph("Sunscreen and a snorkel")
    word.add_table(rows=1, cols=2).rows[0].cells[0].text = "passport"
    word.save(tmp_path / "packing.docx")
    text = extract_text(str(tmp_path / "packing.docx")).text
    assert text.splitlines()[:2] == ["Packing list", "Sunscreen and a snorkel"] and "passport" in text

    document = OpenDocumentText()
    document.text.addElement(H(outlinelevel=1, text="Garden notes"))
    document.text.addElement(P(text="Plant the tulips in October"))
    document.save(str(tmp_path / "garden.odt"))
    assert extract_text(str(tmp_path / "garden.odt")).text.splitlines() == ["Garden notes", "Plant the tulips in October"]
    (tmp_path / "fake.docx").write_text("not a zip")
    with pytest.raises(ExtractionError, match="Word document"):
        extract_text(str(tmp_path / "fake.docx"))


def test_latin1_and_utf16_notes_read_correctly(tmp_path):
    text = "Crème brûlée à la façon de Zoë, 3 œufs\n"
    (tmp_path / "latin1.txt").write_bytes(text.replace("œ", "oe").encode("latin-1"))
    (tmp_path / "utf16.md").write_bytes(text.encode("utf-16"))  # with its byte-order mark
    assert extract("text", str(tmp_path / "latin1.txt")).text == text.replace("œ", "oe")
    assert extract("text", str(tmp_path / "utf16.md")).text == text


# -- what the app does not take ----------------------------------------------------------------

def test_files_of_types_not_taken_are_counted_by_type(tmp_path):
    for name in ("clip.mov", "other.MOV", "layers.xcf", "README", "photo.jpg", ".hidden.mov", "x.part"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "deep.mov").write_bytes(b"x")
    counted: Counter = Counter()
    taken = [entry.path for entry in scan_folder(str(tmp_path), not_taken=counted)]
    assert [Path(p).name for p in taken] == ["photo.jpg"]
    assert counted == {".mov": 3, ".xcf": 1, NO_EXTENSION: 1}  # hidden and partial files are not media


# -- end to end ---------------------------------------------------------------------------------

def test_a_library_of_new_formats_is_indexed_and_found_by_its_words(tmp_path, embedder):
    from core.library import Library

    media = tmp_path / "media"
    media.mkdir()
    encode_with_av(media / "voice_memo.m4a", "aac", "ipod", seconds=2.0, tags=TAGS)
    rotated_photo(media / "portrait.jpg")
    with Image.open(DEMO / "photos" / "coffee.jpg") as img:
        img.save(media / "coffee.heic")
    (media / "trip.html").write_text("<p>Visit the lighthouse at Ardnamurchan</p>")
    (media / "report.pdf").write_bytes(minimal_pdf("Quarterly zanzibar report"))
    shutil.copy(DEMO / "notes" / "our_cat.md", media / "our_cat.md")
    with Library(tmp_path / "lib.db", embedder=embedder) as library:
        library.index([media])
        status = library.status()
        assert status["failed"] == [], status["failed"]
        assert sum(c["done"] for c in status["items"].values()) == 6
        for words, expected in (("Lovelace", "voice_memo.m4a"), ("Ardnamurchan", "trip.html"),
                                ("zanzibar", "report.pdf")):
            hits = library.search_text(words, limit=3)
            assert Path(hits[0].item.path).name == expected, (words, [h.item.path for h in hits])
        portrait = library.store.item_by_path(str(media / "portrait.jpg"))
        assert (portrait.width, portrait.height) == (300, 400)


def test_a_heic_thumbnail_is_made_upright_for_front_ends_that_cannot_read_it(tmp_path):
    from PIL import ImageOps

    from core.media.thumbnail import picture_png

    with Image.open(rotated_photo(tmp_path / "portrait.jpg")) as img:
        ImageOps.exif_transpose(img).save(tmp_path / "portrait.heic")
    with Image.open(io.BytesIO(picture_png(tmp_path / "portrait.heic", side=128))) as thumb:
        assert thumb.size == (96, 128)
    assert picture_png(tmp_path / "missing.heic") is None
