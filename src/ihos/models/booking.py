"""Bookings (预约挂号, PT-08/PT-09, SL-08…SL-10): a patient's claim on a slot, and the blacklist."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ihos.models.base import Base, IdMixin, TimestampMixin


class Booking(IdMixin, TimestampMixin, Base):
    """预约: held (awaiting payment) → confirmed → arrived → completed; or cancelled, expired, no_show.

    ``active_key`` is ``patient:session`` while the booking is live and NULL once it ends: its unique
    constraint allows one live booking per patient per session on every database, without a partial index.
    ``request_key`` (account:idempotency key) makes a retried request return the first booking.
    """

    __tablename__ = "bookings"
    __table_args__ = (Index("ix_bookings_patient_state", "patient_id", "state"),)

    booking_number: Mapped[str] = mapped_column(String(24), unique=True)
    slot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("slots.id"), index=True)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clinic_sessions.id"), index=True)
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"))
    account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    visit_kind: Mapped[str] = mapped_column(String(10))  # first, return (初诊/复诊)
    state: Mapped[str] = mapped_column(String(12), index=True)
    active_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    request_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    seq: Mapped[int] = mapped_column()  # the place number, kept after the slot is released
    fee_fen: Mapped[int] = mapped_column()
    hold_expires_at: Mapped[datetime | None] = mapped_column()
    order_number: Mapped[str | None] = mapped_column(String(32), index=True)
    confirmed_at: Mapped[datetime | None] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()
    end_reason: Mapped[str | None] = mapped_column(String(40))
    booked_by_kind: Mapped[str] = mapped_column(String(12))  # patient, staff, system
    booked_by_id: Mapped[uuid.UUID | None] = mapped_column()
    # The HIS's registration number (挂号流水号), once the HIS confirmed the fee or the window gave it.
    his_registration_number: Mapped[str | None] = mapped_column(String(64))
    # Confirmed at a window or kiosk that took the fee itself (no online order): how it was paid.
    counter_payment: Mapped[str | None] = mapped_column(String(20))  # cash, bank_card, wechat, …
    arrived_at: Mapped[datetime | None] = mapped_column()
    reminded_at: Mapped[datetime | None] = mapped_column()  # the day-before reminder, sent once


class BlacklistEvent(IdMixin, Base):
    """A no-show or a late cancellation, counted over the rolling window (SL-09)."""

    __tablename__ = "blacklist_events"

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))  # no_show, late_cancel
    booking_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bookings.id"), unique=True)
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    # The ban this event counted towards: an event leads to one ban at most, so the count starts
    # afresh after a ban (and after a lifted one).
    ban_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("booking_bans.id"))


class BookingBan(IdMixin, TimestampMixin, Base):
    """A patient refused booking until ``ends_at`` for too many no-shows or late cancellations."""

    __tablename__ = "booking_bans"

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"), index=True)
    reason: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column()
    ends_at: Mapped[datetime] = mapped_column(index=True)
    lifted_at: Mapped[datetime | None] = mapped_column()
    lifted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    lift_note: Mapped[str | None] = mapped_column(String(300))
