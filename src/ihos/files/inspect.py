"""Content checks for uploads: the type is read from the bytes (magic numbers, then a full decode),
never from the client's file name or Content-Type; images are re-encoded so that what we store is
what we produced, without metadata; PDFs are checked for a sound frame and obvious active content.

Everything here is synchronous and CPU-bound: the service runs it in a worker thread.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass
from enum import StrEnum

from PIL import Image, ImageCms, ImageOps

log = logging.getLogger(__name__)

# Longest side of a stored image. Phone photos shrink a little; nobody needs more on screen or paper.
MAX_SIDE = 4096
# Pixels we agree to decode at all. Far beyond any camera we expect (a 50 MP photo), far below what
# would exhaust memory: a small file that claims a huge canvas is a decompression bomb, not a photo.
MAX_PIXELS = 60_000_000
JPEG_QUALITY = 88


class FileKind(StrEnum):
    """A content type we know how to check, named by its MIME type."""

    JPEG = "image/jpeg"
    PNG = "image/png"
    WEBP = "image/webp"
    PDF = "application/pdf"

    @property
    def extension(self) -> str:
        return _EXTENSIONS[self]

    @property
    def is_image(self) -> bool:
        return self is not FileKind.PDF


_EXTENSIONS = {FileKind.JPEG: ".jpg", FileKind.PNG: ".png", FileKind.WEBP: ".webp", FileKind.PDF: ".pdf"}
_PILLOW_FORMATS = {FileKind.JPEG: "JPEG", FileKind.PNG: "PNG", FileKind.WEBP: "WEBP"}


class NotAcceptable(ValueError):
    """The bytes are not a sound file of the kind they claim to be (or of any kind we take)."""


class TooManyPixels(ValueError):
    """An image whose canvas exceeds ``MAX_PIXELS``."""


@dataclass(frozen=True)
class Produced:
    """The bytes we will store and their type (possibly not the uploaded type: WebP becomes JPEG/PNG)."""

    data: bytes
    kind: FileKind


def sniff(data: bytes) -> FileKind | None:
    """The kind announced by the first bytes, or None for anything we do not take (SVG, HTML, ZIP…)."""
    if data.startswith(b"\xff\xd8\xff"):
        return FileKind.JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return FileKind.PNG
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return FileKind.WEBP
    # PDF readers accept the header anywhere in the first KiB; we insist on offset 0, which shuts out
    # files that are something else first and a PDF second.
    if data.startswith(b"%PDF-"):
        return FileKind.PDF
    return None


def produce(data: bytes, kind: FileKind) -> Produced:
    """Check ``data`` as ``kind`` and return what to store. Raises NotAcceptable or TooManyPixels."""
    if kind is FileKind.PDF:
        check_pdf(data)
        return Produced(data, FileKind.PDF)
    return reencode_image(data, kind)


# ---- images ---------------------------------------------------------------------------------------


def reencode_image(data: bytes, kind: FileKind) -> Produced:
    image = _decode(data, kind)
    target = _target_kind(image, kind)
    image = _upright(image)
    image = _to_srgb(image)
    image = _normalise_mode(image, target)
    image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    # Nothing of the upload's metadata may reach the encoder: EXIF (GPS, camera, time), XMP, ICC,
    # PNG text chunks. Pillow falls back to ``info`` for some of them when saving.
    image.info = {}
    return Produced(_encode(image, target), target)


def _decode(data: bytes, kind: FileKind) -> Image.Image:
    """Open with the one decoder the magic bytes named and decode every pixel of the first frame.

    A truncated or corrupt file fails here: a header that merely looks right is not enough.
    """
    try:
        image = Image.open(io.BytesIO(data), formats=[_PILLOW_FORMATS[kind]])
    except Exception as exc:  # Pillow raises many types for malformed input; all mean "not an image"
        raise NotAcceptable(f"not a {kind.name} image") from exc
    if image.width * image.height > MAX_PIXELS:
        raise TooManyPixels(f"{image.width}x{image.height}")
    try:
        image.load()
    except Exception as exc:
        raise NotAcceptable(f"{kind.name} image does not decode") from exc
    return image


def _target_kind(image: Image.Image, source: FileKind) -> FileKind:
    """PNG stays lossless, JPEG stays JPEG; WebP becomes PNG when it has transparency, JPEG otherwise."""
    if source in (FileKind.JPEG, FileKind.PNG):
        return source
    return FileKind.PNG if _has_alpha(image) else FileKind.JPEG


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info


def _upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation to the pixels, since the tag that carried it is about to go."""
    try:
        return ImageOps.exif_transpose(image)
    except Exception:  # a damaged EXIF block should not cost the user the upload
        log.info("ignoring an unreadable EXIF orientation", exc_info=True)
        return image


