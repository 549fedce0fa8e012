"""Cancelling bookings (PT-09, SL-07, SL-10): by the patient, by staff, at a window or kiosk; and staff
releasing an unpaid hold by hand.

- A held (unpaid) booking ends at once; its order is closed by a job (a payment that slips in meanwhile
  finds the place gone and is refunded automatically).
- A confirmed booking cancelled before the deadline (``booking.cancel_deadline_hours`` before its time
  segment) is refunded automatically through billing, to the original channel; paid at a window, the
  window hands the fee back. After the deadline the patient may still cancel, but the fee is kept and a
  ``late_cancel`` blacklist event is counted; the patient must accept that first (``accept_late``).
- Staff cancel on the hospital's account: always refunded, never counted, with a reason in the audit log.
- Every freed place goes to ``cooling`` and returns to the pool after a random delay (anti-scalping).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.audit import service as audit
from ihos.auth.caller import Caller
from ihos.backoffice.rules import get_department_rule, get_rule
from ihos.billing import refunds
from ihos.billing import service as billing
from ihos.booking import blacklist
from ihos.booking.messages import local, yuan
from ihos.booking.repository import visible_to_account
from ihos.booking.service import BookingNotFound, NotCancellable, VisitBegun, release_slot
from ihos.errors import Conflict
from ihos.jobs import enqueue
from ihos.kit.time import now
from ihos.models.billing import Payment, Refund
from ihos.models.booking import Booking
from ihos.models.scheduling import ClinicSession, Slot

CLOSE_ORDER_JOB = "booking.close_order"


class LateCancelNotAccepted(Conflict):
    code = "late_cancel_not_accepted"
    default_message = "已过退号截止时间，取消将不退还挂号费并记录一次逾期退号"


class CancelElsewhere(Conflict):
    code = "cancel_elsewhere"
    default_message = "该预约不是通过本账户预约的，请到医院挂号窗口或原预约渠道办理取消"


class NotAHold(Conflict):
    code = "not_a_hold"
    default_message = "该预约不是待支付状态，不能释放"


@dataclass(frozen=True)
class Terms:
    """What cancelling now would mean, for the patient to read before deciding."""

    deadline: datetime
    is_late: bool
    refund_fen: int  # what goes back to the original channel by itself
    counter_refund_fen: int  # what the window hands back (paid at a window)
    message: str


@dataclass(frozen=True)
class Cancellation:
    booking: Booking
    is_late: bool
    refund: Refund | None
    counter_refund_fen: int
    standing: blacklist.Standing | None
    message: str


# ---------------------------------------------------------------------------------------------
# the terms


async def deadline_of(session: AsyncSession, booking: Booking, clinic: ClinicSession) -> datetime:
    """Cancelling with a refund is possible until this many hours before the booked time segment."""
    slot = await session.get_one(Slot, booking.slot_id)
    hours = await get_department_rule(session, "booking.cancel_deadline_hours", clinic.department_id)
    return slot.starts_at - timedelta(hours=hours)


async def refundable_payment(session: AsyncSession, booking: Booking) -> Payment | None:
    """The online payment of the booking's fee, if it has anything left to refund."""
    if booking.order_number is None:
        return None
    order = await billing.order_by_number(session, booking.order_number)
    if order is None or order.state not in billing.PAID_STATES:
        return None
    payment = await session.scalar(
        select(Payment)
        .where(Payment.order_id == order.id, Payment.disposition == "applied")
        .execution_options(populate_existing=True)
    )
    if payment is None or payment.amount_fen - payment.refund_reserved_fen <= 0:
        return None
    return payment


def _check_cancellable(
    booking: Booking, clinic: ClinicSession, at: datetime, *, after_check_in: bool = False
) -> None:
    """``after_check_in``: a window or the hospital's staff may also cancel (退号) a booking whose patient
    checked in but has not been seen yet; the app may not."""
    live = ("held", "confirmed", "arrived") if after_check_in else ("held", "confirmed")
    if booking.state not in live:
        raise NotCancellable("该预约已结束或已签到，不能取消")
    if booking.state == "held" and booking.hold_expires_at is not None and booking.hold_expires_at <= at:
        raise NotCancellable("该预约已超过支付时间，已自动失效")
    if booking.state in ("confirmed", "arrived") and at >= clinic.ends_at:
        raise NotCancellable("就诊时间已过，不能取消")


async def _check_not_seen(session: AsyncSession, booking: Booking) -> None:
    """A checked-in patient whose visit has begun (or ended) is past 退号."""
    # Imported here: the queue imports the booking domain (check-in marks bookings arrived).
    from ihos.queueing.repository import visit_begun_for_booking

    if await visit_begun_for_booking(session, booking.id):
        raise VisitBegun()


