"""Background work of billing: HIS write-backs, refund execution, closing orders past their hold time,
asking channels about payments and refunds whose notification has not come, and anomaly detection."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.billing import anomalies, clinic_bills, refunds, service
from ihos.integrations.his.base import HisError
from ihos.integrations.payment.base import ChannelError
from ihos.jobs import PermanentFailure, handler, sweep
from ihos.kit.time import now
from ihos.models.billing import Order, PaymentAttempt, Refund

log = logging.getLogger(__name__)
# Importing clinic_bills registers what happens to a bill once its order is paid and written to the HIS.
_ = clinic_bills
SWEEP_BATCH = 50
# A payment not notified this long after its prepay is asked about; a refund likewise.
QUERY_AFTER = timedelta(minutes=2)


@handler(service.HIS_WRITE_BACK_JOB)
async def his_write_back(session: AsyncSession, payload: dict[str, Any]) -> None:
    try:
        await service.write_back_to_his(session, uuid.UUID(payload["order_id"]))
    except HisError as exc:
        if not exc.retryable:
            raise PermanentFailure(f"HIS refused the write-back: {exc.code}") from exc
        raise


@handler(refunds.HIS_REFUND_JOB)
async def his_refund_write_back(session: AsyncSession, payload: dict[str, Any]) -> None:
    try:
        await refunds.write_back_refund_to_his(session, uuid.UUID(payload["refund_id"]))
    except HisError as exc:
        if not exc.retryable:
            raise PermanentFailure(f"HIS refused the refund write-back: {exc.code}") from exc
        raise


@handler(refunds.EXECUTE_JOB)
async def execute_refund(session: AsyncSession, payload: dict[str, Any]) -> None:
    await refunds.submit_to_channel(session, uuid.UUID(payload["refund_id"]))


async def _each(session: AsyncSession, rows: list[Any], work: Any) -> None:
    """Run ``work`` per row in its own savepoint: one channel's failure does not stop the others."""
    for row in rows:
        try:
            async with session.begin_nested():
                await work(session, row)
        except ChannelError as exc:
            log.warning("billing sweep: channel error %s for %s", exc.code, getattr(row, "id", row))


@sweep("billing.close_expired", every=timedelta(seconds=30))
async def close_expired_orders(session: AsyncSession) -> None:
    rows = (
        await session.scalars(
            select(Order)
            .where(Order.state.in_(service.PAYABLE_STATES), Order.expires_at < now())
            .limit(SWEEP_BATCH)
        )
    ).all()
    await _each(session, list(rows), service.close_if_unpaid)


@sweep("billing.query_payments", every=timedelta(seconds=60))
async def query_stuck_payments(session: AsyncSession) -> None:
    rows = (
        await session.scalars(
            select(Order)
            .where(
                Order.state == "paying",
                Order.expires_at >= now(),
                Order.id.in_(
                    select(PaymentAttempt.order_id).where(PaymentAttempt.created_at < now() - QUERY_AFTER)
                ),
            )
            .limit(SWEEP_BATCH)
        )
    ).all()
    await _each(session, list(rows), service.query_if_paid)


@sweep("billing.query_refunds", every=timedelta(seconds=60))
async def query_pending_refunds(session: AsyncSession) -> None:
    rows = (
        await session.scalars(
            select(Refund)
            .where(Refund.state == "executing", Refund.submitted_at < now() - QUERY_AFTER)
            .limit(SWEEP_BATCH)
        )
    ).all()
    await _each(session, list(rows), refunds.query_if_done)


@sweep("billing.detect_anomalies", every=timedelta(minutes=5))
async def detect_anomalies(session: AsyncSession) -> None:
    try:
        await anomalies.detect(session)
    except HisError as exc:
        log.warning("anomaly detection: HIS error %s", exc.code)
