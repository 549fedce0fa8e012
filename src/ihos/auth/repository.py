"""Queries for accounts, staff sign-in and external logins."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from ihos.models.accounts import Account, ExternalLogin
from ihos.models.organization import Staff
from ihos.security.fields import blind_index


async def account_by_phone(session: AsyncSession, phone: str) -> Account | None:
    return await session.scalar(
        select(Account).where(Account.phone_index == blind_index(phone, kind="phone"))
    )


async def account_by_username(session: AsyncSession, username: str) -> Account | None:
    return await session.scalar(select(Account).where(Account.username == username.lower()))


async def account_by_external_login(session: AsyncSession, provider: str, subject: str) -> Account | None:
    return await session.scalar(
        select(Account)
        .join(ExternalLogin, ExternalLogin.account_id == Account.id)
        .where(ExternalLogin.provider == provider, ExternalLogin.subject == subject)
    )


async def staff_by_username(session: AsyncSession, username: str) -> Staff | None:
    return await session.scalar(
        select(Staff)
        .options(selectinload(Staff.roles), selectinload(Staff.campuses))
        .where(Staff.username == username.lower())
    )


async def staff_with_access(session: AsyncSession, staff_id: uuid.UUID) -> Staff | None:
    """A member of staff with the roles and campuses that decide what they may do and see.

    One statement (every staff request runs it): the two short collections joined, each of their
    combinations a row, which ``unique()`` folds back into one member of staff."""
    result = await session.execute(
        select(Staff)
        .options(joinedload(Staff.roles), joinedload(Staff.campuses))
        .where(Staff.id == staff_id)
        .execution_options(populate_existing=True)
    )
    return result.unique().scalar_one_or_none()
