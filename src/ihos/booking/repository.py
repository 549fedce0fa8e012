"""Queries for bookings: a booking with what it is for (session, clinic, department, doctor, time segment,
order), the bookings an account may see, places left by channel, and the rows the sweeps pick up."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from ihos.models.billing import Order
from ihos.models.booking import Booking
from ihos.models.organization import Campus, Department, Staff
from ihos.models.patients import AccountPatient, Patient
from ihos.models.scheduling import ClinicSession, RegistrationKind, Slot

# What a patient or a member of staff may ask for; "held" and "expired" account for holds that lapsed
# before the sweep tidied them (lazy expiry).
STATES = ("held", "confirmed", "arrived", "completed", "cancelled", "expired", "no_show")


@dataclass(frozen=True)
class BookingRow:
    """A booking with everything shown beside it."""

    booking: Booking
    clinic: ClinicSession
    kind: RegistrationKind
    department: Department
    campus: Campus
    slot: Slot
    patient: Patient
    doctor: Staff | None
    order: Order | None


def _booking_rows() -> Select[
    tuple[Booking, ClinicSession, RegistrationKind, Department, Campus, Slot, Patient, Staff, Order]
]:
    doctor = aliased(Staff)
    return (
        select(Booking, ClinicSession, RegistrationKind, Department, Campus, Slot, Patient, doctor, Order)
        .join(ClinicSession, ClinicSession.id == Booking.session_id)
        .join(RegistrationKind, RegistrationKind.id == ClinicSession.registration_kind_id)
        .join(Department, Department.id == ClinicSession.department_id)
        .join(Campus, Campus.id == ClinicSession.campus_id)
        .join(Slot, Slot.id == Booking.slot_id)
        .join(Patient, Patient.id == Booking.patient_id)
        .outerjoin(doctor, doctor.id == ClinicSession.doctor_id)
        .outerjoin(Order, Order.order_number == Booking.order_number)
    )


def state_is(state: str, at: datetime) -> ColumnElement[bool]:
    """The state as the patient sees it: a hold past its expiry is expired even before the sweep runs."""
    if state == "held":
        return and_(Booking.state == "held", Booking.hold_expires_at > at)
    if state == "expired":
        return or_(Booking.state == "expired", and_(Booking.state == "held", Booking.hold_expires_at <= at))
    return Booking.state == state


def visible_to_account(account_id: uuid.UUID) -> ColumnElement[bool]:
    """Bookings of the patients the account holds, wherever they were made (app, window, kiosk, HIS),
    and the bookings the account made itself."""
    held = select(AccountPatient.patient_id).where(AccountPatient.account_id == account_id)
    return or_(Booking.patient_id.in_(held), Booking.account_id == account_id)


async def booking_rows(
    session: AsyncSession,
    *conditions: ColumnElement[bool],
    offset: int = 0,
    limit: int = 20,
) -> tuple[list[BookingRow], int]:
    query = _booking_rows().where(*conditions)
    total = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = await session.execute(
        query.order_by(ClinicSession.starts_at.desc(), Booking.seq).offset(offset).limit(limit)
    )
    return [BookingRow(*row) for row in rows.all()], total


async def booking_by_number(session: AsyncSession, number: str) -> Booking | None:
    return await session.scalar(select(Booking).where(Booking.booking_number == number))


async def booking_row(session: AsyncSession, booking_id: uuid.UUID) -> BookingRow | None:
    row = (
        await session.execute(
            _booking_rows().where(Booking.id == booking_id).execution_options(populate_existing=True)
        )
    ).first()
    return BookingRow(*row) if row else None


# ---------------------------------------------------------------------------------------------
# places left


def place_available(at: Any) -> ColumnElement[bool]:
    """Free to take now: free, or given back (the hold's own conditions, see booking.service._take_place)."""
    return or_(Slot.status == "free", place_given_back(at))


def place_given_back(at: Any) -> ColumnElement[bool]:
    """A place whose hold lapsed unpaid, or whose cooling-down after a cancellation is over: free to take
    before any sweep tidies it ("lazy expiry")."""
    return or_(
        and_(Slot.status == "held", Slot.hold_expires_at < at),
        and_(Slot.status == "cooling", Slot.available_at <= at),
    )


def place_for_channel(channel: str, at: datetime) -> ColumnElement[bool]:
    """A channel's own places and the shared pool; every unbooked place once the session's pool_at passed."""
    return or_(ClinicSession.pool_at <= at, Slot.channel.in_((channel, "pool")))


@dataclass(frozen=True)
class SessionPlaces:
    clinic: ClinicSession
    kind: RegistrationKind
    department: Department
    campus: Campus
    doctor: Staff | None
    available: int


async def sessions_with_places(
    session: AsyncSession,
    *,
    channel: str,
    at: datetime,
    date_from: date,
    date_to: date,
    registration_kind_id: uuid.UUID | None = None,
    department_id: uuid.UUID | None = None,
    campus_ids: frozenset[uuid.UUID] | None = None,
    clinic_session_id: uuid.UUID | None = None,
    limit: int = 200,
) -> list[SessionPlaces]:
    """Open sessions in the date range, with how many places ``channel`` could take now."""
    available = (
        select(func.count())
        .select_from(Slot)
        .where(
            Slot.session_id == ClinicSession.id,
            place_available(at),
            place_for_channel(channel, at),
        )
        .correlate(ClinicSession)
        .scalar_subquery()
    )
    doctor = aliased(Staff)
    query = (
        select(ClinicSession, RegistrationKind, Department, Campus, doctor, available)
        .join(RegistrationKind, RegistrationKind.id == ClinicSession.registration_kind_id)
        .join(Department, Department.id == ClinicSession.department_id)
        .join(Campus, Campus.id == ClinicSession.campus_id)
        .outerjoin(doctor, doctor.id == ClinicSession.doctor_id)
        .where(
            ClinicSession.state == "open",
            ClinicSession.ends_at > at,
            ClinicSession.session_date >= date_from,
            ClinicSession.session_date <= date_to,
        )
        .order_by(ClinicSession.starts_at, RegistrationKind.name)
        .limit(limit)
    )
    if registration_kind_id is not None:
        query = query.where(ClinicSession.registration_kind_id == registration_kind_id)
    if department_id is not None:
        query = query.where(ClinicSession.department_id == department_id)
    if campus_ids is not None:
        query = query.where(ClinicSession.campus_id.in_(campus_ids))
    if clinic_session_id is not None:
        query = query.where(ClinicSession.id == clinic_session_id)
    rows = await session.execute(query)
    return [SessionPlaces(*row) for row in rows.all()]


@dataclass(frozen=True)
class SegmentPlaces:
    starts_at: datetime
    ends_at: datetime
    available: int


async def places_by_segment(
    session: AsyncSession, clinic: ClinicSession, *, channel: str, at: datetime
) -> list[SegmentPlaces]:
    rows = await session.execute(
        select(
            Slot.starts_at,
            Slot.ends_at,
            func.count().filter(and_(place_available(at), place_for_channel(channel, at))),
        )
        .join(ClinicSession, ClinicSession.id == Slot.session_id)
        .where(Slot.session_id == clinic.id)
        .group_by(Slot.starts_at, Slot.ends_at)
        .order_by(Slot.starts_at)
    )
    return [SegmentPlaces(starts, ends, count) for starts, ends, count in rows.all()]


# ---------------------------------------------------------------------------------------------
# for the sweeps


async def confirmed_bookings_ended_before(
    session: AsyncSession, cutoff: datetime, *, limit: int
) -> Sequence[Booking]:
    """Confirmed bookings (nobody arrived) of sessions that ended before ``cutoff``."""
    return (
        await session.scalars(
            select(Booking)
            .join(ClinicSession, ClinicSession.id == Booking.session_id)
            .where(Booking.state == "confirmed", ClinicSession.ends_at <= cutoff)
            .order_by(ClinicSession.ends_at, Booking.id)
            .limit(limit)
        )
    ).all()


async def bookings_to_remind(
    session: AsyncSession, *, day: date, confirmed_before: datetime, limit: int
) -> Sequence[Booking]:
    return (
        await session.scalars(
            select(Booking)
            .join(ClinicSession, ClinicSession.id == Booking.session_id)
            .where(
                Booking.state == "confirmed",
                Booking.reminded_at.is_(None),
                Booking.confirmed_at < confirmed_before,
                ClinicSession.session_date == day,
                ClinicSession.state == "open",
            )
            .order_by(Booking.id)
            .limit(limit)
        )
    ).all()


async def live_bookings_of_sessions(
    session: AsyncSession, session_ids: Sequence[uuid.UUID]
) -> Sequence[Booking]:
    """Bookings a suspension must end: held or confirmed (a patient who already arrived is being seen)."""
    if not session_ids:
        return []
    return (
        await session.scalars(
            select(Booking)
            .where(Booking.session_id.in_(session_ids), Booking.state.in_(("held", "confirmed")))
            .order_by(Booking.session_id, Booking.seq)
        )
    ).all()
