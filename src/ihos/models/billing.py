"""Orders, payments and refunds (FI-01…FI-03, PT-14, PT-19). Money is integer fen.

An ``Order`` is what is owed for one business object (a booking, a clinic bill, a prescription…). Money
received is a ``Payment`` (normally one per order; a second one is a duplicate payment to refund). A
``Refund`` is taken from one payment, reserved first so that refunds never exceed what was paid.
Every notification a channel sends is kept raw as a ``ChannelNotification``, unique per channel and
notification id, so duplicates are recognised before anything happens.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ihos.models.base import Base, IdMixin, TimestampMixin


class Order(IdMixin, TimestampMixin, Base):
    """订单. States: created → paying → paid → partially_refunded / refunded; or closed / cancelled."""

    __tablename__ = "orders"

    order_number: Mapped[str] = mapped_column(String(32), unique=True)
    account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    patient_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("patients.id"), index=True)
    business_kind: Mapped[str] = mapped_column(String(30))  # registration, clinic_bill, prescription, …
    business_reference: Mapped[str | None] = mapped_column(String(64), index=True)
    description: Mapped[str] = mapped_column(String(128))
    # Amounts, from the intranet pricing service (and, for insured payment, from the insurance's 6202).
    total_fen: Mapped[int] = mapped_column(BigInteger)
    discount_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    payable_fen: Mapped[int] = mapped_column(BigInteger)  # what the channel must collect
    insurance_fund_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    personal_account_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    self_pay_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    is_insured: Mapped[bool] = mapped_column(Boolean, default=False)
    quote_id: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(20), default="created", index=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    channel: Mapped[str | None] = mapped_column(String(20), index=True)
    transaction_id: Mapped[str | None] = mapped_column(String(64), index=True)
    paid_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_at: Mapped[datetime | None] = mapped_column(index=True)
    closed_at: Mapped[datetime | None] = mapped_column()
    # HIS write-back (收费回写): the business counts as paid only when the HIS confirms.
    his_state: Mapped[str] = mapped_column(String(12), default="none")  # none, pending, written
    his_receipt_number: Mapped[str | None] = mapped_column(String(64))
    his_written_at: Mapped[datetime | None] = mapped_column()
    insurance_settlement: Mapped[dict[str, Any]] = mapped_column(default=dict)


class OrderLine(IdMixin, Base):
    __tablename__ = "order_lines"

    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    item_code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_fen: Mapped[int] = mapped_column(BigInteger)
    amount_fen: Mapped[int] = mapped_column(BigInteger)


class PaymentAttempt(IdMixin, TimestampMixin, Base):
    """One prepay request to one channel; an order may be tried again on another channel."""

    __tablename__ = "payment_attempts"

    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    scene: Mapped[str] = mapped_column(String(20))
    channel_reference: Mapped[str | None] = mapped_column(String(128))
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)


class Payment(IdMixin, TimestampMixin, Base):
    """Money received from a channel for an order. ``disposition``: applied (pays the order) or
    surplus (a second payment, or one after the order closed: refunded automatically)."""

    __tablename__ = "payments"
    __table_args__ = (UniqueConstraint("channel", "transaction_id"),)

    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    transaction_id: Mapped[str] = mapped_column(String(64))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    paid_at: Mapped[datetime] = mapped_column()
    disposition: Mapped[str] = mapped_column(String(12))
    refund_reserved_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    # The applied payment of an order, unique: one order is paid once, whatever the timing.
    applied_order_key: Mapped[uuid.UUID | None] = mapped_column(unique=True)


class ChannelNotification(IdMixin, Base):
    """Every notification received, raw, with what we made of it."""

    __tablename__ = "channel_notifications"
    __table_args__ = (UniqueConstraint("channel", "notification_id"),)

    channel: Mapped[str] = mapped_column(String(20))
    notification_id: Mapped[str | None] = mapped_column(String(128))  # None when it could not be verified
    received_at: Mapped[datetime] = mapped_column(index=True)
    is_verified: Mapped[bool] = mapped_column(Boolean)
    rejection_reason: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str | None] = mapped_column(String(10))  # payment, refund
    order_number: Mapped[str | None] = mapped_column(String(32), index=True)
    refund_number: Mapped[str | None] = mapped_column(String(32))
    outcome: Mapped[str | None] = mapped_column(String(40))
    headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    body: Mapped[str] = mapped_column(Text)


class Refund(IdMixin, TimestampMixin, Base):
    """退款. States: pending_approval → approved → executing → succeeded | failed; rejected, cancelled."""

    __tablename__ = "refunds"

    refund_number: Mapped[str] = mapped_column(String(32), unique=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id"), index=True)
    payment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("payments.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(200))
    is_automatic: Mapped[bool] = mapped_column(
        Boolean, default=False
    )  # late or duplicate payment, suspension
    requested_by_kind: Mapped[str] = mapped_column(String(12))  # patient, staff, system
    requested_by_id: Mapped[uuid.UUID | None] = mapped_column()
    state: Mapped[str] = mapped_column(String(20), index=True)
    levels_required: Mapped[int] = mapped_column(Integer, default=0)
    levels_approved: Mapped[int] = mapped_column(Integer, default=0)
    executed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    submitted_at: Mapped[datetime | None] = mapped_column(index=True)
    succeeded_at: Mapped[datetime | None] = mapped_column()
    channel_refund_id: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(String(300))
    his_state: Mapped[str] = mapped_column(String(12), default="none")


class RefundApproval(IdMixin, Base):
    """One level of a refund's approval chain; the unique level decides two approvers racing."""

    __tablename__ = "refund_approvals"
    __table_args__ = (UniqueConstraint("refund_id", "level"), UniqueConstraint("refund_id", "approver_id"))

    refund_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("refunds.id", ondelete="CASCADE"), index=True)
    level: Mapped[int] = mapped_column(Integer)
    approver_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    decision: Mapped[str] = mapped_column(String(10))  # approved, rejected
    note: Mapped[str | None] = mapped_column(String(300))
    decided_at: Mapped[datetime] = mapped_column()


