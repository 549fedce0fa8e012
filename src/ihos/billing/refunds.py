"""Refunds (FI-01, FI-02): requested by the patient where the business allows it, or by staff with the
authority; approved through a chain configured by amount and role; executed through the original channel
with the same refund number on every retry; confirmed by notification or query.

Never more than was paid, whatever the concurrency: a refund first reserves its amount on the payment in
one conditional statement, and gives the reservation back only if it is rejected or the channel refuses.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.audit import service as audit
from ihos.auth.caller import Caller
from ihos.billing import anomalies, channels, numbers
from ihos.billing.service import PAID_STATES, SYSTEM, OrderNotFound, notify_url, own_order
from ihos.db import insert_unique
from ihos.errors import Conflict, Forbidden, InvalidInput, NotFound
from ihos.integrations.payment.base import ChannelError, RefundRequest, RefundResult
from ihos.jobs import enqueue
from ihos.kit.time import now
from ihos.models.billing import Order, Payment, Refund, RefundApproval, RefundApprovalLevel, RefundAuthority
from ihos.models.organization import Role, StaffRole
from ihos.realtime import publish_after_commit

log = logging.getLogger(__name__)
EXECUTE_JOB = "billing.refund_execute"
HIS_REFUND_JOB = "billing.his_refund_write_back"
# Orders a patient may ask to refund himself; others are refunded by their own module's rules
# (a booking by cancelling it) or by staff.
PATIENT_REFUNDABLE_KINDS = frozenset({"clinic_bill"})


class RefundNotFound(NotFound):
    code = "refund_not_found"
    default_message = "退款申请不存在"


class RefundExceedsPaid(Conflict):
    code = "refund_exceeds_paid"
    default_message = "退款金额超过可退金额"


class InvalidRefundAmount(InvalidInput):
    code = "invalid_refund_amount"
    default_message = "退款金额须大于0"


class NotRefundable(Conflict):
    code = "not_refundable"
    default_message = "该订单不能申请退款"


class NoRefundAuthority(Forbidden):
    code = "no_refund_authority"
    default_message = "您没有此项退款权限"


class RefundNotAwaiting(Conflict):
    code = "refund_not_awaiting"
    default_message = "该退款当前不在此环节"


class OwnRefundApproval(Forbidden):
    code = "own_refund_approval"
    default_message = "不能审批自己提交的退款申请，也不能在同一申请上审批两级"


# ---------------------------------------------------------------------------------------------
# requesting


async def _applied_payment(session: AsyncSession, order: Order) -> Payment:
    payment = await session.scalar(
        select(Payment).where(Payment.order_id == order.id, Payment.disposition == "applied")
    )
    if payment is None or order.state not in PAID_STATES:
        raise NotRefundable("订单尚未支付，不能退款")
    return payment


async def _reserve(session: AsyncSession, payment: Payment, amount_fen: int) -> None:
    reserved = await session.execute(
        update(Payment)
        .where(Payment.id == payment.id, Payment.refund_reserved_fen + amount_fen <= Payment.amount_fen)
        .values(refund_reserved_fen=Payment.refund_reserved_fen + amount_fen)
        .execution_options(synchronize_session=False)
    )
    if reserved.rowcount != 1:  # type: ignore[attr-defined]
        raise _exceeds(await _left(session, payment))


async def _left(session: AsyncSession, payment: Payment) -> int:
    """What may still be asked of ``payment``, read now (not from the identity map)."""
    left = await session.scalar(
        select(Payment.amount_fen - Payment.refund_reserved_fen).where(Payment.id == payment.id)
    )
    return int(left or 0)


def _exceeds(left: int) -> RefundExceedsPaid:
    return RefundExceedsPaid(f"退款金额超过可退金额（可退 {left / 100:.2f} 元）")


async def _release(session: AsyncSession, refund: Refund) -> None:
    await session.execute(
        update(Payment)
        .where(Payment.id == refund.payment_id)
        .values(refund_reserved_fen=Payment.refund_reserved_fen - refund.amount_fen)
        .execution_options(synchronize_session=False)
    )


async def _levels_for(session: AsyncSession, amount_fen: int) -> int:
    return (
        await session.scalar(
            select(func.count())
            .select_from(RefundApprovalLevel)
            .where(RefundApprovalLevel.min_amount_fen <= amount_fen)
        )
        or 0
    )


async def _new_refund(
    session: AsyncSession,
    payment: Payment,
    *,
    amount_fen: int,
    reason: str,
    requested_by: Caller,
    automatic: bool,
) -> Refund:
    if amount_fen <= 0:
        raise InvalidRefundAmount()
    await _reserve(session, payment, amount_fen)
    levels = 0 if automatic else await _levels_for(session, amount_fen)
    refund = Refund(
        order_id=payment.order_id,
        payment_id=payment.id,
        amount_fen=amount_fen,
        reason=reason[:200],
        is_automatic=automatic,
        requested_by_kind=requested_by.kind,
        requested_by_id=requested_by.id,
        state="approved" if levels == 0 else "pending_approval",
        levels_required=levels,
    )
    await numbers.insert_numbered(session, refund, "refund_number", numbers.refund_number)
    await audit.record(
        session,
        requested_by,
        "refund.request",
        target_kind="refunds",
        target_id=refund.refund_number,
        details={"amount_fen": amount_fen, "levels_required": levels, "automatic": automatic},
    )
    return refund


async def request_refund_as_patient(
    session: AsyncSession, caller: Caller, *, order_number: str, amount_fen: int | None, reason: str
) -> Refund:
    order = await own_order(session, caller, order_number)
    if order.business_kind not in PATIENT_REFUNDABLE_KINDS:
        raise NotRefundable("该订单不能在线申请退款，请联系医院")
    payment = await _applied_payment(session, order)
    if amount_fen is None:
        # "Refund the rest": nothing left is the same refusal as asking too much, not a zero amount.
        amount_fen = await _left(session, payment)
        if amount_fen <= 0:
            raise _exceeds(0)
    return await _new_refund(
        session,
        payment,
        amount_fen=amount_fen,
        reason=reason,
        requested_by=caller,
        automatic=False,
    )


async def authority(session: AsyncSession, caller: Caller) -> RefundAuthority:
    found = await session.get(RefundAuthority, caller.subject_id) if caller.is_staff else None
    return found or RefundAuthority(
        staff_id=caller.id, may_request=False, may_approve=False, may_execute=False
    )


async def request_refund_as_staff(
    session: AsyncSession, caller: Caller, *, order_number: str, amount_fen: int, reason: str
) -> Refund:
    if not (await authority(session, caller)).may_request:
        raise NoRefundAuthority("您没有申请退款的权限")
    order = await session.scalar(select(Order).where(Order.order_number == order_number))
    if order is None:
        raise OrderNotFound()
    payment = await _applied_payment(session, order)
    return await _new_refund(
        session, payment, amount_fen=amount_fen, reason=reason, requested_by=caller, automatic=False
    )


async def refund_automatically(session: AsyncSession, payment: Payment, *, reason: str) -> Refund:
    """A refund the system owes (late or second payment, cancelled service): no approval, sent at once."""
    refund = await _new_refund(
        session,
        payment,
        amount_fen=payment.amount_fen - payment.refund_reserved_fen,
        reason=reason,
        requested_by=SYSTEM,
        automatic=True,
    )
    await enqueue(session, EXECUTE_JOB, {"refund_id": str(refund.id)}, dedupe_key=f"refund:{refund.id}")
    return refund


# ---------------------------------------------------------------------------------------------
# approving


async def _refund(session: AsyncSession, refund_id: uuid.UUID) -> Refund:
    refund = await session.get(Refund, refund_id)
    if refund is None:
        raise RefundNotFound()
    return refund


async def decide(
    session: AsyncSession, caller: Caller, refund_id: uuid.UUID, *, approve: bool, note: str | None
) -> Refund:
    """Approve or reject the next level of a refund's chain."""
    refund = await _refund(session, refund_id)
    if refund.state != "pending_approval":
        raise RefundNotAwaiting()
    if refund.requested_by_id == caller.id:
        raise OwnRefundApproval()
    level = refund.levels_approved + 1
    await _check_may_approve(session, caller, refund, level)
    approval = RefundApproval(
        refund_id=refund.id,
        level=level,
        approver_id=caller.subject_id,
        decision="approved" if approve else "rejected",
        note=note,
        decided_at=now(),
    )
    if not await insert_unique(session, approval):
        # Another approver took this level a moment ago, or this person already approved a level.
        raise OwnRefundApproval("该级审批已由他人完成，或您已审批过此申请")
    if not approve:
        await _finish_unsuccessfully(session, refund, state="rejected", expect="pending_approval")
    else:
        state = "approved" if level == refund.levels_required else "pending_approval"
        await session.execute(
            update(Refund)
            .where(Refund.id == refund.id, Refund.levels_approved == level - 1)
            .values(levels_approved=level, state=state)
            .execution_options(synchronize_session=False)
        )
    await session.refresh(refund)
    await audit.record(
        session,
        caller,
        "refund.approve" if approve else "refund.reject",
        target_kind="refunds",
        target_id=refund.refund_number,
        details={"level": level, "note": note},
    )
    return refund


