"""Background work of booking: closing the orders of cancelled holds, tidying expired holds, settling
ended sessions (no-shows, completed visits) and the day-before reminders.

Correctness never waits for these: an expired hold is free for the next booker at once (lazy expiry).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.backoffice.rules import get_department_rule, get_rule
from ihos.billing import service as billing
from ihos.booking import attendance, cancellation, messages, repository
from ihos.booking import service as _service  # registers what happens when a registration is paid
from ihos.jobs import handler, sweep
from ihos.kit.time import hospital_zone, local_now, local_today, now
from ihos.models.booking import Booking
from ihos.models.scheduling import ClinicSession, Slot

_ = _service
REMIND_BATCH = 200


@handler(cancellation.CLOSE_ORDER_JOB)
async def close_order(session: AsyncSession, payload: dict[str, Any]) -> None:
    """Close the order of a cancelled hold at its channel (a payment found there is refunded by billing)."""
    order = await billing.order_by_number(session, payload["order_number"])
    if order is None or order.state not in billing.PAYABLE_STATES:
        return
    await billing.close_if_unpaid(session, order)


@sweep("booking.tidy_holds", every=timedelta(seconds=30))
async def tidy_expired_holds(session: AsyncSession) -> None:
    """Expired holds: the place back to free, the booking to expired (SL-10)."""
    at = now()
    await session.execute(
        update(Slot)
        .where(Slot.status == "held", Slot.hold_expires_at < at)
        .values(status="free", hold_expires_at=None, booking_id=None)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Booking)
        .where(Booking.state == "held", Booking.hold_expires_at < at)
        .values(state="expired", active_key=None, ended_at=at, end_reason="hold_expired")
        .execution_options(synchronize_session=False)
    )


@sweep("booking.settle_sessions", every=timedelta(minutes=10))
async def settle_ended_sessions(session: AsyncSession) -> None:
    while await attendance.settle_ended_sessions(session) == attendance.SWEEP_BATCH:
        pass


@sweep("booking.reminders", every=timedelta(minutes=5))
async def send_reminders(session: AsyncSession) -> None:
    """The day-before reminder, once per booking (``reminded_at``); bookings confirmed after today's
    reminder time have just had their confirmation and get none."""
    minute = await get_rule(session, "booking.reminder_minute")
    remind_at = time(minute // 60, minute % 60)
    if local_now().time() < remind_at:
        return
    today = local_today()
    remind_from = datetime.combine(today, remind_at, tzinfo=hospital_zone()).astimezone(UTC)
    while rows := await repository.bookings_to_remind(
        session, day=today + timedelta(days=1), confirmed_before=remind_from, limit=REMIND_BATCH
    ):
        for booking in rows:
            claimed = await session.execute(
                update(Booking)
                .where(Booking.id == booking.id, Booking.reminded_at.is_(None))
                .values(reminded_at=now())
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                continue
            clinic = await session.get_one(ClinicSession, booking.session_id)
            hours = await get_department_rule(session, "booking.cancel_deadline_hours", clinic.department_id)
            await messages.reminder(session, booking, deadline_hours=hours)
        if len(rows) < REMIND_BATCH:
            break
