"""Arrival and no-show: the HIS or a kiosk (system API) or a nurse records that the patient came (签到) or
did not; a sweep ends what nobody recorded once the session is over: confirmed bookings become
``no_show`` (a blacklist event), arrived ones ``completed``.

The sweep trusts that arrivals are reported: a hospital whose HIS does not report them switches no-show
tracking off (rule ``booking.no_show_tracking``), and unrecorded bookings then simply end as completed.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.audit import service as audit
from ihos.auth.caller import Caller
from ihos.backoffice.rules import get_rule
from ihos.booking import blacklist, repository
from ihos.booking.access import SYSTEM
from ihos.booking.cancellation import staff_booking
from ihos.booking.service import end_booking
from ihos.errors import Conflict
from ihos.kit.time import local_today, now
from ihos.models.booking import Booking
from ihos.models.scheduling import ClinicSession

SWEEP_BATCH = 200


class NotConfirmed(Conflict):
    code = "booking_not_confirmed"
    default_message = "该预约不是已预约（待就诊）状态"


class NotSessionDay(Conflict):
    code = "not_session_day"
    default_message = "只能在就诊当日签到"


class SessionNotStarted(Conflict):
    code = "session_not_started"
    default_message = "出诊尚未开始，不能登记爽约"


async def mark_arrived(session: AsyncSession, caller: Caller, booking_id: uuid.UUID) -> Booking:
    booking = await staff_booking(session, caller, booking_id)
    clinic = await session.get_one(ClinicSession, booking.session_id)
    if booking.state != "confirmed":
        raise NotConfirmed()
    if clinic.session_date != local_today():
        raise NotSessionDay()
    at = now()
    arrived = await session.execute(
        update(Booking)
        .where(Booking.id == booking.id, Booking.state == "confirmed")
        .values(state="arrived", arrived_at=at)
        .execution_options(synchronize_session=False)
    )
    if arrived.rowcount != 1:  # type: ignore[attr-defined]
        raise NotConfirmed()
    await session.refresh(booking)
    await audit.record(
        session, caller, "booking.arrive", target_kind="bookings", target_id=booking.booking_number
    )
    return booking


async def mark_no_show(
    session: AsyncSession, caller: Caller, booking_id: uuid.UUID
) -> tuple[Booking, blacklist.Standing | None]:
    booking = await staff_booking(session, caller, booking_id)
    clinic = await session.get_one(ClinicSession, booking.session_id)
    if booking.state != "confirmed":
        raise NotConfirmed()
    at = now()
    if at < clinic.starts_at:
        raise SessionNotStarted()
    if not await end_booking(session, booking, state="no_show", reason="no_show", at=at):
        raise NotConfirmed()
    standing = await blacklist.record_event(session, booking, kind="no_show", at=at)
    await audit.record(
        session, caller, "booking.no_show", target_kind="bookings", target_id=booking.booking_number
    )
    return booking, standing


async def settle_ended_sessions(session: AsyncSession) -> int:
    """The sweep: no-shows for confirmed bookings, completion for arrived ones. Returns how many confirmed
    bookings it settled (the caller runs it again while a whole batch was settled)."""
    at = now()
    # time for the HIS to report late arrivals
    cutoff = at - timedelta(minutes=await get_rule(session, "booking.settle_after_minutes"))
    tracking = bool(await get_rule(session, "booking.no_show_tracking"))
    ended_sessions = select(ClinicSession.id).where(ClinicSession.ends_at <= cutoff)
    await session.execute(
        update(Booking)
        .where(Booking.state == "arrived", Booking.session_id.in_(ended_sessions))
        .values(state="completed", active_key=None, ended_at=at, end_reason="visited")
        .execution_options(synchronize_session=False)
    )
    marked = 0
    for booking in await repository.confirmed_bookings_ended_before(session, cutoff, limit=SWEEP_BATCH):
        if not tracking:
            await end_booking(session, booking, state="completed", reason="attendance_not_tracked", at=at)
            marked += 1  # settled: the sweep's batch count, not no-shows
            continue
        if await end_booking(session, booking, state="no_show", reason="no_show", at=at):
            await blacklist.record_event(session, booking, kind="no_show", at=at)
            await audit.record(
                session, SYSTEM, "booking.no_show", target_kind="bookings", target_id=booking.booking_number
            )
            marked += 1
    return marked