_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _to_srgb(image: Image.Image) -> Image.Image:
    """Convert pixels from an embedded colour profile to sRGB, so dropping the profile keeps colours."""
    icc = image.info.get("icc_profile")
    if not icc or image.mode not in ("RGB", "RGBA", "CMYK"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        output_mode = "RGBA" if image.mode == "RGBA" else "RGB"
        converted = ImageCms.profileToProfile(image, source, _SRGB, outputMode=output_mode)
    except (ImageCms.PyCMSError, OSError, ValueError):
        log.info("ignoring an unusable colour profile", exc_info=True)
        return image
    return converted if converted is not None else image


def _normalise_mode(image: Image.Image, target: FileKind) -> Image.Image:
    """A pixel mode the target encoder writes faithfully."""
    if target is FileKind.JPEG:
        if image.mode in ("L", "RGB"):
            return image
        return image.convert("L" if image.mode == "1" else "RGB")
    if "transparency" in image.info:
        # A transparent colour key is metadata, which is about to go: make it an alpha channel.
        return image.convert("LA" if image.mode in ("1", "L") else "RGBA")
    if image.mode in ("L", "LA", "RGB", "RGBA"):
        return image
    if image.mode.startswith("I"):
        # 16-bit grey: Pillow cannot scale it, and 8 bits are plenty for a photo or a scan.
        return image.convert("I").point(lambda value: value / 256).convert("L")
    if image.mode == "1":
        return image.convert("L")
    return image.convert("RGBA" if _has_alpha(image) else "RGB")


def _encode(image: Image.Image, kind: FileKind) -> bytes:
    buffer = io.BytesIO()
    if kind is FileKind.JPEG:
        image.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True)
    else:
        image.save(buffer, "PNG", compress_level=6)
    return buffer.getvalue()


# ---- PDF ------------------------------------------------------------------------------------------

_PDF_HEADER = re.compile(rb"%PDF-[12]\.[0-9]")
_DELIMITER = rb"\s/<>\[\]()%{}"
# Names that make a PDF do something (run script, open another program, carry another file, post a
# form). A scanned identity document has none of them.
_ACTIVE_NAMES = frozenset(
    {b"JavaScript", b"JS", b"Launch", b"EmbeddedFile", b"EmbeddedFiles", b"RichMedia", b"XFA"}
    | {b"SubmitForm", b"ImportData"}
)
_ACTIVE_NAME = re.compile(rb"/(" + b"|".join(sorted(_ACTIVE_NAMES)) + rb")(?=[" + _DELIMITER + rb"]|$)")
# The same names can be spelt with #xx escapes (/J#61vaScript); decode the few names that use them.
_ESCAPED_NAME = re.compile(rb"/([^" + _DELIMITER + rb"]*#[0-9A-Fa-f]{2}[^" + _DELIMITER + rb"]*)")
_HEX_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")


def check_pdf(data: bytes) -> None:
    """A PDF frame (header at the start, ``%%EOF`` at the end) without obvious active content.

    This is a sieve, not a parser: names inside compressed object streams are not seen. That is why
    PDFs are also only ever served as attachments with ``nosniff`` and a sandboxing CSP.
    """
    if not _PDF_HEADER.match(data):
        raise NotAcceptable("no PDF header")
    if b"%%EOF" not in data[-1024:]:
        raise NotAcceptable("PDF is truncated (no %%EOF at the end)")
    if _ACTIVE_NAME.search(data) or any(_is_active(m.group(1)) for m in _ESCAPED_NAME.finditer(data)):
        raise NotAcceptable("PDF with active content")


def _is_active(escaped_name: bytes) -> bool:
    name = _HEX_ESCAPE.sub(lambda match: bytes([int(match.group(1), 16)]), escaped_name)
    return name in _ACTIVE_NAMES
