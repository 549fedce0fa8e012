"""Suspensions (停诊, SL-05): one session (temporary) or a doctor's or clinic's sessions over a date range
(long-term). The sessions are suspended, their free places blocked, every held or confirmed booking
cancelled and refunded automatically through billing, the patients told by SMS, and a suspension notice
published for the patient app (PT-21).

Running the same suspension again is harmless: it finds its row by ``scope_key`` and applies it to what
is not suspended yet (sessions generated since, bookings that slipped in), counting only what it changed.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.audit import service as audit
from ihos.auth.caller import Caller
from ihos.billing import refunds
from ihos.booking import messages, repository
from ihos.booking.cancellation import close_order_soon, refundable_payment
from ihos.booking.service import ClinicSessionNotFound
from ihos.db import insert_unique
from ihos.errors import Conflict, InvalidInput, NotFound
from ihos.kit.time import now, start_of_local_day
from ihos.models.booking import Booking
from ihos.models.organization import Department, Staff
from ihos.models.scheduling import ClinicSession, Notice, RegistrationKind, Slot, Suspension

LONGEST = timedelta(days=366)


class SessionNotOpen(Conflict):
    code = "session_not_open"
    default_message = "该场次已停诊、已取消或已结束"


class InvalidSuspension(InvalidInput):
    code = "invalid_suspension"
    default_message = "停诊范围不正确"


class DoctorNotFound(NotFound):
    code = "doctor_not_found"
    default_message = "医生不存在"


class RegistrationKindNotFound(NotFound):
    code = "registration_kind_not_found"
    default_message = "号别不存在"


@dataclass(frozen=True)
class Applied:
    suspension: Suspension
    sessions: int  # suspended by this run
    bookings: int  # cancelled by this run
    notice: Notice


async def suspend_session(
    session: AsyncSession, caller: Caller, *, clinic_session_id: uuid.UUID, reason: str
) -> Applied:
    """临时停诊: one session."""
    clinic = await session.get(ClinicSession, clinic_session_id)
    if clinic is None or not caller.may_see_campus(clinic.campus_id):
        raise ClinicSessionNotFound()
    scope_key = f"session:{clinic.id}"
    existing = await session.scalar(select(Suspension).where(Suspension.scope_key == scope_key))
    if existing is None and (clinic.state != "open" or clinic.ends_at <= now()):
        raise SessionNotOpen()
    suspension = existing or await _create(
        session,
        caller,
        Suspension(
            kind="temporary",
            scope_key=scope_key,
            doctor_id=clinic.doctor_id,
            registration_kind_id=clinic.registration_kind_id,
            session_id=clinic.id,
            date_from=clinic.session_date,
            date_to=clinic.session_date,
            reason=reason,
            created_by=caller.id if caller.is_staff else None,
        ),
    )
    return await _apply(session, caller, suspension)


async def suspend_clinics(
    session: AsyncSession,
    caller: Caller,
    *,
    doctor_id: uuid.UUID | None,
    registration_kind_id: uuid.UUID | None,
    date_from: date,
    date_to: date,
    reason: str,
) -> Applied:
    """长期停诊: a doctor's sessions (or one registration kind's) from ``date_from`` to ``date_to``."""
    if (doctor_id is None) == (registration_kind_id is None):
        raise InvalidSuspension("请指定医生或号别（二选一）")
    if date_to < date_from or date_to - date_from > LONGEST:
        raise InvalidSuspension("停诊日期范围不正确（最长一年）")
    if doctor_id is not None:
        if await session.get(Staff, doctor_id) is None:
            raise DoctorNotFound()
        scope_key = f"doctor:{doctor_id}:{date_from}:{date_to}"
    else:
        if await session.get(RegistrationKind, registration_kind_id) is None:
            raise RegistrationKindNotFound()
        scope_key = f"kind:{registration_kind_id}:{date_from}:{date_to}"
    existing = await session.scalar(select(Suspension).where(Suspension.scope_key == scope_key))
    suspension = existing or await _create(
        session,
        caller,
        Suspension(
            kind="long_term",
            scope_key=scope_key,
            doctor_id=doctor_id,
            registration_kind_id=registration_kind_id,
            date_from=date_from,
            date_to=date_to,
            reason=reason,
            created_by=caller.id if caller.is_staff else None,
        ),
    )
    return await _apply(session, caller, suspension)


async def _create(session: AsyncSession, caller: Caller, suspension: Suspension) -> Suspension:
    if not await insert_unique(session, suspension):
        # The same suspension made a moment ago by someone else: apply that one.
        found = await session.scalar(select(Suspension).where(Suspension.scope_key == suspension.scope_key))
        if found is None:  # pragma: no cover - the unique key refused it, so it exists
            raise SessionNotOpen()
        return found
    await audit.record(
        session,
        caller,
        "suspension.create",
        target_kind="suspensions",
        target_id=suspension.id,
        details={
            "kind": suspension.kind,
            "scope": suspension.scope_key,
            "reason": suspension.reason,
        },
    )
    return suspension


async def _sessions_in_scope(
    session: AsyncSession, caller: Caller, suspension: Suspension
) -> list[ClinicSession]:
    at = now()
    query = select(ClinicSession).where(
        or_(
            ClinicSession.state == "open",
            and_(ClinicSession.state == "suspended", ClinicSession.suspension_id == suspension.id),
        ),
        ClinicSession.ends_at > at,
    )
    if suspension.session_id is not None:
        query = query.where(ClinicSession.id == suspension.session_id)
    else:
        query = query.where(
            ClinicSession.session_date >= suspension.date_from,
            ClinicSession.session_date <= suspension.date_to,
        )
        if suspension.doctor_id is not None:
            query = query.where(ClinicSession.doctor_id == suspension.doctor_id)
        else:
            query = query.where(ClinicSession.registration_kind_id == suspension.registration_kind_id)
    if caller.campus_ids is not None:
        query = query.where(ClinicSession.campus_id.in_(caller.campus_ids))
    return list((await session.scalars(query.order_by(ClinicSession.starts_at))).all())


async def _apply(session: AsyncSession, caller: Caller, suspension: Suspension) -> Applied:
    at = now()
    clinics = await _sessions_in_scope(session, caller, suspension)
    ids = [clinic.id for clinic in clinics]
    newly = 0
    for clinic in clinics:
        moved = await session.execute(
            update(ClinicSession)
            .where(ClinicSession.id == clinic.id, ClinicSession.state == "open")
            .values(state="suspended", suspension_id=suspension.id, updated_at=at)
            .execution_options(synchronize_session=False)
        )
        newly += moved.rowcount  # type: ignore[attr-defined]
    # Block the places nobody holds before looking for bookings: a hold racing this suspension either
    # took its place before (and its booking is found below) or finds nothing left to take.
    if ids:
        await session.execute(
            update(Slot)
            .where(Slot.session_id.in_(ids), repository.place_available(at))
            .values(status="blocked", hold_expires_at=None, available_at=None, booking_id=None)
            .execution_options(synchronize_session=False)
        )
    cancelled = 0
    for booking in await repository.live_bookings_of_sessions(session, ids):
        if await _cancel_for_suspension(session, booking, at=at):
            cancelled += 1
    suspension.sessions_affected += newly
    suspension.bookings_cancelled += cancelled
    notice = await _publish_notice(session, suspension, clinics)
    await session.flush()
    await audit.record(
        session,
        caller,
        "suspension.apply",
        target_kind="suspensions",
        target_id=suspension.id,
        details={"sessions": newly, "bookings": cancelled},
    )
    return Applied(suspension, newly, cancelled, notice)


async def _cancel_for_suspension(session: AsyncSession, booking: Booking, *, at: datetime) -> bool:
    was_held = booking.state == "held"
    # A hold that lapsed before the suspension simply expired: nothing to tell its patient.
    lapsed = was_held and booking.hold_expires_at is not None and booking.hold_expires_at <= at
    ended = await session.execute(
        update(Booking)
        .where(Booking.id == booking.id, Booking.state == booking.state)
        .values(
            state="expired" if lapsed else "cancelled",
            active_key=None,
            ended_at=at,
            end_reason="hold_expired" if lapsed else "suspended",
        )
        .execution_options(synchronize_session=False)
    )
    if ended.rowcount != 1:  # type: ignore[attr-defined]
        return False
    await session.refresh(booking)
    await session.execute(
        update(Slot)
        .where(Slot.id == booking.slot_id, Slot.booking_id == booking.id)
        .values(status="blocked", hold_expires_at=None, available_at=None, booking_id=None)
        .execution_options(synchronize_session=False)
    )
    refund_fen = 0
    at_counter = False
    if was_held:
        if booking.order_number is not None:
            await close_order_soon(session, booking.order_number)
    else:
        payment = await refundable_payment(session, booking)
        if payment is not None:
            refund = await refunds.refund_automatically(session, payment, reason="停诊，退还挂号费")
            refund_fen = refund.amount_fen
        elif booking.counter_payment:
            refund_fen, at_counter = booking.fee_fen, True
    if lapsed:
        return False
    await messages.suspended(session, booking, refund_fen=refund_fen, at_counter=at_counter)
    return True


async def _publish_notice(
    session: AsyncSession, suspension: Suspension, clinics: Sequence[ClinicSession]
) -> Notice:
    existing = await session.scalar(select(Notice).where(Notice.suspension_id == suspension.id))
    if existing is not None:
        return existing
    title, body = await _notice_text(session, suspension, clinics)
    notice = Notice(
        kind="suspension",
        title=title[:100],
        body=body,
        published_at=now(),
        expires_at=start_of_local_day(suspension.date_to + timedelta(days=1)),
        suspension_id=suspension.id,
    )
    session.add(notice)
    await session.flush()
    return notice


async def _notice_text(
    session: AsyncSession, suspension: Suspension, clinics: Sequence[ClinicSession]
) -> tuple[str, str]:
    who = ""
    department = ""
    if suspension.doctor_id is not None:
        doctor = await session.get_one(Staff, suspension.doctor_id)
        who = f"{doctor.name}医生"
    if suspension.registration_kind_id is not None:
        kind = await session.get_one(RegistrationKind, suspension.registration_kind_id)
        department = (await session.get_one(Department, kind.department_id)).name
        who = who or kind.name
    elif clinics:
        department = (await session.get_one(Department, clinics[0].department_id)).name
    if suspension.kind == "temporary" and clinics:
        when = f"{clinics[0].session_date:%m月%d日}{messages.PERIODS.get(clinics[0].period, '')}"
    elif suspension.date_from == suspension.date_to:
        when = f"{suspension.date_from:%m月%d日}"
    else:
        when = f"{suspension.date_from:%m月%d日}至{suspension.date_to:%m月%d日}"
    subject = " ".join(part for part in (department, who) if part)
    title = f"停诊公告：{subject}"
    body = (
        f"{subject}{when}门诊停诊（{suspension.reason}）。已预约的患者，预约已取消，"
        "在线支付的挂号费将原路退回，窗口缴费的请凭缴费凭证到挂号窗口退费，并已短信通知。给您带来不便，敬请谅解。"
    )
    return title, body


# ---------------------------------------------------------------------------------------------
# reading


async def current_notices(session: AsyncSession, *, kind: str | None, limit: int = 50) -> Sequence[Notice]:
    at = now()
    query = select(Notice).where(
        Notice.published_at <= at, or_(Notice.expires_at.is_(None), Notice.expires_at > at)
    )
    if kind is not None:
        query = query.where(Notice.kind == kind)
    return (await session.scalars(query.order_by(Notice.published_at.desc()).limit(limit))).all()


async def list_suspensions(
    session: AsyncSession, *, date_from: date | None, offset: int, limit: int
) -> tuple[Sequence[Suspension], int]:
    query = select(Suspension)
    if date_from is not None:
        query = query.where(Suspension.date_to >= date_from)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(query.order_by(Suspension.created_at.desc()).offset(offset).limit(limit))
    return rows.all(), total
