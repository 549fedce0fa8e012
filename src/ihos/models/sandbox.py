"""What the counterpart sandboxes remember (沙箱): the SMS inbox and the issued login codes.

Only the sandboxes write these tables; in production they stay empty.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ihos.models.base import Base, IdMixin, TimestampMixin
from ihos.security.fields import EncryptedString


class SandboxSmsMessage(IdMixin, TimestampMixin, Base):
    """短信沙箱收件箱: one message the sandbox SMS gateway accepted, for a person to read in the demo."""

    __tablename__ = "sandbox_sms_messages"
    __table_args__ = (Index("ix_sandbox_sms_messages_phone_index_sent_at", "phone_index", "sent_at"),)

    # The 11-digit number, encrypted; looked up through the blind index, shown masked.
    phone: Mapped[str] = mapped_column(EncryptedString())
    phone_index: Mapped[str] = mapped_column(String(64))
    phone_masked: Mapped[str] = mapped_column(String(20))
    template: Mapped[str] = mapped_column(String(40))
    template_code: Mapped[str] = mapped_column(String(40))
    # verification | notice: the carriers limit the two classes differently.
    category: Mapped[str] = mapped_column(String(20))
    sign_name: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(String(1000))
    params: Mapped[dict[str, Any]] = mapped_column()
    # The gateway's message id (Aliyun BizId).
    message_id: Mapped[str] = mapped_column(String(40), unique=True)
    sent_at: Mapped[datetime] = mapped_column(index=True)


class SandboxOAuthCode(IdMixin, TimestampMixin, Base):
    """A sign-in code issued by a sandbox (WeChat ``wx.login`` code, Alipay ``auth_code``).

    Single use (``used_at``) and short-lived (``expires_at``); kept in the database so that the
    process that issues a code and the one that redeems it need not be the same.
    """

    __tablename__ = "sandbox_oauth_codes"
    __table_args__ = (UniqueConstraint("provider", "code"),)

    provider: Mapped[str] = mapped_column(String(16))  # wechat | alipay
    code: Mapped[str] = mapped_column(String(64))
    app_id: Mapped[str] = mapped_column(String(64))
    # Names the sandbox user; the same hint always gives the same openid / user_id. Not personal data.
    user_hint: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None] = mapped_column()
