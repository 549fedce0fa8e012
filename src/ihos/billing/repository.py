"""Queries for the finance desk and the patient's spending history."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.models.accounts import Account, ExternalLogin
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
from ihos.models.organization import Staff
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
    session: AsyncSession, account_id: uuid.UUID, *, states: Sequence[str], offset: int, limit: int
) -> tuple[Sequence[Order], int]:
    """The account's orders in any of ``states`` (every order when empty), newest first."""
    statement = select(Order).where(Order.account_id == account_id)
    if states:
        statement = statement.where(Order.state.in_(states))
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


async def order_lines(session: AsyncSession, order_id: uuid.UUID) -> Sequence[OrderLine]:
    return (await session.scalars(select(OrderLine).where(OrderLine.order_id == order_id))).all()


async def patient_names(session: AsyncSession, patient_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Each patient's name (not masked: the API masks it)."""
    if not patient_ids:
        return {}
    rows = await session.execute(select(Patient.id, Patient.name).where(Patient.id.in_(set(patient_ids))))
    return {patient_id: name for patient_id, name in rows.all()}


async def staff_by_id(session: AsyncSession, staff_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Staff]:
    if not staff_ids:
        return {}
    rows = await session.scalars(select(Staff).where(Staff.id.in_(set(staff_ids))))
    return {staff.id: staff for staff in rows.all()}


async def external_logins(session: AsyncSession, account_id: uuid.UUID) -> dict[str, str]:
    """The WeChat openid and Alipay user id the account signed in with (provider → id)."""
    rows = await session.execute(
        select(ExternalLogin.provider, ExternalLogin.subject).where(ExternalLogin.account_id == account_id)
    )
    return {provider: subject for provider, subject in rows.all()}


@dataclass(frozen=True)
class RefundFacts:
    """What a list of refunds needs besides the refunds: their orders' numbers, the channel of the payment
    each comes from, who asked (staff, accounts) and the note of each rejection."""

    order_numbers: dict[uuid.UUID, str]
    channels: dict[uuid.UUID, str]
    staff: dict[uuid.UUID, Staff]
    accounts: dict[uuid.UUID, Account]
    rejection_notes: dict[uuid.UUID, str | None]


async def rejection_notes(session: AsyncSession, refunds: Sequence[Refund]) -> dict[uuid.UUID, str | None]:
    """The note of the approval that rejected each rejected refund."""
    rejected = [refund.id for refund in refunds if refund.state == "rejected"]
    if not rejected:
        return {}
    rows = await session.execute(
        select(RefundApproval.refund_id, RefundApproval.note).where(
            RefundApproval.refund_id.in_(rejected), RefundApproval.decision == "rejected"
        )
    )
    return {refund_id: note for refund_id, note in rows.all()}


async def refund_facts(session: AsyncSession, refunds: Sequence[Refund]) -> RefundFacts:
    def asked_by(kind: str) -> list[uuid.UUID]:
        return [r.requested_by_id for r in refunds if r.requested_by_kind == kind and r.requested_by_id]

    channels = await session.execute(
        select(Payment.id, Payment.channel).where(Payment.id.in_({r.payment_id for r in refunds}))
    )
    patients = asked_by("patient")
    accounts = (
        (await session.scalars(select(Account).where(Account.id.in_(patients)))).all() if patients else []
    )
    return RefundFacts(
        order_numbers=await order_numbers(session, list({r.order_id for r in refunds})),
        channels=dict(channels.tuples().all()),
        staff=await staff_by_id(session, asked_by("staff")),
        accounts={account.id: account for account in accounts},
        rejection_notes=await rejection_notes(session, refunds),
    )
