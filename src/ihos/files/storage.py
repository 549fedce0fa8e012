"""Where file bytes live: one interface, a local directory (embedded mode) or an S3-compatible
bucket such as MinIO (production). Keys are chosen by ``ihos.files.service``, never by clients."""

from __future__ import annotations

import asyncio
import io
import os
import re
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from minio import Minio
from minio.error import S3Error

from ihos.config import FilesSettings, get_settings

# Segments of letters, digits, '.', '_' and '-', joined by '/'; a segment may not start with a dot,
# which rules out '..', hidden names and our own temporary files.
_KEY = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*")
_MAX_KEY_LENGTH = 512
_MISSING_CODES = {"NoSuchKey", "NoSuchObject", "NotFound"}


class InvalidKey(ValueError):
    """A storage key outside the allowed shape (absolute, '..', odd characters)."""


class ObjectMissing(LookupError):
    """No object is stored under the key."""


def check_key(key: str) -> str:
    if len(key) > _MAX_KEY_LENGTH or not _KEY.fullmatch(key):
        raise InvalidKey(key)
    return key


class FileStorage(Protocol):
    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    async def get(self, key: str) -> bytes:
        """The stored bytes; ``ObjectMissing`` when there are none."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the object; deleting a missing object is not an error."""
        ...

    async def exists(self, key: str) -> bool: ...


class LocalStorage:
    """Files under one directory. Writes are atomic: a reader sees the old file or the new one."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    def path_for(self, key: str) -> Path:
        path = (self.root / check_key(key)).resolve()
        # The key pattern already forbids '..'; this also catches a symlink pointing outside the root.
        if not path.is_relative_to(self.root):
            raise InvalidKey(key)
        return path

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(self._write, self.path_for(key), data)

    async def get(self, key: str) -> bytes:
        path = self.path_for(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise ObjectMissing(key) from None

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.path_for(key).unlink, missing_ok=True)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path_for(key).is_file)

    def _write(self, path: Path, data: bytes) -> None:
        # Personal data (identity documents): mkstemp creates the file readable by the service user only.
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


class S3Storage:
    """Objects in one bucket of an S3-compatible store (MinIO in production), created if missing.

    The minio client blocks, so every call runs in a worker thread.
    """

    def __init__(self, client: Minio, bucket: str) -> None:
        self.client = client
        self.bucket = bucket
        self._bucket_ready = False
        self._bucket_lock = asyncio.Lock()

    @classmethod
    def from_settings(cls, settings: FilesSettings) -> S3Storage:
        endpoint, secure = _split_endpoint(settings.s3_endpoint, settings.s3_secure)
        client = Minio(
            endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            secure=secure,
            region=settings.s3_region,
        )
        return cls(client, settings.s3_bucket)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        check_key(key)
        await self._ensure_bucket()
        await asyncio.to_thread(
            self.client.put_object,
            self.bucket,
            key,
            io.BytesIO(data),
            length=len(data),
            content_type=content_type,
        )

    async def get(self, key: str) -> bytes:
        check_key(key)
        try:
            return await asyncio.to_thread(self._read, key)
        except S3Error as exc:
            if exc.code in _MISSING_CODES or exc.code == "NoSuchBucket":
                raise ObjectMissing(key) from None
            raise

    async def delete(self, key: str) -> None:
        check_key(key)
        try:
            await asyncio.to_thread(self.client.remove_object, self.bucket, key)
        except S3Error as exc:
            if exc.code != "NoSuchBucket":
                raise

    async def exists(self, key: str) -> bool:
        check_key(key)
        try:
            await asyncio.to_thread(self.client.stat_object, self.bucket, key)
        except S3Error as exc:
            if exc.code in _MISSING_CODES or exc.code == "NoSuchBucket":
                return False
            raise
        return True

    def _read(self, key: str) -> bytes:
        response = self.client.get_object(self.bucket, key)
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    async def _ensure_bucket(self) -> None:
        if self._bucket_ready:
            return
        async with self._bucket_lock:
            if not self._bucket_ready:
                await asyncio.to_thread(self._create_bucket)
                self._bucket_ready = True

    def _create_bucket(self) -> None:
        if self.client.bucket_exists(self.bucket):
            return
        try:
            self.client.make_bucket(self.bucket)
        except S3Error as exc:
            # Another process created it between our check and our request.
            if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise


def _split_endpoint(endpoint: str, secure: bool) -> tuple[str, bool]:
    """minio wants ``host:port``; accept a URL too and let its scheme decide TLS."""
    for scheme, is_secure in (("https://", True), ("http://", False)):
        if endpoint.startswith(scheme):
            return endpoint.removeprefix(scheme).rstrip("/"), is_secure
    return endpoint.rstrip("/"), secure


@lru_cache
def get_storage() -> FileStorage:
    """The storage chosen by ``IHOS_FILES__BACKEND``; one instance per process."""
    settings = get_settings().files
    if settings.backend == "s3":
        if not settings.s3_endpoint:
            raise RuntimeError("IHOS_FILES__BACKEND=s3 needs IHOS_FILES__S3_ENDPOINT")
        return S3Storage.from_settings(settings)
    return LocalStorage(settings.local_dir)
