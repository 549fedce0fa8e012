"""System configuration (AD-08): dictionaries, typed rules, and system clients (HIS windows, kiosks)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ihos.models.base import Base, IdMixin, TimestampMixin
from ihos.security.fields import EncryptedString


class DictionaryEntry(IdMixin, TimestampMixin, Base):
    """字典项: one entry of a dictionary such as relations, professional titles or posts."""

    __tablename__ = "dictionary_entries"
    __table_args__ = (UniqueConstraint("dictionary", "code"),)

    dictionary: Mapped[str] = mapped_column(String(40), index=True)
    code: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(100))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class SystemRule(TimestampMixin, Base):
    """系统规则: a value that overrides the default of a rule defined in ``ihos.backoffice.rules``."""

    __tablename__ = "system_rules"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))


class SystemClient(IdMixin, TimestampMixin, Base):
    """A hospital system that calls ihos with an API key and HMAC-SM3 signed requests (HIS window, kiosk)."""

    __tablename__ = "system_clients"

    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))  # his, kiosk, other
    key_id: Mapped[str] = mapped_column(String(40), unique=True)
    secret: Mapped[str] = mapped_column(EncryptedString())
    campus_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("campuses.id"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_used_at: Mapped[datetime | None] = mapped_column()


class RequestNonce(Base):
    """A nonce seen on a signed system request, kept until its timestamp window has passed."""

    __tablename__ = "request_nonces"
    __table_args__ = (UniqueConstraint("client_id", "nonce"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("system_clients.id", ondelete="CASCADE"))
    nonce: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(index=True)


class DepartmentRule(TimestampMixin, Base):
    """A system rule's value for one department, overriding the hospital's (e.g. a longer booking
    window for a specialist department)."""

    __tablename__ = "department_rules"

    department_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)
    updated_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
