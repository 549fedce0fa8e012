"""The storage backends: local directory and S3 (against moto's real HTTP endpoint)."""

from __future__ import annotations

import stat
import uuid
from types import SimpleNamespace

import pytest

from ihos.config import FilesSettings
from ihos.files import storage as storage_module
from ihos.files.storage import InvalidKey, LocalStorage, ObjectMissing, S3Storage, get_storage

BAD_KEYS = [
    "../outside",
    "/etc/passwd",
    "a/../../outside",
    "a/./b",
    "a//b",
    "a/",
    ".hidden",
    "a/.tmp-123",
    "a\\..\\outside",
    "a b",
    "a\x00b",
    "",
    "x" * 600,
]


class TestLocalStorage:
    async def test_it_works(self, tmp_path):
        storage = LocalStorage(tmp_path / "files")
        await storage.put("staff_photo/2026/11/a.jpg", b"bytes", "image/jpeg")

        assert await storage.exists("staff_photo/2026/11/a.jpg")
        assert await storage.get("staff_photo/2026/11/a.jpg") == b"bytes"
        assert (tmp_path / "files" / "staff_photo" / "2026" / "11" / "a.jpg").read_bytes() == b"bytes"

        await storage.delete("staff_photo/2026/11/a.jpg")
        assert not await storage.exists("staff_photo/2026/11/a.jpg")

    async def test_overwrite_replaces_whole_file_and_leaves_no_temporary_file(self, tmp_path):
        storage = LocalStorage(tmp_path)
        await storage.put("k/a.bin", b"first version, longer", "application/octet-stream")
        await storage.put("k/a.bin", b"second", "application/octet-stream")
        assert await storage.get("k/a.bin") == b"second"
        assert [path.name for path in (tmp_path / "k").iterdir()] == ["a.bin"]

    async def test_files_are_readable_by_the_service_user_only(self, tmp_path):
        storage = LocalStorage(tmp_path)
        await storage.put("k/a.bin", b"x", "application/octet-stream")
        assert stat.S_IMODE((tmp_path / "k" / "a.bin").stat().st_mode) & 0o077 == 0

    async def test_missing_object(self, tmp_path):
        storage = LocalStorage(tmp_path)
        with pytest.raises(ObjectMissing):
            await storage.get("nothing/here.jpg")
        assert not await storage.exists("nothing/here.jpg")
        await storage.delete("nothing/here.jpg")  # no error

    @pytest.mark.parametrize("key", BAD_KEYS)
    async def test_keys_cannot_leave_the_root(self, tmp_path, key):
        storage = LocalStorage(tmp_path / "root")
        with pytest.raises(InvalidKey):
            await storage.put(key, b"x", "text/plain")
        for operation in (storage.get, storage.exists, storage.delete):
            with pytest.raises(InvalidKey):
                await operation(key)
        assert not (tmp_path / "outside").exists()
        assert list(tmp_path.rglob("*")) == []

    async def test_symlink_out_of_the_root_is_refused(self, tmp_path):
        (tmp_path / "root").mkdir()
        (tmp_path / "elsewhere").mkdir()
        (tmp_path / "root" / "link").symlink_to(tmp_path / "elsewhere")
        storage = LocalStorage(tmp_path / "root")
        with pytest.raises(InvalidKey):
            await storage.put("link/x.jpg", b"x", "image/jpeg")
        assert list((tmp_path / "elsewhere").iterdir()) == []


class TestS3Storage:
    @pytest.fixture
    def bucket(self) -> str:
        return f"ihos-test-{uuid.uuid4().hex[:12]}"

    async def test_it_works(self, minio_client, bucket):
        storage = S3Storage(minio_client, bucket)
        assert not minio_client.bucket_exists(bucket)

        await storage.put("staff_photo/2026/11/a.jpg", b"bytes", "image/jpeg")

        assert minio_client.bucket_exists(bucket)
        assert minio_client.stat_object(bucket, "staff_photo/2026/11/a.jpg").content_type == "image/jpeg"
        assert await storage.exists("staff_photo/2026/11/a.jpg")
        assert await storage.get("staff_photo/2026/11/a.jpg") == b"bytes"

        await storage.delete("staff_photo/2026/11/a.jpg")
        assert not await storage.exists("staff_photo/2026/11/a.jpg")

    async def test_existing_bucket_is_used(self, minio_client, bucket):
        minio_client.make_bucket(bucket)
        await S3Storage(minio_client, bucket).put("a.bin", b"x", "application/octet-stream")
        assert await S3Storage(minio_client, bucket).get("a.bin") == b"x"

    async def test_missing_object(self, minio_client, bucket):
        storage = S3Storage(minio_client, bucket)
        # Before the bucket exists, and after.
        for _ in range(2):
            with pytest.raises(ObjectMissing):
                await storage.get("nothing/here.jpg")
            assert not await storage.exists("nothing/here.jpg")
            await storage.delete("nothing/here.jpg")
            await storage.put("other.bin", b"x", "application/octet-stream")

    async def test_bad_keys_are_refused(self, minio_client, bucket):
        storage = S3Storage(minio_client, bucket)
        with pytest.raises(InvalidKey):
            await storage.put("../x", b"x", "text/plain")
        assert not minio_client.bucket_exists(bucket)

    async def test_from_settings_accepts_a_url(self, s3_endpoint, bucket):
        settings = FilesSettings(
            backend="s3",
            s3_endpoint=f"http://{s3_endpoint}/",
            s3_access_key="test",
            s3_secret_key="test",
            s3_bucket=bucket,
        )
        storage = S3Storage.from_settings(settings)
        await storage.put("a.bin", b"x", "application/octet-stream")
        assert await storage.get("a.bin") == b"x"


class TestGetStorage:
    @pytest.fixture(autouse=True)
    def _fresh(self):
        get_storage.cache_clear()
        yield
        get_storage.cache_clear()

    def use(self, monkeypatch, files: FilesSettings) -> None:
        monkeypatch.setattr(storage_module, "get_settings", lambda: SimpleNamespace(files=files))

    def test_local_by_default(self, monkeypatch, tmp_path):
        self.use(monkeypatch, FilesSettings(local_dir=tmp_path))
        storage = get_storage()
        assert isinstance(storage, LocalStorage)
        assert storage.root == tmp_path.resolve()

    def test_s3_when_configured(self, monkeypatch):
        self.use(monkeypatch, FilesSettings(backend="s3", s3_endpoint="minio.internal:9000", s3_bucket="b"))
        storage = get_storage()
        assert isinstance(storage, S3Storage)
        assert storage.bucket == "b"

    def test_s3_needs_an_endpoint(self, monkeypatch):
        self.use(monkeypatch, FilesSettings(backend="s3"))
        with pytest.raises(RuntimeError, match="S3_ENDPOINT"):
            get_storage()
