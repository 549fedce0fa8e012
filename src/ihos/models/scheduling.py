"""The unified slot pool (号源统一平台, SL-01…SL-07): slot types and registration kinds, booking channels,
weekly schedule templates, holidays, clinic sessions and their slots.

A slot is a row: one numbered place in one time segment of one session, for one channel. Every race for a
place is then a single-row conditional UPDATE (see ``ihos.booking.service``).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ihos.models.base import Base, IdMixin, TimestampMixin


class SlotType(TimestampMixin, Base):
    """号类: expert, general, special-needs, disease clinic… with its registration fee."""

    __tablename__ = "slot_types"

    code: Mapped[str] = mapped_column(String(30), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    fee_fen: Mapped[int] = mapped_column(BigInteger)
    item_code: Mapped[str] = mapped_column(String(40))  # the charge item the HIS and the pricing know
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class RegistrationKind(IdMixin, TimestampMixin, Base):
    """号别: what a patient books — a doctor's clinic, or a clinic without a named doctor (a disease clinic,
    a general clinic of a department). Its fee overrides the slot type's when set."""

    __tablename__ = "registration_kinds"

    name: Mapped[str] = mapped_column(String(100))
    slot_type_code: Mapped[str] = mapped_column(ForeignKey("slot_types.code"))
    campus_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campuses.id"), index=True)
    department_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departments.id"), index=True)
    doctor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"), index=True)
    disease: Mapped[str | None] = mapped_column(String(100))  # 专病门诊: the disease it is for
    fee_fen: Mapped[int | None] = mapped_column(BigInteger)
    is_online: Mapped[bool] = mapped_column(Boolean, default=False)  # internet-hospital visits
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class BookingChannel(TimestampMixin, Base):
    """A way in to the pool: on-site window, kiosk, online booking, internet hospital, HIS, phone…"""

    __tablename__ = "booking_channels"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class ScheduleTemplate(IdMixin, TimestampMixin, Base):
    """排班计划: a weekly clinic of a registration kind, from which dates' sessions are generated."""

    __tablename__ = "schedule_templates"

    registration_kind_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("registration_kinds.id"), index=True)
    weekday: Mapped[int] = mapped_column(Integer)  # 0 Monday … 6 Sunday
    period: Mapped[str] = mapped_column(String(10))  # morning, afternoon, evening
    starts: Mapped[time] = mapped_column(Time)  # local time of the hospital
    ends: Mapped[time] = mapped_column(Time)
    average_minutes: Mapped[int] = mapped_column(Integer)
    capacity: Mapped[int] = mapped_column(Integer)
    room: Mapped[str | None] = mapped_column(String(50))
    # {channel code: places}; what the quotas leave is the shared pool (channel "pool").
    quotas: Mapped[dict[str, Any]] = mapped_column(default=dict)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class Holiday(TimestampMixin, Base):
    """节假日: a day without clinics, or (``is_workday``) a weekend day worked in exchange (调休上班)."""

    __tablename__ = "holidays"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    is_workday: Mapped[bool] = mapped_column(Boolean, default=False)
    # A make-up working day runs the clinics of this weekday (调休: "按周一排班"); 0 Monday … 6 Sunday.
    works_as_weekday: Mapped[int | None] = mapped_column(Integer)


class ClinicSession(IdMixin, TimestampMixin, Base):
    """出诊: one registration kind on one date and period; open, suspended or cancelled."""

    __tablename__ = "clinic_sessions"
    __table_args__ = (UniqueConstraint("registration_kind_id", "session_date", "period"),)

    registration_kind_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("registration_kinds.id"), index=True)
    template_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("schedule_templates.id"))
    campus_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campuses.id"))
    department_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departments.id"), index=True)
    doctor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"), index=True)
    session_date: Mapped[date] = mapped_column(Date, index=True)
    period: Mapped[str] = mapped_column(String(10))
    starts_at: Mapped[datetime] = mapped_column()
    ends_at: Mapped[datetime] = mapped_column()
    room: Mapped[str | None] = mapped_column(String(50))
    average_minutes: Mapped[int] = mapped_column(Integer)
    capacity: Mapped[int] = mapped_column(Integer)
    fee_fen: Mapped[int] = mapped_column(BigInteger)  # the fee when it was generated
    item_code: Mapped[str] = mapped_column(String(40))
    is_online: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(12), default="open")  # open, suspended, cancelled
    release_at: Mapped[datetime] = mapped_column()  # bookable from
    pool_at: Mapped[datetime] = mapped_column()  # unbooked channel quotas return to the pool
    suspension_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("suspensions.id"))


def _where(condition: str) -> dict[str, Any]:
    """A partial index's condition, for both databases."""
    return {"postgresql_where": text(condition), "sqlite_where": text(condition)}


class Slot(IdMixin, Base):
    """号源: one numbered place in one time segment of a session, for one channel (or the shared pool).

    ``status``: free, held (until ``hold_expires_at``), booked, cooling (free again from ``available_at``:
    a cancelled place returns after a random delay, against scalpers) or blocked (suspended session).
    An expired hold or a cooled place is free at once, before any sweep tidies it.
    """

    __tablename__ = "slots"
    # Partial indexes, one per way a booker looks for a place (see booking.service._take_place): each
    # look is a range of one index in number order, whatever share of the session is already taken.
    __table_args__ = (
        UniqueConstraint("session_id", "seq"),
        Index("ix_slots_free", "session_id", "seq", **_where("status = 'free'")),
        Index("ix_slots_free_by_channel", "session_id", "channel", "seq", **_where("status = 'free'")),
        Index("ix_slots_held_until", "hold_expires_at", **_where("status = 'held'")),
        Index("ix_slots_cooling_until", "available_at", **_where("status = 'cooling'")),
    )

    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clinic_sessions.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)  # the number the patient is given (就诊序号)
    starts_at: Mapped[datetime] = mapped_column()  # its time segment
    ends_at: Mapped[datetime] = mapped_column()
    channel: Mapped[str] = mapped_column(String(20))  # a channel code, or "pool"
    status: Mapped[str] = mapped_column(String(10), default="free")
    hold_expires_at: Mapped[datetime | None] = mapped_column()
    available_at: Mapped[datetime | None] = mapped_column()
    booking_id: Mapped[uuid.UUID | None] = mapped_column()


class Suspension(IdMixin, TimestampMixin, Base):
    """停诊: one session (temporary) or a doctor's clinics over a date range (long-term)."""

    __tablename__ = "suspensions"

    kind: Mapped[str] = mapped_column(String(12))  # temporary, long_term
    # What is suspended ("session:<id>", "doctor:<id>:<from>:<to>", "kind:<id>:<from>:<to>"): running the
    # same suspension again finds this row instead of making a second one.
    scope_key: Mapped[str] = mapped_column(String(120), unique=True)
    doctor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"), index=True)
    registration_kind_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("registration_kinds.id"))
    session_id: Mapped[uuid.UUID | None] = mapped_column()
    date_from: Mapped[date] = mapped_column(Date)
    date_to: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    sessions_affected: Mapped[int] = mapped_column(Integer, default=0)
    bookings_cancelled: Mapped[int] = mapped_column(Integer, default=0)


class Notice(IdMixin, TimestampMixin, Base):
    """公告 for the patient app; suspension notices are published here (part of PT-21)."""

    __tablename__ = "notices"

    kind: Mapped[str] = mapped_column(String(20), index=True)  # suspension, …
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(index=True)
    expires_at: Mapped[datetime | None] = mapped_column()
    suspension_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("suspensions.id"))
