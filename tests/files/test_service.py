"""Storing files: each purpose's rules, what gets stored, and refusals that leave nothing behind."""

from __future__ import annotations

import io
import uuid

import pytest
from PIL import ExifTags, Image
from sqlalchemy import func, select

from ihos.db import commit
from ihos.files import service
from ihos.files.service import (
    RULES,
    FileDamaged,
    FileEmpty,
    FileNotFound,
    FileTooLarge,
    FileTypeNotAllowed,
    sanitise_filename,
    store_file,
)
from ihos.models.files import FilePurpose, StoredFile
from ihos.security.gm import sm3

OWNER = uuid.UUID("0193a000-0000-7000-8000-000000000001")
UPLOADER = uuid.UUID("0193a000-0000-7000-8000-000000000002")
MB = 1024 * 1024


async def store(session, data, *, purpose=FilePurpose.STAFF_PHOTO, filename="photo.jpg") -> StoredFile:
    return await store_file(
        session,
        purpose=purpose,
        data=data,
        filename=filename,
        owner_kind="staff",
        owner_id=OWNER,
        uploaded_by_kind="account",
        uploaded_by_id=UPLOADER,
    )


async def row_count(session) -> int:
    return (await session.execute(select(func.count()).select_from(StoredFile))).scalar_one()


def stored_objects(storage) -> list:
    return [path for path in storage.root.rglob("*") if path.is_file()] if storage.root.exists() else []


