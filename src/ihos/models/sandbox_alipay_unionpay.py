"""What the Alipay and UnionPay payment adapters remember, and the ledgers of their sandboxes.

Two tables serve the live channels too: ``channel_notifications_seen`` (notification ids already
accepted, against replays) and ``unionpay_submissions`` (the ``orderId``/``txnTime`` pairs sent to
UnionPay, which identifies a transaction by both). The ``sandbox_*`` tables are written only by the
sandboxes and stay empty in production.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ihos.models.base import Base, IdMixin, TimestampMixin


class SeenChannelNotification(IdMixin, TimestampMixin, Base):
    """A payment notification already accepted (支付通知去重): Alipay ``notify_id``, UnionPay
    ``queryId:txnType``. A second delivery of the same id is a replay and is refused.

    Rows older than the channel's notification window are purged: a notification that old is refused
    as stale before its id is looked at, so the table only needs to cover the window.
    """

    __tablename__ = "channel_notifications_seen"
    __table_args__ = (UniqueConstraint("channel", "notification_id"),)

    channel: Mapped[str] = mapped_column(String(16))  # alipay | unionpay
    notification_id: Mapped[str] = mapped_column(String(80))
    # The channel's own time of the notification (Alipay notify_time, UnionPay txnTime).
    notified_at: Mapped[datetime] = mapped_column(index=True)


class UnionPaySubmission(IdMixin, TimestampMixin, Base):
    """银联交易提交记录: one consume or refund ihos sent to UnionPay.

    UnionPay identifies a transaction by ``merId`` + ``orderId`` + ``txnTime``: a query needs the
    original ``txnTime``, and a retried refund must repeat it to be recognised as the same refund.
    """

    __tablename__ = "unionpay_submissions"
    __table_args__ = (UniqueConstraint("merchant_id", "txn_type", "order_id"),)

    merchant_id: Mapped[str] = mapped_column(String(15))
    txn_type: Mapped[str] = mapped_column(String(2))  # 01 consume, 04 refund
    order_id: Mapped[str] = mapped_column(String(40))  # the order number, or the refund number
    txn_time: Mapped[str] = mapped_column(String(14))  # yyyyMMddHHmmss, Beijing time, as sent
    amount_fen: Mapped[int] = mapped_column()
    # Consume: when UnionPay stops accepting payment (payTimeout); after it, "not found" means closed.
    pay_timeout: Mapped[datetime | None] = mapped_column()
    # Refund: the consume's queryId (origQryId).
    original_query_id: Mapped[str | None] = mapped_column(String(21))
    # Consume: ihos gave up on the order (close). UnionPay has no close; see the channel.
    closed_at: Mapped[datetime | None] = mapped_column()


class SandboxAlipayTrade(IdMixin, TimestampMixin, Base):
    """支付宝沙箱交易: one trade in the fake Alipay's ledger."""

    __tablename__ = "sandbox_alipay_trades"
    __table_args__ = (UniqueConstraint("app_id", "out_trade_no"),)

    app_id: Mapped[str] = mapped_column(String(32))
    out_trade_no: Mapped[str] = mapped_column(String(64))
    trade_no: Mapped[str] = mapped_column(String(64), unique=True)
    # alipay.trade.create | alipay.trade.wap.pay | alipay.trade.precreate
    method: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(256))
    total_fen: Mapped[int] = mapped_column()
    # WAIT_BUYER_PAY | TRADE_SUCCESS | TRADE_CLOSED | TRADE_FINISHED
    status: Mapped[str] = mapped_column(String(20))
    # A wap.pay cashier link exists before the patient opens it; Alipay knows the trade only after.
    is_opened: Mapped[bool] = mapped_column()
    buyer_id: Mapped[str | None] = mapped_column(String(32))
    notify_url: Mapped[str | None] = mapped_column(String(512))
    time_expire: Mapped[datetime | None] = mapped_column()
    # What the buyer paid; differs from total_fen only when the sandbox was told to pay another amount.
    paid_fen: Mapped[int | None] = mapped_column()
    refunded_fen: Mapped[int] = mapped_column()
    paid_at: Mapped[datetime | None] = mapped_column(index=True)
    closed_at: Mapped[datetime | None] = mapped_column()


class SandboxAlipayRefund(IdMixin, TimestampMixin, Base):
    """支付宝沙箱退款: one refund (``out_request_no``) of a sandbox trade."""

    __tablename__ = "sandbox_alipay_refunds"
    __table_args__ = (UniqueConstraint("trade_id", "out_request_no"),)

    trade_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sandbox_alipay_trades.id", ondelete="CASCADE"))
    out_request_no: Mapped[str] = mapped_column(String(64))
    amount_fen: Mapped[int] = mapped_column()
    reason: Mapped[str] = mapped_column(String(256))
    refunded_at: Mapped[datetime] = mapped_column(index=True)


class SandboxUnionPayOrder(IdMixin, TimestampMixin, Base):
    """银联沙箱消费订单: one consume (txnType 01) in the fake UnionPay's ledger."""

    __tablename__ = "sandbox_unionpay_orders"
    __table_args__ = (UniqueConstraint("merchant_id", "order_id"),)

    merchant_id: Mapped[str] = mapped_column(String(15))
    order_id: Mapped[str] = mapped_column(String(40))
    txn_time: Mapped[str] = mapped_column(String(14))
    amount_fen: Mapped[int] = mapped_column()
    # front (frontTransReq, the H5 form) | app (appTransReq, a tn for the payment control)
    access: Mapped[str] = mapped_column(String(8))
    tn: Mapped[str | None] = mapped_column(String(32))
    back_url: Mapped[str] = mapped_column(String(512))
    pay_timeout: Mapped[datetime | None] = mapped_column()
    # issued (form or tn handed out, unknown to queries) | paid
    state: Mapped[str] = mapped_column(String(8))
    query_id: Mapped[str | None] = mapped_column(String(21), unique=True)
    paid_fen: Mapped[int | None] = mapped_column()
    refunded_fen: Mapped[int] = mapped_column()
    trace_no: Mapped[str | None] = mapped_column(String(6))
    trace_time: Mapped[str | None] = mapped_column(String(10))
    settle_date: Mapped[str | None] = mapped_column(String(4))
    card_number: Mapped[str | None] = mapped_column(String(19))  # masked, as UnionPay shows it
    paid_at: Mapped[datetime | None] = mapped_column(index=True)


class SandboxUnionPayRefund(IdMixin, TimestampMixin, Base):
    """银联沙箱退货: one refund (txnType 04) of a sandbox consume."""

    __tablename__ = "sandbox_unionpay_refunds"
    __table_args__ = (UniqueConstraint("merchant_id", "order_id"),)

    merchant_id: Mapped[str] = mapped_column(String(15))
    order_id: Mapped[str] = mapped_column(String(40))  # the refund number
    txn_time: Mapped[str] = mapped_column(String(14))
    consume_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("sandbox_unionpay_orders.id", ondelete="CASCADE")
    )
    original_query_id: Mapped[str] = mapped_column(String(21))
    amount_fen: Mapped[int] = mapped_column()
    back_url: Mapped[str] = mapped_column(String(512))
    query_id: Mapped[str] = mapped_column(String(21), unique=True)
    trace_no: Mapped[str] = mapped_column(String(6))
    trace_time: Mapped[str] = mapped_column(String(10))
    settle_date: Mapped[str] = mapped_column(String(4))
    refunded_at: Mapped[datetime] = mapped_column(index=True)
