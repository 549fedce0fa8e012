"""How a stored file appears in API responses: its facts and, where the caller may see it, a link."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from ihos.files import service
from ihos.kit.schema import Schema
from ihos.models.files import FilePurpose, StoredFile


class StoredFileOut(Schema):
    """A stored file without a link (lists, audit views)."""

    id: uuid.UUID
    purpose: FilePurpose
    content_type: str = Field(examples=["image/jpeg"])
    size: int = Field(description="字节数（存储的内容，图片为重新编码后的大小）")
    original_name: str | None
    created_at: datetime


class FileLink(Schema):
    """A stored file with a short-lived signed link to its content.

    Domain endpoints build this after deciding that the caller may see the file: the link itself is
    the only credential the content endpoint asks for.
    """

    id: uuid.UUID
    content_type: str = Field(examples=["image/jpeg"])
    size: int
    original_name: str | None
    url: str = Field(description="相对地址，有效期内可直接访问", examples=["/api/v1/files/…/content?…"])
    url_expires_at: datetime

    @classmethod
    def of(cls, file: StoredFile, *, ttl_seconds: int | None = None) -> FileLink:
        link = service.make_link(file, ttl_seconds=ttl_seconds)
        return cls(
            id=file.id,
            content_type=file.content_type,
            size=file.size,
            original_name=file.original_name,
            url=link.url,
            url_expires_at=link.expires_at,
        )
