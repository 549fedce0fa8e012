"""Patient accounts (PT-02…PT-05): sign-in identities, consents, SMS codes. Staff sign in as ``Staff``."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ihos.models.base import Base, IdMixin, TimestampMixin
from ihos.security.fields import EncryptedString


class Account(IdMixin, TimestampMixin, Base):
    """患者账户: the person who signs in to the patient app and holds family patients."""

    __tablename__ = "accounts"

    username: Mapped[str | None] = mapped_column(String(40), unique=True)
    phone: Mapped[str | None] = mapped_column(EncryptedString())
    phone_index: Mapped[str | None] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_sign_ins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column()
    # Real-name verification of the account holder (实名认证): unverified, pending_review, verified, rejected.
    real_name_status: Mapped[str] = mapped_column(String(20), default="unverified")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_sign_in_at: Mapped[datetime | None] = mapped_column()


class ExternalLogin(IdMixin, TimestampMixin, Base):
    """A WeChat openid or Alipay user id bound to an account (authorised sign-in without registering)."""

    __tablename__ = "external_logins"
    __table_args__ = (UniqueConstraint("provider", "subject"), UniqueConstraint("account_id", "provider"))

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(20))  # wechat, alipay
    subject: Mapped[str] = mapped_column(String(128))  # openid / user_id
    union_id: Mapped[str | None] = mapped_column(String(128))


class Consent(IdMixin, TimestampMixin, Base):
    """One explicit consent to one version of one document (PIPL 第14、29、31条).

    Documents: user_agreement, privacy_policy, health_data (separate consent for sensitive personal
    information) and guardian (a guardian's consent for a family patient under 14, with ``patient_id``).
    """

    __tablename__ = "consents"

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    document: Mapped[str] = mapped_column(String(30))
    version: Mapped[str] = mapped_column(String(20))
    patient_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("patients.id"))
    accepted_at: Mapped[datetime] = mapped_column()
    client_address: Mapped[str | None] = mapped_column(String(64))
    withdrawn_at: Mapped[datetime | None] = mapped_column()


class AuthSession(IdMixin, TimestampMixin, Base):
    """A signed-in session, revocable on the server. The client holds a random token; we keep its SM3."""

    __tablename__ = "auth_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    principal_kind: Mapped[str] = mapped_column(String(10))  # patient, staff
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    staff_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    last_seen_at: Mapped[datetime] = mapped_column()
    # Staff sessions end after this many idle seconds (MLPS: 30 minutes); None = no idle limit.
    idle_timeout_seconds: Mapped[int | None] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    revoked_reason: Mapped[str | None] = mapped_column(String(40))
    sign_in_method: Mapped[str] = mapped_column(String(20))
    client_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))


class SmsCode(IdMixin, TimestampMixin, Base):
    """短信验证码: 6 digits, valid 5 minutes, single use, at most 5 wrong tries.

    The code is kept encrypted only until the SMS job has sent it; verification compares an HMAC.
    """

    __tablename__ = "sms_codes"

    phone: Mapped[str] = mapped_column(EncryptedString())
    phone_index: Mapped[str] = mapped_column(String(64), index=True)
    purpose: Mapped[str] = mapped_column(String(20))  # register, sign_in, reset_password, bind_phone
    code_hash: Mapped[str] = mapped_column(String(64))
    code_to_send: Mapped[str | None] = mapped_column(EncryptedString())
    expires_at: Mapped[datetime] = mapped_column()
    wrong_attempts: Mapped[int] = mapped_column(Integer, default=0)
    consumed_at: Mapped[datetime | None] = mapped_column()
    client_address: Mapped[str | None] = mapped_column(String(64), index=True)
    sent_at: Mapped[datetime | None] = mapped_column()
