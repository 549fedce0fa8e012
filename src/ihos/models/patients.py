"""Family patients (家庭就诊人, PT-05), addresses and identity reviews (PT-07, AD-02).

Only name, ID number and phone are required (data minimisation). ID numbers and phones are stored
SM4-GCM encrypted with an HMAC-SM3 blind index for look-up.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ihos.models.base import Base, IdMixin, TimestampMixin
from ihos.security.fields import EncryptedString


class Patient(IdMixin, TimestampMixin, Base):
    """就诊人: one real person, identified by ID number, held by one or more accounts."""

    __tablename__ = "patients"

    name: Mapped[str] = mapped_column(String(50))
    id_number: Mapped[str] = mapped_column(EncryptedString())
    id_number_index: Mapped[str] = mapped_column(String(64), unique=True)
    sex: Mapped[str] = mapped_column(String(10))  # derived from the ID number
    birth_date: Mapped[date] = mapped_column(Date)  # derived from the ID number
    phone: Mapped[str] = mapped_column(EncryptedString())
    phone_index: Mapped[str] = mapped_column(String(64), index=True)
    health_card_number: Mapped[str | None] = mapped_column(String(64))  # 电子健康卡
    # unverified, verified (identity service or staff review)
    identity_status: Mapped[str] = mapped_column(String(20), default="unverified")
    identity_verified_at: Mapped[datetime | None] = mapped_column()


class AccountPatient(IdMixin, TimestampMixin, Base):
    """An account's hold on a patient, with the relation to the account holder.

    ``self_account_key`` / ``self_patient_key`` are set only for the relation "self": unique
    constraints (NULLs never collide) make each account have one self and each person be the self of
    one account (one ID number per account, the anti-scalping rule) on every database.
    """

    __tablename__ = "account_patients"
    __table_args__ = (UniqueConstraint("account_id", "patient_id"),)

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"), index=True)
    relation: Mapped[str] = mapped_column(String(20))  # dictionary "relation": self, spouse, child, parent, …
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    self_account_key: Mapped[uuid.UUID | None] = mapped_column(unique=True)
    self_patient_key: Mapped[uuid.UUID | None] = mapped_column(unique=True)


class Address(IdMixin, TimestampMixin, Base):
    """收货地址 for drug delivery and case-record mailing."""

    __tablename__ = "addresses"

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    recipient: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str] = mapped_column(EncryptedString())
    province: Mapped[str] = mapped_column(String(30))
    city: Mapped[str] = mapped_column(String(30))
    district: Mapped[str] = mapped_column(String(30))
    detail: Mapped[str] = mapped_column(String(200))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)


class IdentityReview(IdMixin, TimestampMixin, Base):
    """人工实名审核: a patient's uploaded identity documents awaiting a staff decision."""

    __tablename__ = "identity_reviews"

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    id_number: Mapped[str] = mapped_column(EncryptedString())
    id_number_index: Mapped[str] = mapped_column(String(64), index=True)
    document_file_ids: Mapped[list[Any]] = mapped_column(default=list)
    state: Mapped[str] = mapped_column(
        String(20), default="pending", index=True
    )  # pending, approved, rejected
    reason: Mapped[str | None] = mapped_column(Text)
    reviewer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column()
