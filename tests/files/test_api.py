"""GET /api/v1/files/{id}/content: served only through a valid, unexpired signed link."""

from __future__ import annotations

import io
import re
import uuid
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import UploadFile

from ihos.files import service
from ihos.files.api import read_upload
from ihos.files.schemas import FileLink
from ihos.kit.ids import uuid7
from ihos.kit.time import clock
from ihos.models.files import FilePurpose, StoredFile

OWNER = uuid.UUID("0193a000-0000-7000-8000-000000000001")


async def store(session, data, *, purpose=FilePurpose.STAFF_PHOTO, filename="工作照.jpg") -> StoredFile:
    return await service.store_file(
        session,
        purpose=purpose,
        data=data,
        filename=filename,
        owner_kind="staff",
        owner_id=OWNER,
        uploaded_by_kind="account",
        uploaded_by_id=OWNER,
    )


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    query.update(changes)
    return parts.path + "?" + "&".join(f"{name}={value}" for name, value in query.items())


@pytest.fixture(autouse=True)
def _frozen_clock():
    clock.freeze()


class TestFileContent:
    async def test_it_works(self, client, session, storage, samples):
        file = await store(session, samples.jpeg())

        response = await client.get(service.signed_link(file))

        assert response.status_code == 200, response.text
        assert response.content == await storage.get(file.storage_key)
        assert response.headers["content-type"] == "image/jpeg"
        assert response.headers["cache-control"] == "private, max-age=300"
        assert response.headers["x-content-type-options"] == "nosniff"
        utf8_name = "%E5%B7%A5%E4%BD%9C%E7%85%A7.jpg"  # 工作照.jpg
        assert response.headers["content-disposition"] == (
            f"inline; filename=\"{file.id}.jpg\"; filename*=UTF-8''{utf8_name}"
        )
        assert response.headers["content-security-policy"] == "default-src 'none'; sandbox"

    async def test_pdf_is_downloaded_not_shown(self, client, session, storage, samples):
        file = await store(session, samples.pdf(), purpose=FilePurpose.IDENTITY_DOCUMENT, filename="id.pdf")
        response = await client.get(service.signed_link(file))
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/pdf"
        assert response.headers["content-disposition"] == (
            "attachment; filename=\"id.pdf\"; filename*=UTF-8''id.pdf"
        )

    async def test_name_takes_the_stored_type(self, client, session, storage, samples):
        file = await store(session, samples.webp(), filename="me.webp")
        response = await client.get(service.signed_link(file))
        assert response.headers["content-type"] == "image/jpeg"
        assert response.headers["content-disposition"].startswith('inline; filename="me.jpg"')

    async def test_cache_lifetime_follows_the_link(self, client, session, storage, samples):
        file = await store(session, samples.jpeg())
        link = service.signed_link(file, ttl_seconds=600)
        clock.travel(timedelta(seconds=599))
        response = await client.get(link)
        assert response.status_code == 200
        assert response.headers["cache-control"] == "private, max-age=1"

    async def test_expired_link_is_refused(self, client, session, storage, samples):
        file = await store(session, samples.jpeg())
        link = service.signed_link(file)
        clock.travel(timedelta(seconds=300))
        response = await client.get(link)
        assert response.status_code == 403
        assert response.json() == {"error": "link_expired", "message": "链接已过期，请刷新页面后重试"}

    async def test_tampered_signature_is_refused(self, client, session, storage, samples):
        file = await store(session, samples.jpeg())
        link = service.signed_link(file)
        signature = parse_qs(urlsplit(link).query)["signature"][0]
        forged = signature[:-1] + ("0" if signature[-1] != "0" else "1")
        response = await client.get(with_query(link, signature=forged))
        assert response.status_code == 403
        assert response.json() == {"error": "link_invalid", "message": "链接无效"}

    async def test_extended_expiry_is_refused(self, client, session, storage, samples):
        file = await store(session, samples.jpeg())
        link = service.signed_link(file)
        expires = int(parse_qs(urlsplit(link).query)["expires"][0])
        clock.travel(timedelta(seconds=400))
        response = await client.get(with_query(link, expires=str(expires + 3600)))
        assert response.status_code == 403
        assert response.json()["error"] == "link_invalid"

    async def test_signature_of_another_file_is_refused(self, client, session, storage, samples):
        mine = await store(session, samples.jpeg())
        other = await store(session, samples.png())
        response = await client.get(service.signed_link(mine).replace(str(mine.id), str(other.id)))
        assert response.status_code == 403
        assert response.json()["error"] == "link_invalid"

    @pytest.mark.parametrize("signature", ["", "签名", "zz", "A" * 64])
    async def test_garbage_signature_is_refused(self, client, session, storage, samples, signature):
        file = await store(session, samples.jpeg())
        response = await client.get(with_query(service.signed_link(file), signature=signature))
        assert response.status_code == 403
        assert response.json()["error"] == "link_invalid"

    async def test_malformed_link_is_a_request_error(self, client, session, storage, samples):
        file = await store(session, samples.jpeg())
        response = await client.get(f"/api/v1/files/{file.id}/content?expires=soon&signature=x")
        assert response.status_code == 422
        assert response.json()["error"] == "invalid_request"

    async def test_signed_link_to_a_deleted_file(self, client, session, storage):
        ghost = StoredFile(id=uuid7())
        response = await client.get(service.signed_link(ghost))
        assert response.status_code == 404
        assert response.json()["error"] == "file_not_found"

    async def test_changed_object_is_not_served(self, client, session, storage, samples):
        file = await store(session, samples.jpeg())
        await storage.put(file.storage_key, b"<html>swapped</html>", "image/jpeg")
        response = await client.get(service.signed_link(file))
        assert response.status_code == 500
        assert response.json()["error"] == "file_damaged"
        assert b"swapped" not in response.content


class TestSignedLink:
    def test_shape(self):
        file = StoredFile(id=uuid7())
        link = service.signed_link(file, ttl_seconds=60)
        expected = rf"/api/v1/files/{file.id}/content\?expires=(\d+)&signature=([0-9a-f]{{64}})"
        match = re.fullmatch(expected, link)
        assert match is not None
        assert int(match.group(1)) == int(clock.now().timestamp()) + 60

    @pytest.mark.parametrize("ttl", [0, -1, service.MAX_LINK_TTL_SECONDS + 1])
    def test_lifetime_is_bounded(self, ttl):
        with pytest.raises(ValueError):
            service.signed_link(StoredFile(id=uuid7()), ttl_seconds=ttl)

    def test_file_link_schema(self):
        file = StoredFile(id=uuid7(), content_type="image/png", size=10, original_name="a.png")
        link = FileLink.of(file, ttl_seconds=120)
        assert link.url.startswith(f"/api/v1/files/{file.id}/content?expires=")
        assert link.url_expires_at == clock.now().replace(microsecond=0) + timedelta(seconds=120)


class TestReadUpload:
    async def test_reads_no_further_than_past_the_limit(self):
        limit = service.rule_for(FilePurpose.STAFF_PHOTO).max_bytes
        upload = UploadFile(file=io.BytesIO(b"x" * (limit + 1000)))
        assert len(await read_upload(upload, FilePurpose.STAFF_PHOTO)) == limit + 1

    async def test_small_upload_is_read_whole(self):
        upload = UploadFile(file=io.BytesIO(b"abc"))
        assert await read_upload(upload, FilePurpose.STAFF_PHOTO) == b"abc"
