"""Queries for the slot pool: configuration lists, sessions with their places, the patient's directory
and schedules, and the staff's booking records. Campus-scoped reads take the caller's campuses."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, exists, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

# The availability rule of the hold itself (free, or held past expiry, or cooling past available_at): counts
# and boards use the very expression the race uses, so they can never disagree with it.
from ihos.booking.repository import place_available as available
from ihos.models.booking import Booking
from ihos.models.files import StoredFile
from ihos.models.organization import Campus, Department, Staff, StaffDepartment, StaffRole
from ihos.models.patients import Patient
from ihos.models.scheduling import (
    BookingChannel,
    ClinicSession,
    Holiday,
    RegistrationKind,
    ScheduleTemplate,
    Slot,
    SlotType,
)
from ihos.models.system import DepartmentRule
from ihos.security.fields import blind_index

DOCTOR_ROLE = "doctor"


def _in_campuses(column: Any, campus_ids: Collection[uuid.UUID] | None) -> ColumnElement[bool]:
    return column.in_(campus_ids) if campus_ids is not None else literal(True)


# configuration ---------------------------------------------------------------------------------------


async def slot_types(session: AsyncSession) -> Sequence[SlotType]:
    return (await session.scalars(select(SlotType).order_by(SlotType.sort_order, SlotType.code))).all()


async def channels(session: AsyncSession) -> Sequence[BookingChannel]:
    return (
        await session.scalars(select(BookingChannel).order_by(BookingChannel.sort_order, BookingChannel.code))
    ).all()


@dataclass(frozen=True)
class KindQuery:
    department_id: uuid.UUID | None = None
    doctor_id: uuid.UUID | None = None
    is_online: bool | None = None
    is_active: bool | None = None


async def registration_kinds(
    session: AsyncSession, query: KindQuery, campus_ids: Collection[uuid.UUID] | None
) -> Sequence[RegistrationKind]:
    statement = select(RegistrationKind).where(_in_campuses(RegistrationKind.campus_id, campus_ids))
    for column, value in (
        (RegistrationKind.department_id, query.department_id),
        (RegistrationKind.doctor_id, query.doctor_id),
        (RegistrationKind.is_online, query.is_online),
        (RegistrationKind.is_active, query.is_active),
    ):
        if value is not None:
            statement = statement.where(column == value)
    return (await session.scalars(statement.order_by(RegistrationKind.name, RegistrationKind.id))).all()


async def holidays(session: AsyncSession, date_from: date, date_to: date) -> Sequence[Holiday]:
    return (
        await session.scalars(
            select(Holiday).where(Holiday.day.between(date_from, date_to)).order_by(Holiday.day)
        )
    ).all()


async def open_sessions_on(session: AsyncSession, day: date) -> int:
    return (
        await session.scalar(
            select(func.count()).where(ClinicSession.session_date == day, ClinicSession.state == "open")
        )
        or 0
    )


async def templates(
    session: AsyncSession,
    *,
    registration_kind_id: uuid.UUID | None,
    department_id: uuid.UUID | None,
    is_active: bool | None,
    campus_ids: Collection[uuid.UUID] | None,
) -> Sequence[ScheduleTemplate]:
    statement = (
        select(ScheduleTemplate)
        .join(RegistrationKind, RegistrationKind.id == ScheduleTemplate.registration_kind_id)
        .where(_in_campuses(RegistrationKind.campus_id, campus_ids))
    )
    if registration_kind_id is not None:
        statement = statement.where(ScheduleTemplate.registration_kind_id == registration_kind_id)
    if department_id is not None:
        statement = statement.where(RegistrationKind.department_id == department_id)
    if is_active is not None:
        statement = statement.where(ScheduleTemplate.is_active == is_active)
    ordered = statement.order_by(
        RegistrationKind.name, ScheduleTemplate.weekday, ScheduleTemplate.starts, ScheduleTemplate.id
    )
    return (await session.scalars(ordered)).all()


async def overlapping_template(
    session: AsyncSession, template: ScheduleTemplate, exclude_id: uuid.UUID | None
) -> ScheduleTemplate | None:
    """An active template of the same kind, weekday and period whose dates overlap: the two would make
    the same session (one per kind, date and period)."""
    statement = select(ScheduleTemplate).where(
        ScheduleTemplate.registration_kind_id == template.registration_kind_id,
        ScheduleTemplate.weekday == template.weekday,
        ScheduleTemplate.period == template.period,
        ScheduleTemplate.is_active,
        or_(ScheduleTemplate.valid_until.is_(None), ScheduleTemplate.valid_until >= template.valid_from),
    )
    if template.valid_until is not None:
        statement = statement.where(ScheduleTemplate.valid_from <= template.valid_until)
    if exclude_id is not None:
        statement = statement.where(ScheduleTemplate.id != exclude_id)
    return await session.scalar(statement.limit(1))


async def doctor_departments(session: AsyncSession, doctor_id: uuid.UUID) -> set[uuid.UUID]:
    return set(
        (
            await session.scalars(
                select(StaffDepartment.department_id).where(StaffDepartment.staff_id == doctor_id)
            )
        ).all()
    )


async def department_overrides(session: AsyncSession, department_id: uuid.UUID) -> dict[str, int]:
    rows = await session.execute(
        select(DepartmentRule.key, DepartmentRule.value).where(DepartmentRule.department_id == department_id)
    )
    return dict(rows.tuples().all())


async def is_doctor(session: AsyncSession, staff_id: uuid.UUID) -> bool:
    found = await session.scalar(
        select(StaffRole.staff_id).where(StaffRole.staff_id == staff_id, StaffRole.role_code == DOCTOR_ROLE)
    )
    return found is not None


# sessions and their places ---------------------------------------------------------------------------


def _effective_status(at: datetime) -> ColumnElement[str]:
    return case((available(at), literal("free")), else_=Slot.status)


@dataclass(frozen=True)
class SessionRow:
    clinic: ClinicSession
    kind_name: str
    department_name: str
    doctor_name: str | None


def _sessions_with_names() -> Select[Any]:
    return (
        select(ClinicSession, RegistrationKind.name, Department.name, Staff.name)
        .join(RegistrationKind, RegistrationKind.id == ClinicSession.registration_kind_id)
        .join(Department, Department.id == ClinicSession.department_id)
        .outerjoin(Staff, Staff.id == ClinicSession.doctor_id)
    )


@dataclass(frozen=True)
class SessionQuery:
    date_from: date
    date_to: date
    department_id: uuid.UUID | None = None
    doctor_id: uuid.UUID | None = None
    registration_kind_id: uuid.UUID | None = None
    state: str | None = None
    is_online: bool | None = None


async def sessions(
    session: AsyncSession,
    query: SessionQuery,
    campus_ids: Collection[uuid.UUID] | None,
    *,
    ending_after: datetime | None = None,
    limit: int = 2_000,
) -> list[SessionRow]:
    statement = _sessions_with_names().where(
        ClinicSession.session_date.between(query.date_from, query.date_to),
        _in_campuses(ClinicSession.campus_id, campus_ids),
    )
    for column, value in (
        (ClinicSession.department_id, query.department_id),
        (ClinicSession.doctor_id, query.doctor_id),
        (ClinicSession.registration_kind_id, query.registration_kind_id),
        (ClinicSession.state, query.state),
        (ClinicSession.is_online, query.is_online),
    ):
        if value is not None:
            statement = statement.where(column == value)
    if ending_after is not None:
        statement = statement.where(ClinicSession.ends_at > ending_after)
    rows = await session.execute(
        statement.order_by(ClinicSession.starts_at, RegistrationKind.name, ClinicSession.id).limit(limit)
    )
    return [SessionRow(*row) for row in rows.all()]


async def session_row(session: AsyncSession, clinic_session_id: uuid.UUID) -> SessionRow | None:
    row = (await session.execute(_sessions_with_names().where(ClinicSession.id == clinic_session_id))).first()
    return SessionRow(*row) if row else None


async def place_counts(
    session: AsyncSession, session_ids: Collection[uuid.UUID], at: datetime
) -> dict[uuid.UUID, dict[str, dict[str, int]]]:
    """Places of each session by channel and effective status: {session: {channel: {status: n}}}."""
    if not session_ids:
        return {}
    places = (
        select(Slot.session_id, Slot.channel, _effective_status(at).label("status"))
        .where(Slot.session_id.in_(session_ids))
        .subquery()
    )
    # Grouped on a subquery's column: PostgreSQL cannot match a GROUP BY expression that holds parameters.
    rows = await session.execute(
        select(places.c.session_id, places.c.channel, places.c.status, func.count()).group_by(
            places.c.session_id, places.c.channel, places.c.status
        )
    )
    counts: dict[uuid.UUID, dict[str, dict[str, int]]] = {}
    for session_id, channel, status, count in rows.all():
        counts.setdefault(session_id, {}).setdefault(channel, {})[status] = count
    return counts


@dataclass(frozen=True)
class SegmentRow:
    starts_at: datetime
    ends_at: datetime
    channel: str
    available: int


async def segment_availability(
    session: AsyncSession, session_ids: Collection[uuid.UUID], at: datetime
) -> dict[uuid.UUID, list[SegmentRow]]:
    """Each session's time segments by channel, with how many of their places are available at ``at``
    (a segment with none available is listed too)."""
    if not session_ids:
        return {}
    rows = await session.execute(
        select(
            Slot.session_id,
            Slot.starts_at,
            Slot.ends_at,
            Slot.channel,
            func.sum(case((available(at), 1), else_=0)),
        )
        .where(Slot.session_id.in_(session_ids))
        .group_by(Slot.session_id, Slot.starts_at, Slot.ends_at, Slot.channel)
    )
    found: dict[uuid.UUID, list[SegmentRow]] = {session_id: [] for session_id in session_ids}
    for session_id, starts_at, ends_at, channel, free in rows.all():
        found[session_id].append(SegmentRow(starts_at, ends_at, channel, int(free or 0)))
    return found


@dataclass(frozen=True)
class PlaceRow:
    slot: Slot
    status: str
    booking: Booking | None
    patient_name: str | None


async def places(session: AsyncSession, clinic_session_id: uuid.UUID, at: datetime) -> list[PlaceRow]:
    rows = await session.execute(
        select(Slot, _effective_status(at), Booking, Patient.name)
        .outerjoin(Booking, Booking.id == Slot.booking_id)
        .outerjoin(Patient, Patient.id == Booking.patient_id)
        .where(Slot.session_id == clinic_session_id)
        .order_by(Slot.seq)
    )
    return [PlaceRow(*row) for row in rows.all()]


def _lapsed_hold(at: datetime) -> ColumnElement[bool]:
    return and_(Booking.state == "held", Booking.hold_expires_at < at)


async def live_bookings(session: AsyncSession, clinic_session_id: uuid.UUID, at: datetime) -> int:
    """Bookings that still claim a place: confirmed or arrived, or held and not yet lapsed."""
    return (
        await session.scalar(
            select(func.count()).where(
                Booking.session_id == clinic_session_id,
                Booking.state.in_(("held", "confirmed", "arrived")),
                ~_lapsed_hold(at),
            )
        )
        or 0
    )


async def block_available_places(session: AsyncSession, clinic_session_id: uuid.UUID, at: datetime) -> int:
    """Block every place nobody holds, with the hold's own condition: a place taken at the same moment is
    not blocked, and the caller sees it in the count."""
    blocked = await session.execute(
        update(Slot)
        .where(Slot.session_id == clinic_session_id, available(at))
        .values(status="blocked", hold_expires_at=None, available_at=None, booking_id=None)
        .execution_options(synchronize_session=False)
    )
    return int(blocked.rowcount)  # type: ignore[attr-defined]


async def end_lapsed_holds(session: AsyncSession, clinic_session_id: uuid.UUID, at: datetime) -> int:
    """Lapsed holds of the session end as the booking core ends them (their places are blocked now)."""
    ended = await session.execute(
        update(Booking)
        .where(Booking.session_id == clinic_session_id, _lapsed_hold(at))
        .values(state="expired", active_key=None, ended_at=at, end_reason="hold_expired")
        .execution_options(synchronize_session=False)
    )
    return int(ended.rowcount)  # type: ignore[attr-defined]


async def names(
    session: AsyncSession, *, department_ids: Collection[uuid.UUID], staff_ids: Collection[uuid.UUID]
) -> tuple[dict[uuid.UUID, str], dict[uuid.UUID, str]]:
    departments = (
        dict(
            (
                await session.execute(
                    select(Department.id, Department.name).where(Department.id.in_(department_ids))
                )
            )
            .tuples()
            .all()
        )
        if department_ids
        else {}
    )
    staff = (
        dict(
            (await session.execute(select(Staff.id, Staff.name).where(Staff.id.in_(staff_ids))))
            .tuples()
            .all()
        )
        if staff_ids
        else {}
    )
    return departments, staff


async def generated_sessions(
    session: AsyncSession,
    *,
    date_from: date,
    date_to: date,
    template_ids: Collection[uuid.UUID] | None,
    campus_ids: Collection[uuid.UUID] | None,
) -> int:
    """Sessions already generated from templates over the dates (generation leaves them as they are)."""
    statement = select(func.count()).where(
        ClinicSession.session_date.between(date_from, date_to),
        ClinicSession.template_id.is_not(None),
        _in_campuses(ClinicSession.campus_id, campus_ids),
    )
    if template_ids:
        statement = statement.where(ClinicSession.template_id.in_(template_ids))
    return await session.scalar(statement) or 0


async def templates_by_ids(session: AsyncSession, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """{template: its kind's campus}."""
    rows = await session.execute(
        select(ScheduleTemplate.id, RegistrationKind.campus_id)
        .join(RegistrationKind, RegistrationKind.id == ScheduleTemplate.registration_kind_id)
        .where(ScheduleTemplate.id.in_(ids))
    )
    return dict(rows.tuples().all())


async def sessions_awaiting_release(
    session: AsyncSession, at: datetime, department_id: uuid.UUID | None
) -> Sequence[ClinicSession]:
    """Open sessions not yet released, or whose channel quotas have not yet returned to the pool."""
    statement = select(ClinicSession).where(
        ClinicSession.state == "open", or_(ClinicSession.release_at > at, ClinicSession.pool_at > at)
    )
    if department_id is not None:
        statement = statement.where(ClinicSession.department_id == department_id)
    return (await session.scalars(statement)).all()


# staff records -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BookingQuery:
    date_from: date | None = None
    date_to: date | None = None
    department_id: uuid.UUID | None = None
    doctor_id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None
    channel: str | None = None
    state: str | None = None
    is_online: bool | None = None
    patient: str | None = None  # name, ID number or phone


@dataclass(frozen=True)
class BookingRow:
    booking: Booking
    clinic: ClinicSession
    kind_name: str
    department_name: str
    doctor_name: str | None
    patient: Patient
    segment_starts_at: datetime | None


async def search_bookings(
    session: AsyncSession,
    query: BookingQuery,
    campus_ids: Collection[uuid.UUID] | None,
    *,
    offset: int,
    limit: int,
) -> tuple[list[BookingRow], int]:
    statement = (
        select(Booking.id)
        .join(ClinicSession, ClinicSession.id == Booking.session_id)
        .where(_in_campuses(ClinicSession.campus_id, campus_ids))
    )
    if query.date_from is not None:
        statement = statement.where(ClinicSession.session_date >= query.date_from)
    if query.date_to is not None:
        statement = statement.where(ClinicSession.session_date <= query.date_to)
    for column, value in (
        (ClinicSession.department_id, query.department_id),
        (ClinicSession.doctor_id, query.doctor_id),
        (ClinicSession.id, query.session_id),
        (ClinicSession.is_online, query.is_online),
        (Booking.channel, query.channel),
        (Booking.state, query.state),
    ):
        if value is not None:
            statement = statement.where(column == value)
    if query.patient:
        text = query.patient.strip()
        statement = statement.where(
            Booking.patient_id.in_(
                select(Patient.id).where(
                    or_(
                        Patient.name == text,
                        Patient.id_number_index == blind_index(text, kind="id_number"),
                        Patient.phone_index == blind_index(text, kind="phone"),
                    )
                )
            )
        )
    total = await session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    page = statement.order_by(Booking.created_at.desc(), Booking.id).offset(offset).limit(limit).subquery()
    slot = aliased(Slot)
    rows = await session.execute(
        select(
            Booking,
            ClinicSession,
            RegistrationKind.name,
            Department.name,
            Staff.name,
            Patient,
            slot.starts_at,
        )
        .join(page, page.c.id == Booking.id)
        .join(ClinicSession, ClinicSession.id == Booking.session_id)
        .join(RegistrationKind, RegistrationKind.id == ClinicSession.registration_kind_id)
        .join(Department, Department.id == ClinicSession.department_id)
        .outerjoin(Staff, Staff.id == ClinicSession.doctor_id)
        .join(Patient, Patient.id == Booking.patient_id)
        .outerjoin(slot, slot.id == Booking.slot_id)
        .order_by(Booking.created_at.desc(), Booking.id)
    )
    return [BookingRow(*row) for row in rows.all()], total


@dataclass(frozen=True)
class OwnBookingRow:
    booking: Booking
    patient_name: str
    segment_starts_at: datetime | None


async def bookings_of_sessions(
    session: AsyncSession, session_ids: Collection[uuid.UUID], at: datetime
) -> dict[uuid.UUID, list[OwnBookingRow]]:
    """The bookings a doctor expects: confirmed, arrived, completed, no-show, and holds not yet lapsed."""
    if not session_ids:
        return {}
    rows = await session.execute(
        select(Booking, Patient.name, Slot.starts_at)
        .join(Patient, Patient.id == Booking.patient_id)
        .outerjoin(Slot, Slot.id == Booking.slot_id)
        .where(
            Booking.session_id.in_(session_ids),
            Booking.state.in_(("held", "confirmed", "arrived", "completed", "no_show")),
            ~_lapsed_hold(at),
        )
        .order_by(Booking.seq)
    )
    found: dict[uuid.UUID, list[OwnBookingRow]] = {session_id: [] for session_id in session_ids}
    for booking, name, starts_at in rows.all():
        found[booking.session_id].append(OwnBookingRow(booking, name, starts_at))
    return found


# the patient's directory -------------------------------------------------------------------------------


def _has_clinic(department_id: Any) -> ColumnElement[bool]:
    return exists(
        select(RegistrationKind.id)
        .join(SlotType, SlotType.code == RegistrationKind.slot_type_code)
        .where(
            RegistrationKind.department_id == department_id, RegistrationKind.is_active, SlotType.is_active
        )
    )


@dataclass(frozen=True)
class DepartmentRow:
    department: Department
    parent_name: str | None


async def clinic_departments(
    session: AsyncSession, *, campus_id: uuid.UUID | None = None, name: str | None = None
) -> list[DepartmentRow]:
    """Active departments of active campuses that hold clinics, in the campuses' and the tree's order."""
    parent = aliased(Department)
    statement = (
        select(Department, parent.name)
        .join(Campus, Campus.id == Department.campus_id)
        .outerjoin(parent, parent.id == Department.parent_id)
        .where(Department.is_active, Campus.is_active, _has_clinic(Department.id))
    )
    if campus_id is not None:
        statement = statement.where(Department.campus_id == campus_id)
    if name:
        statement = statement.where(Department.name.contains(name, autoescape=True))
    rows = await session.execute(
        statement.order_by(
            Campus.sort_order, Campus.code, parent.sort_order, Department.sort_order, Department.code
        )
    )
    return [DepartmentRow(*row) for row in rows.all()]


async def campuses(session: AsyncSession, ids: Collection[uuid.UUID]) -> Sequence[Campus]:
    if not ids:
        return []
    return (
        await session.scalars(
            select(Campus).where(Campus.id.in_(ids)).order_by(Campus.sort_order, Campus.code)
        )
    ).all()


async def department(session: AsyncSession, department_id: uuid.UUID) -> Department | None:
    return await session.get(Department, department_id)


async def doctors(
    session: AsyncSession,
    *,
    department_id: uuid.UUID | None = None,
    doctor_id: uuid.UUID | None = None,
    name: str | None = None,
    limit: int = 500,
) -> Sequence[Staff]:
    """Active staff holding the doctor role (in the department, or by name), whether they hold a clinic
    or not; the caller orders them by title and rank."""
    statement = select(Staff).where(
        Staff.is_active,
        Staff.id.in_(select(StaffRole.staff_id).where(StaffRole.role_code == DOCTOR_ROLE)),
    )
    if department_id is not None:
        statement = statement.where(
            Staff.id.in_(
                select(StaffDepartment.staff_id).where(StaffDepartment.department_id == department_id)
            )
        )
    if doctor_id is not None:
        statement = statement.where(Staff.id == doctor_id)
    if name:
        statement = statement.where(Staff.name.contains(name, autoescape=True))
    return (await session.scalars(statement.order_by(Staff.rank, Staff.name, Staff.id).limit(limit))).all()


async def department_names_of(
    session: AsyncSession, staff_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[str]]:
    if not staff_ids:
        return {}
    rows = await session.execute(
        select(StaffDepartment.staff_id, Department.name)
        .join(Department, Department.id == StaffDepartment.department_id)
        .where(StaffDepartment.staff_id.in_(staff_ids), Department.is_active)
        .order_by(Department.sort_order, Department.code)
    )
    found: dict[uuid.UUID, list[str]] = {}
    for staff_id, name in rows.all():
        found.setdefault(staff_id, []).append(name)
    return found


@dataclass(frozen=True)
class KindRow:
    kind: RegistrationKind
    slot_type: SlotType


async def bookable_kinds(session: AsyncSession, *, doctor_ids: Collection[uuid.UUID]) -> list[KindRow]:
    """Active registration kinds of active slot types, of the doctors."""
    statement = (
        select(RegistrationKind, SlotType)
        .join(SlotType, SlotType.code == RegistrationKind.slot_type_code)
        .where(RegistrationKind.is_active, SlotType.is_active)
    )
    statement = statement.where(RegistrationKind.doctor_id.in_(doctor_ids))
    rows = await session.execute(statement.order_by(SlotType.sort_order, RegistrationKind.name))
    return [KindRow(*row) for row in rows.all()]


async def professional_titles(
    session: AsyncSession, staff_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, str]:
    rows = await session.execute(
        select(Staff.id, Staff.professional_title).where(
            Staff.id.in_(staff_ids), Staff.professional_title.is_not(None)
        )
    )
    return {staff_id: title for staff_id, title in rows.tuples().all() if title}


async def kinds_with_types(
    session: AsyncSession, kind_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, KindRow]:
    """Kinds by id with their slot types, retired or not (a session outlives a kind's retirement)."""
    if not kind_ids:
        return {}
    rows = await session.execute(
        select(RegistrationKind, SlotType)
        .join(SlotType, SlotType.code == RegistrationKind.slot_type_code)
        .where(RegistrationKind.id.in_(kind_ids))
    )
    return {kind.id: KindRow(kind, slot_type) for kind, slot_type in rows.all()}


async def stored_files(session: AsyncSession, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, StoredFile]:
    if not ids:
        return {}
    return {f.id: f for f in (await session.scalars(select(StoredFile).where(StoredFile.id.in_(ids)))).all()}


async def weekly_clinics(
    session: AsyncSession,
    *,
    today: date,
    doctor_id: uuid.UUID | None = None,
    department_id: uuid.UUID | None = None,
) -> list[tuple[ScheduleTemplate, str]]:
    """The active templates in force today or later of a doctor's or a department's active kinds."""
    statement = (
        select(ScheduleTemplate, RegistrationKind.name)
        .join(RegistrationKind, RegistrationKind.id == ScheduleTemplate.registration_kind_id)
        .join(SlotType, SlotType.code == RegistrationKind.slot_type_code)
        .where(
            ScheduleTemplate.is_active,
            RegistrationKind.is_active,
            SlotType.is_active,
            or_(ScheduleTemplate.valid_until.is_(None), ScheduleTemplate.valid_until >= today),
        )
    )
    if doctor_id is not None:
        statement = statement.where(RegistrationKind.doctor_id == doctor_id)
    if department_id is not None:
        statement = statement.where(RegistrationKind.department_id == department_id)
    rows = await session.execute(
        statement.order_by(ScheduleTemplate.weekday, ScheduleTemplate.starts, RegistrationKind.name)
    )
    return [(template, name) for template, name in rows.tuples().all()]
