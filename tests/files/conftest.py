"""Fixtures for the file storage: sample uploads built with Pillow, an isolated local storage, a real
S3 endpoint (moto's threaded server) and a small app serving the files router."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import APIRouter, FastAPI
from minio import Minio
from moto.server import ThreadedMotoServer
from PIL import ExifTags, Image
from PIL.PngImagePlugin import PngInfo
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.files import service
from ihos.files.api import router
from ihos.files.storage import LocalStorage
from ihos.kit.http import install_error_handlers

# Beijing, as GPS rationals: what a phone writes into every photo unless told not to.
GPS = {
    ExifTags.GPS.GPSLatitudeRef: "N",
    ExifTags.GPS.GPSLatitude: (39.0, 54.0, 27.0),
    ExifTags.GPS.GPSLongitudeRef: "E",
    ExifTags.GPS.GPSLongitude: (116.0, 23.0, 50.0),
}
CAMERA = "TestCam X1 Pro"


class Samples:
    """Uploads as clients send them. Every image is a flat colour so that re-encoding is lossless enough
    to compare pixels."""

    CAMERA = CAMERA

    @staticmethod
    def image(size: tuple[int, int] = (40, 20), mode: str = "RGB") -> Image.Image:
        colour = {"RGB": (200, 30, 30), "RGBA": (200, 30, 30, 128), "L": 90, "CMYK": (0, 200, 200, 0)}[mode]
        return Image.new(mode, size, colour)

    @staticmethod
    def exif(orientation: int | None = None) -> Image.Exif:
        exif = Image.Exif()
        exif[ExifTags.Base.Model] = CAMERA
        exif[ExifTags.Base.DateTimeOriginal] = "2026:11:20 08:30:00"
        exif.get_ifd(ExifTags.IFD.GPSInfo).update(GPS)
        if orientation is not None:
            exif[ExifTags.Base.Orientation] = orientation
        return exif

    def jpeg(
        self, size: tuple[int, int] = (40, 20), *, orientation: int | None = None, mode: str = "RGB"
    ) -> bytes:
        buffer = io.BytesIO()
        self.image(size, mode).save(buffer, "JPEG", exif=self.exif(orientation), quality=95)
        return buffer.getvalue()

    def png(self, size: tuple[int, int] = (40, 20), *, mode: str = "RGB", icc: bytes | None = None) -> bytes:
        info = PngInfo()
        info.add_text("Author", CAMERA)
        buffer = io.BytesIO()
        self.image(size, mode).save(buffer, "PNG", pnginfo=info, exif=self.exif(), icc_profile=icc)
        return buffer.getvalue()

    def webp(self, size: tuple[int, int] = (40, 20), *, mode: str = "RGB") -> bytes:
        buffer = io.BytesIO()
        self.image(size, mode).save(buffer, "WEBP", exif=self.exif(), lossless=True)
        return buffer.getvalue()

    def pdf(self, *, catalog_extra: bytes = b"") -> bytes:
        buffer = io.BytesIO()
        self.image((60, 40)).save(buffer, "PDF")
        data = buffer.getvalue()
        assert b"/Type /Catalog" in data
        return data.replace(b"/Type /Catalog", b"/Type /Catalog" + catalog_extra, 1)


@pytest.fixture(scope="session")
def samples() -> Samples:
    return Samples()


@pytest.fixture
def storage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalStorage:
    """A storage of the test's own, used by the service, so that 'nothing written' can be checked."""
    local = LocalStorage(tmp_path / "files")
    monkeypatch.setattr(service, "get_storage", lambda: local)
    return local


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"{host}:{port}"
    server.stop()


@pytest.fixture
def minio_client(s3_endpoint: str) -> Minio:
    return Minio(s3_endpoint, access_key="test", secret_key="test", secure=False, region="us-east-1")


@pytest.fixture
def app(session: AsyncSession) -> FastAPI:
    """Only the files router, mounted as the application mounts it (under /api/v1)."""
    application = FastAPI()
    install_error_handlers(application)
    api = APIRouter(prefix="/api/v1")
    api.include_router(router)
    application.include_router(api)
    application.state.session_override = session
    return application
