"""Queries for the organisation: campus-scoped reads live here."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from ihos.auth.caller import Caller
from ihos.models.organization import (
    Campus,
    Department,
    Hospital,
    Role,
    Staff,
    StaffCampus,
    StaffDepartment,
    StaffRole,
)


def _staff_loaded() -> Select[tuple[Staff]]:
    return select(Staff).options(
        selectinload(Staff.roles), selectinload(Staff.departments), selectinload(Staff.campuses)
    )


async def hospitals(session: AsyncSession) -> Sequence[Hospital]:
    return (await session.scalars(select(Hospital).order_by(Hospital.code))).all()


async def campuses_readable_by(session: AsyncSession, caller: Caller) -> Sequence[Campus]:
    statement = select(Campus).order_by(Campus.sort_order, Campus.code)
    if caller.campus_ids is not None:
        statement = statement.where(Campus.id.in_(caller.campus_ids))
    return (await session.scalars(statement)).all()


async def departments_of_campus(session: AsyncSession, campus_id: uuid.UUID) -> Sequence[Department]:
    return (
        await session.scalars(
            select(Department)
            .where(Department.campus_id == campus_id)
            .order_by(Department.sort_order, Department.code)
        )
    ).all()


async def departments_by_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> Sequence[Department]:
    if not ids:
        return []
    return (await session.scalars(select(Department).where(Department.id.in_(ids)))).all()


async def campuses_by_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> Sequence[Campus]:
    if not ids:
        return []
    return (await session.scalars(select(Campus).where(Campus.id.in_(ids)))).all()


async def staff_by_id(session: AsyncSession, staff_id: uuid.UUID) -> Staff | None:
    return await session.scalar(
        _staff_loaded().where(Staff.id == staff_id).execution_options(populate_existing=True)
    )


def _staff_readable_by(statement: Select[tuple[Staff]], caller: Caller) -> Select[tuple[Staff]]:
    if caller.campus_ids is None:
        return statement
    return statement.where(
        Staff.id.in_(select(StaffCampus.staff_id).where(StaffCampus.campus_id.in_(caller.campus_ids)))
    )


async def search_staff(
    session: AsyncSession,
    caller: Caller,
    *,
    text: str | None,
    department_id: uuid.UUID | None,
    campus_id: uuid.UUID | None,
    role: str | None,
    is_active: bool | None,
    offset: int,
    limit: int,
) -> tuple[Sequence[Staff], int]:
    statement = _staff_readable_by(_staff_loaded(), caller)
    if text:
        pattern = f"%{text.strip()}%"
        statement = statement.where(
            or_(
                Staff.name.like(pattern),
                Staff.staff_number.like(pattern),
                Staff.username.like(pattern.lower()),
            )
        )
    if department_id:
        statement = statement.where(
            Staff.id.in_(
                select(StaffDepartment.staff_id).where(StaffDepartment.department_id == department_id)
            )
        )
    if campus_id:
        statement = statement.where(
            Staff.id.in_(select(StaffCampus.staff_id).where(StaffCampus.campus_id == campus_id))
        )
    if role:
        statement = statement.where(
            Staff.id.in_(select(StaffRole.staff_id).where(StaffRole.role_code == role))
        )
    if is_active is not None:
        statement = statement.where(Staff.is_active == is_active)
    total = await session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    rows = (await session.scalars(statement.order_by(Staff.staff_number).offset(offset).limit(limit))).all()
    return rows, total or 0


async def roles(session: AsyncSession) -> Sequence[Role]:
    return (await session.scalars(select(Role).order_by(Role.is_builtin.desc(), Role.code))).all()


async def roles_by_codes(session: AsyncSession, codes: Sequence[str]) -> Sequence[Role]:
    return (await session.scalars(select(Role).where(Role.code.in_(codes)))).all()


async def role_holders(session: AsyncSession, code: str) -> int:
    return await session.scalar(select(func.count()).where(StaffRole.role_code == code)) or 0
