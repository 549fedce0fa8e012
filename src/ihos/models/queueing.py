"""The smart queue (智能排队叫号, QU-01…QU-06, PT-15): queues, the patients in them, the event log that
screens and phones resume from, exam and lab orders received from the HIS, and screen tokens.

A queue is a standing place (a consulting room, a department's hall, an exam or lab station); its entries
belong to a day (``queue_date``). Priority is a level from the intranet, never its reason (SY-01).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ihos.models.base import Base, IdMixin, TimestampMixin


class Queue(IdMixin, TimestampMixin, Base):
    """队列: a consulting room (``room``), a department's hall (``hall``: doctors without a room of their
    own call from it) or an exam / lab station (``exam``, ``lab``) fed by HIS orders.

    ``scope_key`` names what the queue is for (``room:<campus>:<room>``, ``hall:<department>``,
    ``station:<campus>:<code>``): making the same queue twice finds the first. ``rules`` holds only this
    queue's overrides of the rule set (see ``ihos.queueing.rules``). ``last_seq`` numbers the events.
    """

    __tablename__ = "queues"

    kind: Mapped[str] = mapped_column(String(10))
    campus_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campuses.id"), index=True)
    department_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("departments.id"), index=True)
    code: Mapped[str] = mapped_column(String(50))  # the room, or the HIS's station code
    name: Mapped[str] = mapped_column(String(50))  # shown on screens: "心内科 3诊室", "CT室"
    place: Mapped[str] = mapped_column(String(30))  # spoken in the call: "请 … 到 3诊室 就诊"
    scope_key: Mapped[str] = mapped_column(String(120), unique=True)
    rules: Mapped[dict[str, Any]] = mapped_column(default=dict)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)


class QueueEntry(IdMixin, TimestampMixin, Base):
    """One patient in one queue on one day: waiting → called → in_visit → done, or missed / left.

    ``live_key`` is ``queue:patient:day`` while the entry is waiting, called or in a visit and NULL
    otherwise: its unique constraint keeps a patient in a queue once on every database. ``sort_key``
    orders the waiting patients (``ihos.queueing.ordering``; ties go to the earlier check-in).
    ``display_name`` is the masked name (张*三), the only name screens and events ever carry.
    """

    __tablename__ = "queue_entries"
    __table_args__ = (
        UniqueConstraint("queue_id", "booking_id"),
        Index("ix_queue_entries_queue_day_state", "queue_id", "queue_date", "state", "sort_key"),
        Index("ix_queue_entries_patient_day", "patient_id", "queue_date"),
    )

    queue_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("queues.id"))
    queue_date: Mapped[date] = mapped_column(Date)
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"))
    display_name: Mapped[str] = mapped_column(String(50))
    booking_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("bookings.id"))
    session_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("clinic_sessions.id"))
    display_number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10))  # booked, walk_in (当日挂号), order (检查检验)
    state: Mapped[str] = mapped_column(String(10))
    live_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    sort_key: Mapped[int] = mapped_column(BigInteger)
    checked_in_at: Mapped[datetime] = mapped_column()
    channel: Mapped[str] = mapped_column(String(10))  # kiosk, phone, nurse, system, transfer
    segment_starts_at: Mapped[datetime | None] = mapped_column()  # the booking's time segment
    segment_ends_at: Mapped[datetime | None] = mapped_column()
    period_ends_at: Mapped[datetime | None] = mapped_column()  # the end of the session (半天)
    priority_level: Mapped[int] = mapped_column(Integer, default=0)  # the level only, never why (SY-01)
    is_late: Mapped[bool] = mapped_column(Boolean, default=False)
    is_return: Mapped[bool] = mapped_column(Boolean, default=False)  # back after an exam (检查后复诊)
    awaiting_return: Mapped[bool] = mapped_column(Boolean, default=False)  # the doctor expects them back
    miss_count: Mapped[int] = mapped_column(Integer, default=0)
    call_count: Mapped[int] = mapped_column(Integer, default=0)
    called_at: Mapped[datetime | None] = mapped_column()
    called_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    called_to: Mapped[str | None] = mapped_column(String(30))  # where the call sent the patient
    visit_started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    end_reason: Mapped[str | None] = mapped_column(
        String(20)
    )  # visited, missed, transferred, left, day_ended
    transferred_from: Mapped[uuid.UUID | None] = mapped_column()  # the entry this one continues


class QueueEvent(IdMixin, Base):
    """An append-only log per queue: checked in, called, recalled, missed, returned, finished,
    transferred… ``seq`` counts from 1 without gaps; a screen or phone that reconnects asks for the events
    after the last one it has. ``payload`` is what was published (masked names only)."""

    __tablename__ = "queue_events"
    __table_args__ = (UniqueConstraint("queue_id", "seq"),)

    queue_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("queues.id"))
    seq: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(20))
    entry_id: Mapped[uuid.UUID | None] = mapped_column()
    occurred_at: Mapped[datetime] = mapped_column()
    payload: Mapped[dict[str, Any]] = mapped_column()


class ExamOrder(IdMixin, TimestampMixin, Base):
    """检查/检验申请: an exam or lab order received from the HIS, waiting for the patient to check in at its
    station (``pending``), in the station's queue (``queued``), or ``done`` / ``cancelled``.

    The patient is named by the blind index of the ID number, so an order for someone ihos does not know
    yet finds them once they register.
    """

    __tablename__ = "exam_orders"
    __table_args__ = (Index("ix_exam_orders_patient_day", "patient_index", "order_date"),)

    his_order_id: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # exam, lab
    patient_index: Mapped[str] = mapped_column(String(64))
    patient_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("patients.id"))
    display_name: Mapped[str] = mapped_column(String(50))  # masked
    station_code: Mapped[str] = mapped_column(String(50), index=True)
    station_name: Mapped[str] = mapped_column(String(50))
    item_name: Mapped[str] = mapped_column(String(100))
    ordered_at: Mapped[datetime] = mapped_column()
    order_date: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(10))
    entry_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("queue_entries.id"))


class QueueFeedCursor(TimestampMixin, Base):
    """How far a feed from a counterpart has been read (the HIS's orders: up to ``read_until``)."""

    __tablename__ = "queue_feed_cursors"

    feed: Mapped[str] = mapped_column(String(40), primary_key=True)
    read_until: Mapped[datetime] = mapped_column()


class QueueScreen(IdMixin, TimestampMixin, Base):
    """叫号屏: a TV at a room door (``queue_id``) or a hall big screen showing every queue of a department
    (``department_id``). It signs in with its token alone; only the SM3 digest of the token is stored."""

    __tablename__ = "queue_screens"

    name: Mapped[str] = mapped_column(String(50))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    campus_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campuses.id"), index=True)
    queue_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("queues.id"))
    department_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("departments.id"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column()
    last_seen_at: Mapped[datetime | None] = mapped_column()
