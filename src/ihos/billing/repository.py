"""Queries for the finance desk and the patient's spending history."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.models.billing import (
    Anomaly,
    ChannelNotification,
    Order,
    OrderLine,
    Payment,
    PaymentAttempt,
    Refund,
    RefundApproval,
)
from ihos.models.patients import Patient
from ihos.security.fields import blind_index


@dataclass(frozen=True)
class OrderQuery:
    order_number: str | None = None
    patient: str | None = None  # name, ID number or phone
    health_card_number: str | None = None
    channel: str | None = None
    state: str | None = None
    business_kind: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    min_amount_fen: int | None = None
    max_amount_fen: int | None = None


async def search_orders(
    session: AsyncSession, query: OrderQuery, *, offset: int, limit: int
) -> tuple[Sequence[Order], int]:
    statement = select(Order)
    if query.order_number:
        statement = statement.where(
            or_(
                Order.order_number == query.order_number.strip(),
                Order.transaction_id == query.order_number.strip(),
            )
        )
    if query.patient:
        text = query.patient.strip()
        statement = statement.where(
            Order.patient_id.in_(
                select(Patient.id).where(
                    or_(
                        Patient.name == text,
                        Patient.id_number_index == blind_index(text, kind="id_number"),
                        Patient.phone_index == blind_index(text, kind="phone"),
                    )
                )
            )
        )
    if query.health_card_number:
        statement = statement.where(
            Order.patient_id.in_(
                select(Patient.id).where(Patient.health_card_number == query.health_card_number)
            )
        )
    for column, value in (
        (Order.channel, query.channel),
        (Order.state, query.state),
        (Order.business_kind, query.business_kind),
    ):
        if value:
            statement = statement.where(column == value)
    if query.since:
        statement = statement.where(Order.created_at >= query.since)
    if query.until:
        statement = statement.where(Order.created_at < query.until)
    if query.min_amount_fen is not None:
        statement = statement.where(Order.payable_fen >= query.min_amount_fen)
    if query.max_amount_fen is not None:
        statement = statement.where(Order.payable_fen <= query.max_amount_fen)
    total = await session.scalar(select(func.count()).select_from(statement.subquery()))
    rows = (
        await session.scalars(statement.order_by(Order.created_at.desc()).offset(offset).limit(limit))
    ).all()
    return rows, total or 0


async def orders_of_account(
    session: AsyncSession, account_id: uuid.UUID, *, state: str | None, offset: int, limit: int
) -> tuple[Sequence[Order], int]:
    statement = select(Order).where(Order.account_id == account_id)
    if state:
        statement = statement.where(Order.state == state)
    total = await session.scalar(select(func.count()).select_from(statement.subquery()))
    rows = (
        await session.scalars(statement.order_by(Order.created_at.desc()).offset(offset).limit(limit))
    ).all()
    return rows, total or 0


@dataclass(frozen=True)
class OrderHistory:
    lines: Sequence[OrderLine]
    attempts: Sequence[PaymentAttempt]
    payments: Sequence[Payment]
    notifications: Sequence[ChannelNotification]
    refunds: Sequence[Refund]
    approvals: Sequence[RefundApproval]
    anomalies: Sequence[Anomaly]


async def history(session: AsyncSession, order: Order) -> OrderHistory:
    refunds = (
        await session.scalars(select(Refund).where(Refund.order_id == order.id).order_by(Refund.created_at))
    ).all()
    return OrderHistory(
        lines=(await session.scalars(select(OrderLine).where(OrderLine.order_id == order.id))).all(),
        attempts=(
            await session.scalars(
                select(PaymentAttempt)
                .where(PaymentAttempt.order_id == order.id)
                .order_by(PaymentAttempt.created_at)
            )
        ).all(),
        payments=(
            await session.scalars(
                select(Payment).where(Payment.order_id == order.id).order_by(Payment.paid_at)
            )
        ).all(),
        # A refund notification names the refund, not always the order: both belong to its timeline.
        notifications=(
            await session.scalars(
                select(ChannelNotification)
                .where(
                    or_(
                        ChannelNotification.order_number == order.order_number,
                        ChannelNotification.refund_number.in_([r.refund_number for r in refunds]),
                    )
                )
                .order_by(ChannelNotification.received_at)
            )
        ).all(),
        refunds=refunds,
        approvals=(
            await session.scalars(
                select(RefundApproval)
                .where(RefundApproval.refund_id.in_([r.id for r in refunds]))
                .order_by(RefundApproval.decided_at)
            )
        ).all()
        if refunds
        else [],
        anomalies=(
            await session.scalars(
                select(Anomaly).where(Anomaly.order_id == order.id).order_by(Anomaly.created_at)
            )
        ).all(),
    )


@dataclass(frozen=True)
class RefundQuery:
    state: str | None = None
    channel: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    refund_number: str | None = None


def _refunds(query: RefundQuery):  # type: ignore[no-untyped-def]
    statement = select(Refund)
    if query.state:
        statement = statement.where(Refund.state == query.state)
    if query.refund_number:
        statement = statement.where(Refund.refund_number == query.refund_number.strip())
    if query.channel:
        statement = statement.where(
            Refund.payment_id.in_(select(Payment.id).where(Payment.channel == query.channel))
        )
    if query.since:
        statement = statement.where(Refund.created_at >= query.since)
    if query.until:
        statement = statement.where(Refund.created_at < query.until)
    return statement


async def search_refunds(
    session: AsyncSession, query: RefundQuery, *, offset: int, limit: int
) -> tuple[Sequence[Refund], int]:
    statement = _refunds(query)
    total = await session.scalar(select(func.count()).select_from(statement.subquery()))
    rows = (
        await session.scalars(statement.order_by(Refund.created_at.desc()).offset(offset).limit(limit))
    ).all()
    return rows, total or 0


async def refund_statistics(session: AsyncSession, query: RefundQuery) -> Sequence[tuple[str, str, int, int]]:
    """(channel, state, count, amount) over the refunds the query selects."""
    selected = _refunds(query).subquery()
    rows = await session.execute(
        select(
            Payment.channel, selected.c.state, func.count(), func.coalesce(func.sum(selected.c.amount_fen), 0)
        )
        .join(Payment, Payment.id == selected.c.payment_id)
        .group_by(Payment.channel, selected.c.state)
        .order_by(Payment.channel, selected.c.state)
    )
    return [(channel, state, int(count), int(amount)) for channel, state, count, amount in rows.all()]


async def search_anomalies(
    session: AsyncSession, *, state: str | None, kind: str | None, offset: int, limit: int
) -> tuple[Sequence[Anomaly], int]:
    statement = select(Anomaly)
    if state:
        statement = statement.where(Anomaly.state == state)
    if kind:
        statement = statement.where(Anomaly.kind == kind)
    total = await session.scalar(select(func.count()).select_from(statement.subquery()))
    rows = (
        await session.scalars(statement.order_by(Anomaly.created_at.desc()).offset(offset).limit(limit))
    ).all()
    return rows, total or 0


async def order_numbers(session: AsyncSession, order_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = await session.execute(select(Order.id, Order.order_number).where(Order.id.in_(order_ids)))
    return {order_id: number for order_id, number in rows.all()}
