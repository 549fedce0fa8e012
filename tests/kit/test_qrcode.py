"""QR codes for the apps: the image carries exactly the text, with the quiet zone a scanner needs."""

from ihos.kit.qrcode import png_data_uri
from tests.factories import qr_modules, qr_of


def test_the_image_is_the_code_of_the_text():
    text = "IHQ1.BK20261127080000123456.0123456789abcdef0123"
    drawn = qr_modules(png_data_uri(text))
    assert drawn == qr_of(text)
    assert drawn != qr_of(text + "0")  # another text draws another code


def test_the_quiet_zone_is_white():
    from base64 import b64decode
    from io import BytesIO

    from PIL import Image

    image = Image.open(BytesIO(b64decode(png_data_uri("IHQ1.x.y").split(",", 1)[1]))).convert("L")
    band = 4 * 8
    edges = [image.getpixel((x, y)) for x in range(image.width) for y in range(band)]
    assert min(edges) == 255