class TestStoreFile:
    async def test_it_works(self, session, storage, samples):
        file = await store(session, samples.jpeg(), filename="工作照.JPG")
        session.expunge(file)  # read the row back from the database, not from the identity map

        row = (await session.execute(select(StoredFile).where(StoredFile.id == file.id))).scalar_one()
        data = await storage.get(row.storage_key)
        assert row.purpose is FilePurpose.STAFF_PHOTO
        assert row.content_type == "image/jpeg"
        assert row.size == len(data)
        assert row.sm3_digest == sm3(data).hex()
        assert row.storage_key.startswith("staff_photo/")
        assert row.storage_key.endswith(f"/{file.id}.jpg")
        assert row.original_name == "工作照.JPG"
        assert (row.owner_kind, row.owner_id) == ("staff", OWNER)
        assert (row.uploaded_by_kind, row.uploaded_by_id) == ("account", UPLOADER)
        assert row.created_at.tzinfo is not None
        assert stored_objects(storage) == [storage.path_for(row.storage_key)]

    @pytest.mark.parametrize(
        ("purpose", "sample", "stored_type"),
        [
            (FilePurpose.STAFF_PHOTO, "jpeg", "image/jpeg"),
            (FilePurpose.STAFF_PHOTO, "png", "image/png"),
            (FilePurpose.STAFF_PHOTO, "webp", "image/jpeg"),
            (FilePurpose.IDENTITY_DOCUMENT, "jpeg", "image/jpeg"),
            (FilePurpose.IDENTITY_DOCUMENT, "png", "image/png"),
            (FilePurpose.IDENTITY_DOCUMENT, "pdf", "application/pdf"),
        ],
    )
    async def test_each_allowed_type(self, session, storage, samples, purpose, sample, stored_type):
        upload = getattr(samples, sample)()
        file = await store(session, upload, purpose=purpose, filename=f"scan.{sample}")
        data = await storage.get(file.storage_key)
        assert file.content_type == stored_type
        if sample == "pdf":
            assert data == upload
        else:
            # What is stored is what we produced: decodable, metadata gone.
            image = Image.open(io.BytesIO(data))
            assert not image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
            assert samples.CAMERA.encode() not in data

    async def test_gps_never_reaches_the_storage(self, session, storage, samples):
        upload = samples.jpeg()
        assert Image.open(io.BytesIO(upload)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
        file = await store(session, upload)
        stored = Image.open(io.BytesIO(await storage.get(file.storage_key)))
        assert dict(stored.getexif()) == {}

    async def test_no_file_name_is_fine(self, session, storage, samples):
        file = await store(session, samples.png(), filename=None)
        assert file.original_name is None

    async def test_kind_labels_are_checked(self, session, storage, samples):
        with pytest.raises(ValueError, match="kind"):
            await store_file(
                session,
                purpose=FilePurpose.STAFF_PHOTO,
                data=samples.jpeg(),
                filename=None,
                owner_kind="Staff Member",
                owner_id=OWNER,
                uploaded_by_kind="account",
                uploaded_by_id=UPLOADER,
            )
        assert stored_objects(storage) == []

    def test_every_purpose_has_rules(self):
        assert set(RULES) == set(FilePurpose)


def truncated_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise((256, 256), 80).convert("RGB").save(buffer, "JPEG", quality=95)
    return buffer.getvalue()[:4000]


class TestRefusals:
    """Every refusal has its code and status, and leaves no row and no stored object."""

    async def refused(self, session, storage, data, *, purpose=FilePurpose.STAFF_PHOTO) -> Exception:
        with pytest.raises((FileTypeNotAllowed, FileTooLarge, FileEmpty)) as caught:
            await store(session, data, purpose=purpose)
        assert await row_count(session) == 0
        assert stored_objects(storage) == []
        return caught.value

    @pytest.mark.parametrize(
        ("purpose", "make"),
        [
            (FilePurpose.STAFF_PHOTO, lambda samples: b"not a photo, just text named photo.jpg"),
            (FilePurpose.STAFF_PHOTO, lambda samples: b'<svg xmlns="http://www.w3.org/2000/svg"/>'),
            (FilePurpose.STAFF_PHOTO, lambda samples: truncated_jpeg()),
            (FilePurpose.STAFF_PHOTO, lambda samples: b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"),
            (FilePurpose.STAFF_PHOTO, lambda samples: samples.pdf()),
            (FilePurpose.IDENTITY_DOCUMENT, lambda samples: samples.webp()),
            (FilePurpose.IDENTITY_DOCUMENT, lambda samples: samples.pdf(catalog_extra=b" /JS (x)")),
        ],
        ids=["text", "svg", "truncated-jpeg", "gif", "pdf-as-photo", "webp-as-document", "pdf-with-js"],
    )
    async def test_wrong_type(self, session, storage, samples, purpose, make):
        error = await self.refused(session, storage, make(samples), purpose=purpose)
        assert isinstance(error, FileTypeNotAllowed)
        assert (error.code, error.status) == ("file_type_not_allowed", 400)
        assert error.message in (
            "不支持此文件类型，请上传 JPEG、PNG、WEBP 格式的文件",
            "不支持此文件类型，请上传 JPEG、PNG、PDF 格式的文件",
            "文件已损坏或格式不正确，请重新选择",
        )

    async def test_message_names_the_allowed_types(self, session, storage, samples):
        error = await self.refused(session, storage, samples.pdf())
        assert error.message == "不支持此文件类型，请上传 JPEG、PNG、WEBP 格式的文件"
        assert error.details == {"allowed": ["image/jpeg", "image/png", "image/webp"]}

    async def test_empty(self, session, storage):
        error = await self.refused(session, storage, b"")
        assert (error.code, error.status) == ("file_empty", 400)

    async def test_too_large(self, session, storage, samples):
        # A genuine photo, padded past the 5 MB staff photo limit.
        error = await self.refused(session, storage, samples.jpeg() + b"\0" * (5 * MB))
        assert isinstance(error, FileTooLarge)
        assert (error.code, error.status) == ("file_too_large", 413)
        assert error.message == "文件不能超过 5 MB"
        assert error.details == {"max_bytes": 5 * MB}

    async def test_exactly_at_the_limit_is_checked_by_content_not_refused_for_size(self, session, storage):
        error = await self.refused(session, storage, b"x" * (5 * MB))
        assert isinstance(error, FileTypeNotAllowed)

    async def test_identity_documents_may_be_larger(self, session, storage, samples):
        upload = samples.pdf()
        padded = upload[:-6] + b"\n" * (6 * MB) + upload[-6:]  # still ends with %%EOF
        file = await store(session, padded, purpose=FilePurpose.IDENTITY_DOCUMENT)
        assert file.size == len(padded)

    async def test_too_many_pixels(self, session, storage):
        buffer = io.BytesIO()
        Image.new("1", (8000, 8000)).save(buffer, "PNG")
        error = await self.refused(session, storage, buffer.getvalue())
        assert isinstance(error, FileTooLarge)
        assert error.details == {"max_pixels": 60_000_000}
        assert error.message == "图片尺寸过大，像素总数不能超过 6000 万"


class TestSanitiseFilename:
    @pytest.mark.parametrize(
        ("given", "kept"),
        [
            ("photo.jpg", "photo.jpg"),
            ("../../etc/passwd", "passwd"),
            ("C:\\Users\\张三\\身份证.png", "身份证.png"),
            ("\u202egpj.exe", "gpj.exe"),
            ('a<b>c:"d"|e?f*.jpg', "abcdef.jpg"),
            ("line\nbreak\t.jpg", "linebreak.jpg"),
            ("  .hidden.jpg ", "hidden.jpg"),
            ("...", None),
            ("", None),
            (None, None),
            ("e\u0301.jpg", "\u00e9.jpg"),
        ],
    )
    def test_it_works(self, given, kept):
        assert sanitise_filename(given) == kept

    def test_long_names_keep_their_extension(self):
        name = sanitise_filename("长" * 300 + ".jpeg")
        assert name is not None
        assert len(name) == 100
        assert name.endswith("长.jpeg")


class TestReadFile:
    async def test_it_works(self, session, storage, samples):
        file = await store(session, samples.jpeg())
        assert await service.read_file(file) == await storage.get(file.storage_key)

    async def test_changed_object_is_not_served(self, session, storage, samples):
        file = await store(session, samples.jpeg())
        await storage.put(file.storage_key, samples.png(), "image/png")
        with pytest.raises(FileDamaged):
            await service.read_file(file)

    async def test_missing_object(self, session, storage, samples):
        file = await store(session, samples.jpeg())
        await storage.delete(file.storage_key)
        with pytest.raises(FileNotFound):
            await service.read_file(file)

    async def test_get_file_of_unknown_id(self, session):
        with pytest.raises(FileNotFound):
            await service.get_file(session, uuid.uuid4())


class TestDeleteFile:
    async def test_object_goes_when_the_deletion_commits(self, session, storage, samples):
        file = await store(session, samples.jpeg())
        await commit(session)

        await service.delete_file(session, file)
        assert await storage.exists(file.storage_key), "kept until the deletion commits"
        await commit(session)

        assert not await storage.exists(file.storage_key)
        assert await row_count(session) == 0
