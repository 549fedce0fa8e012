"""Content checks: the type comes from the bytes, images are re-encoded without metadata, PDFs are sieved."""

from __future__ import annotations

import io

import pytest
from PIL import ExifTags, Image, ImageCms

from ihos.files.inspect import MAX_SIDE, FileKind, NotAcceptable, TooManyPixels, produce, sniff

SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def noisy_jpeg() -> bytes:
    """A JPEG whose scan data is most of the file, so that cutting it in half cuts pixels."""
    buffer = io.BytesIO()
    Image.effect_noise((256, 256), 80).convert("RGB").save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


class TestSniff:
    def test_it_works(self, samples):
        assert sniff(samples.jpeg()) is FileKind.JPEG
        assert sniff(samples.png()) is FileKind.PNG
        assert sniff(samples.webp()) is FileKind.WEBP
        assert sniff(samples.pdf()) is FileKind.PDF

    @pytest.mark.parametrize(
        "data",
        [
            SVG,
            b"just some text, renamed to photo.jpg",
            b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
            b"<html><body>hi</body></html>",
            b"PK\x03\x04zip",
            b" %PDF-1.7 header not at the start",
            b"RIFF\x00\x00\x00\x00WAVEfmt ",
            b"",
        ],
        ids=["svg", "text", "gif", "html", "zip", "late-pdf-header", "wav", "empty"],
    )
    def test_anything_else_is_unknown(self, data):
        assert sniff(data) is None


