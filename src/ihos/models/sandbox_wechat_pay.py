"""WeChat Pay: the notification nonces ihos has seen, and what the fake WeChat Pay remembers.

``wechat_pay_nonces`` serves the real channel (live and sandbox alike): WeChat Pay's SDKs do not
remember nonces, so a replayed notification would otherwise be believed twice. The
``sandbox_wechat_pay_*`` tables are the sandbox's ledger; in production they stay empty.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ihos.models.base import Base, IdMixin, TimestampMixin
from ihos.security.fields import EncryptedString


class WeChatPayNonce(IdMixin, TimestampMixin, Base):
    """A ``Wechatpay-Nonce`` of a notification that passed verification, kept until its timestamp
    would be refused anyway. The unique constraint, not a prior read, decides a replay."""

    __tablename__ = "wechat_pay_nonces"

    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class SandboxWeChatPayKey(IdMixin, TimestampMixin, Base):
    """The sandbox's WeChat Pay platform key (微信支付公钥 and its private half), shared by every
    process: the one that signs a notification is seldom the one that verifies it."""

    __tablename__ = "sandbox_wechat_pay_keys"

    name: Mapped[str] = mapped_column(String(20), unique=True)  # "platform"
    key_id: Mapped[str] = mapped_column(String(64))  # PUB_KEY_ID_…
    private_key: Mapped[str] = mapped_column(EncryptedString(4000))  # PKCS#8 PEM


class SandboxWeChatPayTransaction(IdMixin, TimestampMixin, Base):
    """One order the fake WeChat Pay knows (商户订单), from the prepay on."""

    __tablename__ = "sandbox_wechat_pay_transactions"
    __table_args__ = (UniqueConstraint("mchid", "out_trade_no"),)

    mchid: Mapped[str] = mapped_column(String(32))
    appid: Mapped[str] = mapped_column(String(32))
    out_trade_no: Mapped[str] = mapped_column(String(32))
    trade_type: Mapped[str] = mapped_column(String(16))  # JSAPI | MWEB | NATIVE
    description: Mapped[str] = mapped_column(String(127))
    total_fen: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(8))
    payer_openid: Mapped[str | None] = mapped_column(String(128))
    notify_url: Mapped[str] = mapped_column(String(256))
    time_expire: Mapped[datetime | None] = mapped_column()
    # Same parameters, same prepay_id; other parameters under the same out_trade_no are refused.
    request_digest: Mapped[str] = mapped_column(String(64))
    prepay_id: Mapped[str] = mapped_column(String(64), unique=True)
    # NOTPAY | SUCCESS | CLOSED | REFUND (转入退款: some refund was accepted)
    trade_state: Mapped[str] = mapped_column(String(16))
    transaction_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    payer_total_fen: Mapped[int | None] = mapped_column(Integer)
    # What accepted refunds (not closed ones) take from the payment; never above payer_total_fen.
    refunded_fen: Mapped[int] = mapped_column(Integer, default=0)
    bank_type: Mapped[str | None] = mapped_column(String(32))
    success_time: Mapped[datetime | None] = mapped_column(index=True)


class SandboxWeChatPayRefund(IdMixin, TimestampMixin, Base):
    """One refund the fake WeChat Pay accepted (退款单). It stays PROCESSING until ``completes_at``,
    then reads as ``outcome``; the change is written by the first query that sees it due."""

    __tablename__ = "sandbox_wechat_pay_refunds"
    __table_args__ = (UniqueConstraint("mchid", "out_refund_no"),)

    transaction_row_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("sandbox_wechat_pay_transactions.id", ondelete="CASCADE"), index=True
    )
    mchid: Mapped[str] = mapped_column(String(32))
    out_refund_no: Mapped[str] = mapped_column(String(64))
    refund_id: Mapped[str] = mapped_column(String(32), unique=True)
    out_trade_no: Mapped[str] = mapped_column(String(32))
    transaction_id: Mapped[str] = mapped_column(String(32))
    refund_fen: Mapped[int] = mapped_column(Integer)
    total_fen: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(String(80))
    notify_url: Mapped[str | None] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(16))  # PROCESSING | SUCCESS | ABNORMAL | CLOSED
    outcome: Mapped[str] = mapped_column(String(16))
    accepted_at: Mapped[datetime] = mapped_column(index=True)  # 退款受理时间: the bill's day
    completes_at: Mapped[datetime] = mapped_column()
    success_time: Mapped[datetime | None] = mapped_column()