class RefundApprovalLevel(IdMixin, TimestampMixin, Base):
    """The approval chain (多级审批): a refund of at least ``min_amount_fen`` needs this level, approved by
    someone holding ``role_code`` with approval authority."""

    __tablename__ = "refund_approval_levels"
    __table_args__ = (UniqueConstraint("level"),)

    level: Mapped[int] = mapped_column(Integer)
    min_amount_fen: Mapped[int] = mapped_column(BigInteger)
    role_code: Mapped[str] = mapped_column(ForeignKey("roles.code"))


class RefundAuthority(TimestampMixin, Base):
    """Who may request, approve (up to a limit) and execute refunds, per member of staff (FI-01)."""

    __tablename__ = "refund_authorities"

    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True)
    may_request: Mapped[bool] = mapped_column(Boolean, default=False)
    may_approve: Mapped[bool] = mapped_column(Boolean, default=False)
    approval_limit_fen: Mapped[int | None] = mapped_column(BigInteger)  # None: no limit
    may_execute: Mapped[bool] = mapped_column(Boolean, default=False)


class PaymentChannelSetting(TimestampMixin, Base):
    """The channels the hospital has enabled (渠道付款方式管理)."""

    __tablename__ = "payment_channel_settings"

    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(40))
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


class Anomaly(IdMixin, TimestampMixin, Base):
    """异常订单: found automatically, flagged red until someone handles it with a note."""

    __tablename__ = "anomalies"

    kind: Mapped[str] = mapped_column(String(30), index=True)
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    order_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("orders.id"), index=True)
    refund_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("refunds.id"))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(String(10), default="open", index=True)
    handled_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    handled_at: Mapped[datetime | None] = mapped_column()
    note: Mapped[str | None] = mapped_column(Text)


class ClinicBill(IdMixin, TimestampMixin, Base):
    """诊间支付: a charge the HIS created from a doctor's orders, shown to the patient as a pending bill."""

    __tablename__ = "clinic_bills"

    his_bill_id: Mapped[str] = mapped_column(String(64), unique=True)
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"), index=True)
    department: Mapped[str] = mapped_column(String(100))
    doctor: Mapped[str] = mapped_column(String(50))
    lines: Mapped[list[Any]] = mapped_column(default=list)
    total_fen: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(
        String(12), default="unpaid", index=True
    )  # unpaid, paying, paid, cancelled
    billed_at: Mapped[datetime] = mapped_column()
    order_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("orders.id"))