async def terms(session: AsyncSession, booking: Booking, *, at: datetime | None = None) -> Terms | None:
    """None when the booking cannot be cancelled (ended, arrived, or its session is over)."""
    at = at or now()
    clinic = await session.get_one(ClinicSession, booking.session_id)
    try:
        _check_cancellable(booking, clinic, at)
    except NotCancellable:
        return None
    deadline = await deadline_of(session, booking, clinic)
    if booking.state == "held":
        return Terms(deadline, False, 0, 0, "该预约尚未支付，可直接取消。")
    is_late = at >= deadline
    if is_late:
        return Terms(deadline, True, 0, 0, await _late_warning(session, deadline, booking.fee_fen))
    payment = await refundable_payment(session, booking)
    refund_fen = payment.amount_fen - payment.refund_reserved_fen if payment else 0
    counter_fen = booking.fee_fen if booking.counter_payment else 0
    if refund_fen:
        text = f"在 {local(deadline):%m月%d日 %H:%M} 前取消，挂号费{yuan(refund_fen)}元将原路退回。"
    elif counter_fen:
        text = (
            f"在 {local(deadline):%m月%d日 %H:%M} 前取消，"
            f"请凭缴费凭证到挂号窗口退还挂号费{yuan(counter_fen)}元。"
        )
    else:
        text = f"在 {local(deadline):%m月%d日 %H:%M} 前取消不产生任何费用。"
    return Terms(deadline, False, refund_fen, counter_fen, text)


async def _late_warning(session: AsyncSession, deadline: datetime, fee_fen: int) -> str:
    window = await get_rule(session, "blacklist.window_days")
    cap = await get_rule(session, "blacklist.cap")
    days = await get_rule(session, "blacklist.ban_days")
    fee = f"挂号费{yuan(fee_fen)}元不予退还，" if fee_fen else ""
    return (
        f"已过退号截止时间（{local(deadline):%m月%d日 %H:%M}）。现在取消，{fee}并记录一次逾期退号；"
        f"{window}天内爽约或逾期退号累计{cap}次，将暂停预约{days}天。"
    )


# ---------------------------------------------------------------------------------------------
# cancelling


