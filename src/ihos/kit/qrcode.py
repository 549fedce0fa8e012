"""QR codes drawn on the server, as ``data:`` URIs a page or a mini-program shows in an image tag: one
drawing for the H5 app and both mini-programs, with no canvas code in any of them."""

from __future__ import annotations

import segno

# Medium error correction (15%): a phone screen with a crack or glare still scans at a kiosk.
ERROR_CORRECTION = "m"


def png_data_uri(text: str, *, module_pixels: int = 8) -> str:
    """The QR code of ``text`` as a PNG ``data:`` URI, with the quiet zone the standard asks for."""
    return segno.make(text, error=ERROR_CORRECTION, micro=False).png_data_uri(scale=module_pixels, border=4)
