"""Abnormal orders (FI-03 异常订单): found automatically, flagged, handled by finance with a note.

Kinds: paid but not written to the HIS; written to the HIS but not paid; paid after the order closed;
paid twice; paid amount differs from the order; a refund stuck or refused. Each is flagged once (a
unique key per kind, order and refund).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, Exists, and_, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.audit import service as audit
from ihos.auth.caller import Caller
from ihos.db import insert_unique
from ihos.errors import Conflict, NotFound
from ihos.kit.time import now
from ihos.models.billing import Anomaly, Order, Refund

KINDS = {
    "paid_not_written": "已支付未写入HIS",
    "written_not_paid": "HIS已收费但未支付",
    "paid_after_close": "关单后到账",
    "paid_twice": "重复支付",
    "amount_mismatch": "支付金额与订单不符",
    "refund_stuck": "退款异常",
}
# How long a paid order may wait for the HIS before it is an anomaly, and a refund for the channel.
HIS_GRACE = timedelta(minutes=10)
REFUND_GRACE = timedelta(hours=1)
DETECT_BATCH = 50


class AnomalyNotFound(NotFound):
    code = "anomaly_not_found"
    default_message = "异常记录不存在"


class AnomalyAlreadyHandled(Conflict):
    code = "anomaly_already_handled"
    default_message = "该异常已处理"


async def flag(
    session: AsyncSession,
    kind: str,
    *,
    order: Order | None,
    refund: Refund | None = None,
    details: dict[str, Any] | None = None,
) -> Anomaly | None:
    """Record an anomaly unless the same one is already recorded."""
    anomaly = Anomaly(
        kind=kind,
        dedupe_key=f"{kind}:{order.id if order else ''}:{refund.id if refund else ''}",
        order_id=order.id if order else None,
        refund_id=refund.id if refund else None,
        details=details or {},
    )
    return anomaly if await insert_unique(session, anomaly) else None


async def handle(session: AsyncSession, caller: Caller, anomaly_id: uuid.UUID, *, note: str) -> Anomaly:
    anomaly = await session.get(Anomaly, anomaly_id)
    if anomaly is None:
        raise AnomalyNotFound()
    moved = await session.execute(
        update(Anomaly)
        .where(Anomaly.id == anomaly_id, Anomaly.state == "open")
        .values(state="handled", handled_by=caller.id, handled_at=now(), note=note)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise AnomalyAlreadyHandled()
    await session.refresh(anomaly)
    await audit.record(
        session,
        caller,
        "anomaly.handle",
        target_kind="anomalies",
        target_id=anomaly_id,
        details={"kind": anomaly.kind, "note": note},
    )
    return anomaly


async def detect(session: AsyncSession) -> int:
    """The sweep: compare ihos with the HIS and the channels, flag what does not agree.

    What is flagged already is left out of each batch, so that old anomalies nobody has handled yet do
    not take the places of new ones.
    """
    from ihos.billing import service
    from ihos.integrations.his.base import HisError

    found = 0
    his = _his(session)
    waiting = (
        await session.scalars(
            select(Order)
            .where(
                Order.state.in_(service.PAID_STATES),
                Order.his_state != "written",
                Order.paid_at < now() - HIS_GRACE,
                ~_flagged("paid_not_written", Anomaly.order_id == Order.id),
            )
            .order_by(Order.paid_at)
            .limit(DETECT_BATCH)
        )
    ).all()
    for order in waiting:
        details: dict[str, Any] = {"paid_at": str(order.paid_at)}
        if await his.charge_status(order.order_number) is not None:
            # The HIS has it and its answer was lost: finish the write-back instead of flagging.
            try:
                await service.write_back_to_his(session, order.id)
                continue
            except HisError as exc:
                if exc.retryable:
                    raise
                # The HIS holds something else under this order number: for a person to look at.
                details["his_error"] = exc.code
        if await flag(session, "paid_not_written", order=order, details=details):
            found += 1
    recently_closed = (
        await session.scalars(
            select(Order)
            .where(
                Order.state.in_(("closed", "cancelled")),
                Order.closed_at > now() - timedelta(days=2),
                ~_flagged("written_not_paid", Anomaly.order_id == Order.id),
            )
            .order_by(Order.closed_at.desc())
            .limit(DETECT_BATCH)
        )
    ).all()
    for order in recently_closed:
        receipt = await his.charge_status(order.order_number)
        if receipt is not None and await flag(
            session, "written_not_paid", order=order, details={"his_receipt": receipt.his_receipt_number}
        ):
            found += 1
    long_ago = now() - REFUND_GRACE
    stuck = (
        await session.scalars(
            select(Refund)
            .where(
                or_(
                    # At the channel, with no final word for an hour.
                    and_(Refund.state == "executing", Refund.submitted_at < long_ago),
                    # Sent for execution an hour ago, never accepted by the channel (its job keeps failing
                    # or gave up): still approved, the money still reserved.
                    and_(
                        Refund.state == "approved",
                        or_(Refund.executed_by.is_not(None), Refund.is_automatic),
                        Refund.updated_at < long_ago,
                    ),
                ),
                ~_flagged("refund_stuck", Anomaly.refund_id == Refund.id),
            )
            .order_by(Refund.updated_at)
            .limit(DETECT_BATCH)
        )
    ).all()
    for refund in stuck:
        refunded_order = await session.get(Order, refund.order_id)
        if await flag(
            session, "refund_stuck", order=refunded_order, refund=refund, details={"state": refund.state}
        ):
            found += 1
    return found


def _flagged(kind: str, about: ColumnElement[bool]) -> Exists:
    return exists().where(Anomaly.kind == kind, about)


def _his(session: AsyncSession):  # type: ignore[no-untyped-def]
    from ihos.config import get_settings
    from ihos.integrations.his import his_payments

    return his_payments(session, get_settings().integrations.his)