async def _end_and_release(session: AsyncSession, booking: Booking, *, reason: str, at: datetime) -> None:
    # Conditional on the state this request saw: a payment confirming the hold a moment ago must not
    # be cancelled as if it were unpaid (and so without its refund).
    ended = await session.execute(
        update(Booking)
        .where(Booking.id == booking.id, Booking.state == booking.state)
        .values(state="cancelled", active_key=None, ended_at=at, end_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if ended.rowcount != 1:  # type: ignore[attr-defined]
        raise NotCancellable("预约状态已变化，请刷新后重试")
    await session.refresh(booking)
    await release_slot(session, booking, at=at)
    if booking.order_number is not None:
        order = await billing.order_by_number(session, booking.order_number)
        if order is not None and order.state in billing.PAYABLE_STATES:
            await close_order_soon(session, booking.order_number)


async def close_order_soon(session: AsyncSession, order_number: str) -> None:
    """Close an unpaid order at its channel and here (a job: the channel may be slow or down)."""
    await enqueue(
        session, CLOSE_ORDER_JOB, {"order_number": order_number}, dedupe_key=f"close:{order_number}"
    )


async def _cancel(
    session: AsyncSession,
    caller: Caller,
    booking: Booking,
    *,
    reason: str,
    at: datetime,
    penalise_late: bool,
    accept_late: bool,
    note: str | None = None,
    after_check_in: bool = False,
) -> Cancellation:
    clinic = await session.get_one(ClinicSession, booking.session_id)
    _check_cancellable(booking, clinic, at, after_check_in=after_check_in)
    was_held, was_arrived = booking.state == "held", booking.state == "arrived"
    if was_arrived:
        await _check_not_seen(session, booking)
    deadline = await deadline_of(session, booking, clinic)
    is_late = penalise_late and not was_held and at >= deadline
    if is_late and not accept_late:
        raise LateCancelNotAccepted(
            await _late_warning(session, deadline, booking.fee_fen),
            details={"deadline": deadline.isoformat(), "fee_fen": booking.fee_fen},
        )
    await _end_and_release(session, booking, reason=reason if not is_late else f"{reason}_late", at=at)
    if was_arrived:
        # Imported here: the queue imports the booking domain (check-in marks bookings arrived).
        from ihos.queueing.calling import leave_for_booking

        await leave_for_booking(session, booking.id, reason="booking_cancelled", before_visit=True)
    refund: Refund | None = None
    counter_fen = 0
    standing: blacklist.Standing | None = None
    if not was_held and not is_late:
        payment = await refundable_payment(session, booking)
        if payment is not None:
            refund = await refunds.refund_automatically(session, payment, reason="预约取消，退还挂号费")
        elif booking.counter_payment:
            counter_fen = booking.fee_fen
    if is_late:
        standing = await blacklist.record_event(session, booking, kind="late_cancel", at=at)
    message = _after(was_held, is_late, refund, counter_fen, standing, fee_fen=booking.fee_fen)
    await audit.record(
        session,
        caller,
        "booking.cancel",
        target_kind="bookings",
        target_id=booking.booking_number,
        details={
            "reason": reason,
            "note": note,
            "late": is_late,
            "refund_fen": refund.amount_fen if refund else 0,
            "counter_refund_fen": counter_fen,
        },
    )
    return Cancellation(booking, is_late, refund, counter_fen, standing, message)


def _after(
    was_held: bool,
    is_late: bool,
    refund: Refund | None,
    counter_fen: int,
    standing: blacklist.Standing | None,
    *,
    fee_fen: int,
) -> str:
    if was_held:
        return "预约已取消。"
    if refund is not None:
        return f"预约已取消，挂号费{yuan(refund.amount_fen)}元将原路退回，一般1-7个工作日到账。"
    if counter_fen:
        return f"预约已取消，请凭缴费凭证到挂号窗口退还挂号费{yuan(counter_fen)}元。"
    if not is_late:
        return "预约已取消。"
    kept = "挂号费不予退还，" if fee_fen else ""
    text = f"预约已取消。因已过退号截止时间，{kept}并已记录一次逾期退号"
    if standing is None:
        return text + "。"
    if standing.ban is not None:
        until = local(standing.ban.ends_at)
        return text + f"；{standing.ban.reason}，{until:%Y年%m月%d日}前不能预约。"
    return (
        text + f"（{standing.window_days}天内第{standing.counted}次，"
        f"累计{standing.cap}次将暂停预约{standing.ban_days}天）。"
    )


async def cancel_by_patient(
    session: AsyncSession, caller: Caller, booking_id: uuid.UUID, *, accept_late: bool
) -> Cancellation:
    """The patient cancels a booking the account made; one made elsewhere is cancelled where it was made."""
    booking = await visible_booking(session, caller, booking_id)
    if booking.account_id != caller.id:
        raise CancelElsewhere()
    return await _cancel(
        session, caller, booking, reason="by_patient", at=now(), penalise_late=True, accept_late=accept_late
    )


async def cancel_by_staff(
    session: AsyncSession, caller: Caller, booking_id: uuid.UUID, *, reason: str
) -> Cancellation:
    """Customer service or the outpatient office cancel on the hospital's account: refunded, not counted;
    also after check-in, until the visit begins (the patient leaves the queue)."""
    booking = await staff_booking(session, caller, booking_id)
    return await _cancel(
        session,
        caller,
        booking,
        reason="by_staff",
        note=reason,
        at=now(),
        penalise_late=False,
        accept_late=True,
        after_check_in=True,
    )


async def cancel_at_counter(
    session: AsyncSession, caller: Caller, booking: Booking, *, accept_late: bool, note: str | None
) -> Cancellation:
    """A window or kiosk cancels for the patient in front of it, under the patient's rules; also after
    check-in, until the visit begins (the patient leaves the queue)."""
    return await _cancel(
        session,
        caller,
        booking,
        reason="at_counter",
        note=note,
        at=now(),
        penalise_late=True,
        accept_late=accept_late,
        after_check_in=True,
    )


async def release_hold(
    session: AsyncSession, caller: Caller, booking_id: uuid.UUID, *, reason: str
) -> Booking:
    """Staff end an unpaid hold by hand (SL-10); the place returns to the pool after the cooling delay."""
    booking = await staff_booking(session, caller, booking_id)
    if booking.state != "held":
        raise NotAHold()
    at = now()
    await _end_and_release(session, booking, reason="hold_released", at=at)
    await audit.record(
        session,
        caller,
        "booking.release_hold",
        target_kind="bookings",
        target_id=booking.booking_number,
        details={"reason": reason},
    )
    return booking


# ---------------------------------------------------------------------------------------------
# whose booking


async def visible_booking(session: AsyncSession, caller: Caller, booking_id: uuid.UUID) -> Booking:
    """A booking of a patient the calling account holds, or one it made."""
    booking = await session.scalar(
        select(Booking).where(Booking.id == booking_id, visible_to_account(caller.subject_id))
    )
    if booking is None:
        raise BookingNotFound()
    return booking


async def staff_booking(session: AsyncSession, caller: Caller, booking_id: uuid.UUID) -> Booking:
    """A booking of a session at a campus the member of staff (or system client) may see."""
    booking = await session.get(Booking, booking_id)
    if booking is None:
        raise BookingNotFound()
    clinic = await session.get_one(ClinicSession, booking.session_id)
    if not caller.may_see_campus(clinic.campus_id):
        raise BookingNotFound()
    return booking