class TestJpeg:
    def test_exif_with_gps_is_removed(self, samples):
        data = samples.jpeg()
        assert opened(data).getexif().get_ifd(ExifTags.IFD.GPSInfo), "the sample must carry GPS"
        assert samples.CAMERA.encode() in data

        produced = produce(data, FileKind.JPEG)

        assert produced.kind is FileKind.JPEG
        image = opened(produced.data)
        assert image.format == "JPEG"
        assert dict(image.getexif()) == {}
        assert "exif" not in image.info
        assert b"Exif" not in produced.data
        assert samples.CAMERA.encode() not in produced.data
        assert image.getpixel((5, 5)) == pytest.approx((200, 30, 30), abs=3)

    def test_orientation_is_applied_before_the_tag_goes(self, samples):
        # Orientation 6: the camera was turned; viewers rotate 90° clockwise for display.
        produced = produce(samples.jpeg((40, 20), orientation=6), FileKind.JPEG)
        assert opened(produced.data).size == (20, 40)

    def test_large_image_is_scaled_down(self, samples):
        produced = produce(samples.jpeg((MAX_SIDE + 904, 10)), FileKind.JPEG)
        assert opened(produced.data).size == (MAX_SIDE, 8)

    def test_cmyk_becomes_rgb(self, samples):
        produced = produce(samples.jpeg(mode="CMYK"), FileKind.JPEG)
        assert opened(produced.data).mode == "RGB"

    def test_truncated_file_is_refused(self):
        data = noisy_jpeg()
        assert opened(data).size == (256, 256)
        with pytest.raises(NotAcceptable):
            produce(data[: len(data) // 2], FileKind.JPEG)

    def test_trailing_payload_of_a_polyglot_is_not_stored(self, samples):
        produced = produce(samples.jpeg() + b"<script>alert(1)</script>", FileKind.JPEG)
        assert b"<script>" not in produced.data

    def test_header_alone_is_not_enough(self):
        with pytest.raises(NotAcceptable):
            produce(b"\xff\xd8\xff\xe0" + b"\x00" * 100, FileKind.JPEG)


class TestPng:
    def test_text_chunks_and_exif_are_removed(self, samples):
        data = samples.png()
        assert samples.CAMERA.encode() in data

        produced = produce(data, FileKind.PNG)

        assert produced.kind is FileKind.PNG
        image = opened(produced.data)
        assert image.format == "PNG"
        assert samples.CAMERA.encode() not in produced.data
        assert "exif" not in image.info
        assert image.getpixel((5, 5)) == (200, 30, 30)

    @pytest.mark.parametrize("mode", ["RGB", "L"])
    def test_colour_profile_is_not_kept(self, samples, mode):
        icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
        data = samples.png(mode=mode, icc=icc)
        assert "icc_profile" in opened(data).info
        produced = produce(data, FileKind.PNG)
        image = opened(produced.data)
        assert "icc_profile" not in image.info
        assert image.mode == mode

    def test_transparency_is_kept(self, samples):
        produced = produce(samples.png(mode="RGBA"), FileKind.PNG)
        assert opened(produced.data).getpixel((0, 0)) == (200, 30, 30, 128)

    def test_transparent_colour_key_becomes_alpha(self):
        buffer = io.BytesIO()
        Image.new("RGB", (4, 4), (1, 2, 3)).save(buffer, "PNG", transparency=(1, 2, 3))
        produced = produce(buffer.getvalue(), FileKind.PNG)
        assert opened(produced.data).getpixel((0, 0)) == (1, 2, 3, 0)

    def test_sixteen_bit_grey_becomes_eight_bit(self):
        buffer = io.BytesIO()
        Image.new("I;16", (MAX_SIDE + 96, 8), 40000).save(buffer, "PNG")
        image = opened(produce(buffer.getvalue(), FileKind.PNG).data)
        assert (image.mode, image.size) == ("L", (MAX_SIDE, 8))
        assert image.getpixel((0, 0)) == pytest.approx(40000 // 256, abs=1)

    def test_png_bytes_declared_as_jpeg_are_refused(self, samples):
        with pytest.raises(NotAcceptable):
            produce(samples.png(), FileKind.JPEG)

    def test_decompression_bomb_is_refused_before_decoding(self):
        # 8000 × 8000 one-bit pixels compress to a few KiB but would decode to 64 million pixels.
        buffer = io.BytesIO()
        Image.new("1", (8000, 8000)).save(buffer, "PNG")
        assert len(buffer.getvalue()) < 100_000
        with pytest.raises(TooManyPixels):
            produce(buffer.getvalue(), FileKind.PNG)


class TestWebp:
    def test_opaque_webp_becomes_jpeg(self, samples):
        data = samples.webp()
        produced = produce(data, FileKind.WEBP)
        assert produced.kind is FileKind.JPEG
        assert opened(produced.data).format == "JPEG"
        assert samples.CAMERA.encode() in data
        assert samples.CAMERA.encode() not in produced.data

    def test_transparent_webp_becomes_png(self, samples):
        produced = produce(samples.webp(mode="RGBA"), FileKind.WEBP)
        assert produced.kind is FileKind.PNG
        image = opened(produced.data)
        assert image.format == "PNG"
        assert image.getpixel((0, 0)) == (200, 30, 30, 128)


class TestPdf:
    def test_it_is_stored_as_uploaded(self, samples):
        data = samples.pdf()
        assert produce(data, FileKind.PDF).data == data

    def test_truncated_file_is_refused(self, samples):
        data = samples.pdf()
        with pytest.raises(NotAcceptable):
            produce(data[: len(data) // 2], FileKind.PDF)

    @pytest.mark.parametrize(
        "extra",
        [
            b" /OpenAction << /S /JavaScript /JS (app.alert(1)) >>",
            b" /OpenAction << /S /J#61vaScript /J#53 (app.alert(1)) >>",
            b" /OpenAction << /S /Launch /F (calc.exe) >>",
            b" /Names << /EmbeddedFiles 9 0 R >>",
        ],
        ids=["javascript", "escaped-javascript", "launch", "embedded-file"],
    )
    def test_active_content_is_refused(self, samples, extra):
        with pytest.raises(NotAcceptable):
            produce(samples.pdf(catalog_extra=extra), FileKind.PDF)

    def test_names_that_merely_start_alike_are_fine(self, samples):
        data = samples.pdf(catalog_extra=b" /JSONish true /Launcher (x)")
        assert produce(data, FileKind.PDF).data == data
