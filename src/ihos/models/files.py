"""Stored files (上传文件): one row per file kept in the file storage, whatever it belongs to."""

from __future__ import annotations

import uuid
from enum import StrEnum

from sqlalchemy import BigInteger, Enum, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ihos.models.base import Base, IdMixin, TimestampMixin


class FilePurpose(StrEnum):
    """What a file is for; each purpose has its own rules (types, size) in ``ihos.files.service``."""

    STAFF_PHOTO = "staff_photo"
    IDENTITY_DOCUMENT = "identity_document"


class StoredFile(IdMixin, TimestampMixin, Base):
    """An uploaded file as we stored it: the bytes we produced (re-encoded images), not the client's."""

    __tablename__ = "stored_files"
    __table_args__ = (Index("ix_stored_files_owner", "owner_kind", "owner_id"),)

    # Stored as plain text without a CHECK constraint, so a new purpose needs no migration.
    purpose: Mapped[FilePurpose] = mapped_column(
        Enum(
            FilePurpose,
            native_enum=False,
            create_constraint=False,
            length=40,
            values_callable=lambda members: [member.value for member in members],
        )
    )
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    # SM3 of the stored bytes, hex; checked again on every read.
    sm3_digest: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(512), unique=True)
    original_name: Mapped[str | None] = mapped_column(String(255))
    owner_kind: Mapped[str] = mapped_column(String(40))
    owner_id: Mapped[uuid.UUID]
    uploaded_by_kind: Mapped[str] = mapped_column(String(40))
    uploaded_by_id: Mapped[uuid.UUID]

    def __repr__(self) -> str:
        return f"<StoredFile {self.id} {self.purpose} {self.content_type} {self.size}B>"