async def _check_may_approve(session: AsyncSession, caller: Caller, refund: Refund, level: int) -> None:
    grant = await authority(session, caller)
    if not grant.may_approve or (
        grant.approval_limit_fen is not None and grant.approval_limit_fen < refund.amount_fen
    ):
        raise NoRefundAuthority("您没有审批此金额退款的权限")
    required = (
        await session.execute(
            select(RefundApprovalLevel.role_code, Role.name)
            .join(Role, Role.code == RefundApprovalLevel.role_code)
            .where(RefundApprovalLevel.level == level)
        )
    ).first()
    if required is not None:
        role_code, role_name = required
        holds = await session.scalar(
            select(StaffRole.staff_id).where(
                StaffRole.staff_id == caller.id, StaffRole.role_code == role_code
            )
        )
        if holds is None:
            raise NoRefundAuthority(f"第 {level} 级审批须由“{role_name}”角色的人员完成")


async def _finish_unsuccessfully(session: AsyncSession, refund: Refund, *, state: str, expect: str) -> bool:
    """Rejected or refused by the channel: give the reservation back (once)."""
    moved = await session.execute(
        update(Refund)
        .where(Refund.id == refund.id, Refund.state == expect)
        .values(state=state)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        return False
    await _release(session, refund)
    return True


# ---------------------------------------------------------------------------------------------
# executing


async def execute(session: AsyncSession, caller: Caller, refund_id: uuid.UUID) -> Refund:
    """A member of staff with execute authority sends an approved (or failed) refund to the channel."""
    if not (await authority(session, caller)).may_execute:
        raise NoRefundAuthority("您没有执行退款的权限")
    refund = await _refund(session, refund_id)
    if refund.requested_by_id == caller.id:
        # Separation of duties: who asked for the money back does not also send it.
        raise OwnRefundApproval("不能执行自己提交的退款申请")
    if refund.state == "failed":
        # Retrying a refused refund: take it back from failed first (two cashiers at once: one wins), then
        # reserve again (too little left: refused, and the request's rollback leaves it failed) and send it
        # with the same refund number.
        retried = await session.execute(
            update(Refund)
            .where(Refund.id == refund.id, Refund.state == "failed")
            .values(state="approved")
            .execution_options(synchronize_session=False)
        )
        if retried.rowcount == 1:  # type: ignore[attr-defined]
            await _reserve(session, await session.get_one(Payment, refund.payment_id), refund.amount_fen)
        await session.refresh(refund)
    if refund.state != "approved":
        raise RefundNotAwaiting("退款尚未审批通过，或已在执行")
    refund.executed_by = caller.id
    await enqueue(session, EXECUTE_JOB, {"refund_id": str(refund.id)})
    await audit.record(
        session, caller, "refund.execute", target_kind="refunds", target_id=refund.refund_number
    )
    return refund


async def submit_to_channel(session: AsyncSession, refund_id: uuid.UUID) -> None:
    """The execute job: send the refund (same number on every retry) and apply what the channel says."""
    refund = await _refund(session, refund_id)
    if refund.state not in ("approved", "executing"):
        return
    payment = await session.get_one(Payment, refund.payment_id)
    order = await session.get_one(Order, refund.order_id)
    await session.execute(
        update(Refund)
        .where(Refund.id == refund.id, Refund.state == "approved")
        .values(state="executing", submitted_at=now())
        .execution_options(synchronize_session=False)
    )
    channel = channels.get_channel(payment.channel, session)
    request = RefundRequest(
        refund_number=refund.refund_number,
        order_number=order.order_number,
        transaction_id=payment.transaction_id,
        amount_fen=refund.amount_fen,
        order_total_fen=payment.amount_fen,
        reason=refund.reason,
        notify_url=notify_url(payment.channel),
    )
    try:
        result = await channel.refund(request)
    except ChannelError as exc:
        if exc.retryable:
            raise
        # The refusal is recorded here and the job ends normally: raising would roll back the failed
        # state, the released reservation and the anomaly along with the job's transaction.
        await session.refresh(refund)
        refund.last_error = f"{exc.code}: {exc.message}"[:300]
        await _finish_unsuccessfully(session, refund, state="failed", expect="executing")
        await anomalies.flag(
            session,
            "refund_stuck",
            order=order,
            refund=refund,
            details={"channel_code": exc.code, "message": exc.message},
        )
        log.warning("channel %s refused refund %s: %s", payment.channel, refund.refund_number, exc.code)
        return
    await record_refund_result(session, result)


async def record_refund_result(session: AsyncSession, result: RefundResult) -> str:
    """Apply a channel's word about a refund (notification, answer or query); once, whatever the order."""
    refund = await session.scalar(select(Refund).where(Refund.refund_number == result.refund_number))
    if refund is None:
        return "unknown_refund"
    if result.state == "processing":
        if result.channel_refund_id:
            refund.channel_refund_id = result.channel_refund_id
        return "processing"
    if result.state == "failed":
        failed = await _finish_unsuccessfully(session, refund, state="failed", expect="executing")
        if failed:
            order = await session.get(Order, refund.order_id)
            await anomalies.flag(
                session, "refund_stuck", order=order, refund=refund, details={"channel_state": "failed"}
            )
        return "failed" if failed else "unchanged"
    succeeded = await session.execute(
        update(Refund)
        .where(Refund.id == refund.id, Refund.state == "executing")
        .values(
            state="succeeded",
            succeeded_at=result.succeeded_at or now(),
            channel_refund_id=result.channel_refund_id,
        )
        .execution_options(synchronize_session=False)
    )
    if succeeded.rowcount != 1:  # type: ignore[attr-defined]
        return "unchanged"
    await _credit(session, refund)
    return "succeeded"


async def _credit(session: AsyncSession, refund: Refund) -> None:
    await session.execute(
        update(Payment)
        .where(Payment.id == refund.payment_id)
        .values(refunded_fen=Payment.refunded_fen + refund.amount_fen)
        .execution_options(synchronize_session=False)
    )
    payment = await session.get_one(Payment, refund.payment_id)
    order = await session.get_one(Order, refund.order_id)
    await session.refresh(payment)
    if payment.disposition == "applied":
        await session.execute(
            update(Order)
            .where(Order.id == order.id)
            .values(refunded_fen=Order.refunded_fen + refund.amount_fen)
            .execution_options(synchronize_session=False)
        )
        await session.refresh(order)
        order.state = "refunded" if order.refunded_fen >= order.paid_fen else "partially_refunded"
        await enqueue(
            session, HIS_REFUND_JOB, {"refund_id": str(refund.id)}, dedupe_key=f"his-refund:{refund.id}"
        )
    await session.refresh(refund)
    await audit.record(
        session,
        SYSTEM,
        "refund.succeeded",
        target_kind="refunds",
        target_id=refund.refund_number,
        details={"amount_fen": refund.amount_fen},
    )
    if order.account_id is not None:
        publish_after_commit(
            session,
            f"account:{order.account_id}",
            {"type": "refund.succeeded", "refund_number": refund.refund_number},
        )


async def query_if_done(session: AsyncSession, refund: Refund) -> str:
    payment = await session.get_one(Payment, refund.payment_id)
    order = await session.get_one(Order, refund.order_id)
    result = await channels.get_channel(payment.channel, session).query_refund(
        refund.refund_number, order_number=order.order_number
    )
    return await record_refund_result(session, result)


async def write_back_refund_to_his(session: AsyncSession, refund_id: uuid.UUID) -> None:
    from ihos.config import get_settings
    from ihos.integrations.his import his_payments
    from ihos.integrations.his.base import HisError, RefundWriteBack

    refund = await _refund(session, refund_id)
    order = await session.get(Order, refund.order_id)
    if order is None or refund.his_state == "written":
        return
    if order.his_state != "written":
        # The charge is still on its way to the HIS (its write-back is being retried) and the HIS takes
        # no refund of a charge it does not have: try again later instead of dropping the refund.
        raise HisError("charge_not_written", "收费尚未写入HIS，稍后再写退费", retryable=True)
    await his_payments(session, get_settings().integrations.his).write_back_refund(
        RefundWriteBack(
            refund_number=refund.refund_number,
            order_number=order.order_number,
            amount_fen=refund.amount_fen,
            refunded_at=refund.succeeded_at or now(),
        )
    )
    refund.his_state = "written"


async def refunds_of_order(session: AsyncSession, order_id: uuid.UUID) -> Sequence[Refund]:
    return (
        await session.scalars(select(Refund).where(Refund.order_id == order_id).order_by(Refund.created_at))
    ).all()
