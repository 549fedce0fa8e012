"""Queries for patients, their accounts and identity reviews."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.models.accounts import Account
from ihos.models.patients import AccountPatient, Address, IdentityReview, Patient
from ihos.security.fields import blind_index


async def holdings_of_account(
    session: AsyncSession, account_id: uuid.UUID
) -> Sequence[tuple[AccountPatient, Patient]]:
    rows = await session.execute(
        select(AccountPatient, Patient)
        .join(Patient, Patient.id == AccountPatient.patient_id)
        .where(AccountPatient.account_id == account_id)
        .order_by(AccountPatient.created_at)
    )
    return [(holding, patient) for holding, patient in rows.all()]


async def holding(
    session: AsyncSession, account_id: uuid.UUID, patient_id: uuid.UUID
) -> AccountPatient | None:
    return await session.scalar(
        select(AccountPatient).where(
            AccountPatient.account_id == account_id, AccountPatient.patient_id == patient_id
        )
    )


async def holders_of_patient(
    session: AsyncSession, patient_id: uuid.UUID
) -> Sequence[tuple[AccountPatient, Account]]:
    rows = await session.execute(
        select(AccountPatient, Account)
        .join(Account, Account.id == AccountPatient.account_id)
        .where(AccountPatient.patient_id == patient_id)
        .order_by(AccountPatient.created_at)
    )
    return [(holding, account) for holding, account in rows.all()]


async def count_holdings(session: AsyncSession, account_id: uuid.UUID) -> int:
    return await session.scalar(select(func.count()).where(AccountPatient.account_id == account_id)) or 0


async def patient_by_id_number(session: AsyncSession, id_number: str) -> Patient | None:
    return await session.scalar(
        select(Patient).where(Patient.id_number_index == blind_index(id_number, kind="id_number"))
    )


async def self_holding(session: AsyncSession, account_id: uuid.UUID) -> AccountPatient | None:
    return await session.scalar(select(AccountPatient).where(AccountPatient.self_account_key == account_id))


async def self_holding_of_patient(session: AsyncSession, patient_id: uuid.UUID) -> AccountPatient | None:
    """The holding that makes this person some account's "self", if any."""
    return await session.scalar(select(AccountPatient).where(AccountPatient.self_patient_key == patient_id))


async def addresses_of_account(session: AsyncSession, account_id: uuid.UUID) -> Sequence[Address]:
    return (
        await session.scalars(
            select(Address)
            .where(Address.account_id == account_id)
            .order_by(Address.is_default.desc(), Address.created_at)
        )
    ).all()


async def search_accounts(
    session: AsyncSession, *, text: str | None, offset: int, limit: int
) -> tuple[Sequence[Account], int]:
    statement = select(Account)
    if text:
        text = text.strip()
        statement = statement.where(
            or_(Account.phone_index == blind_index(text, kind="phone"), Account.username == text.lower())
        )
    total = await session.scalar(select(func.count()).select_from(statement.subquery()))
    rows = (
        await session.scalars(statement.order_by(Account.created_at.desc()).offset(offset).limit(limit))
    ).all()
    return rows, total or 0


async def search_patients(
    session: AsyncSession, *, text: str | None, offset: int, limit: int
) -> tuple[Sequence[Patient], int]:
    statement = select(Patient)
    if text:
        text = text.strip()
        statement = statement.where(
            or_(
                Patient.id_number_index == blind_index(text, kind="id_number"),
                Patient.phone_index == blind_index(text, kind="phone"),
                Patient.name == text,
            )
        )
    total = await session.scalar(select(func.count()).select_from(statement.subquery()))
    rows = (
        await session.scalars(statement.order_by(Patient.created_at.desc()).offset(offset).limit(limit))
    ).all()
    return rows, total or 0


async def identity_reviews(
    session: AsyncSession, *, state: str | None, offset: int, limit: int
) -> tuple[Sequence[IdentityReview], int]:
    statement = select(IdentityReview)
    if state:
        statement = statement.where(IdentityReview.state == state)
    total = await session.scalar(select(func.count()).select_from(statement.subquery()))
    rows = (
        await session.scalars(statement.order_by(IdentityReview.created_at).offset(offset).limit(limit))
    ).all()
    return rows, total or 0


async def latest_review(session: AsyncSession, account_id: uuid.UUID) -> IdentityReview | None:
    return await session.scalar(
        select(IdentityReview)
        .where(IdentityReview.account_id == account_id)
        .order_by(IdentityReview.created_at.desc())
        .limit(1)
    )
