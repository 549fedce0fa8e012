"""Searching the operation log."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.audit.service import AuditQuery
from ihos.models.audit import AuditEntry


async def search(
    session: AsyncSession, query: AuditQuery, *, offset: int, limit: int
) -> tuple[Sequence[AuditEntry], int]:
    statement = select(AuditEntry)
    if query.actor_id:
        statement = statement.where(AuditEntry.actor_id == query.actor_id)
    if query.actor_kind:
        statement = statement.where(AuditEntry.actor_kind == query.actor_kind)
    if query.action:
        # "staff." finds every staff action; "staff.create" exactly that one.
        statement = statement.where(
            AuditEntry.action.startswith(query.action)
            if query.action.endswith(".")
            else AuditEntry.action == query.action
        )
    if query.target_kind:
        statement = statement.where(AuditEntry.target_kind == query.target_kind)
    if query.target_id:
        statement = statement.where(AuditEntry.target_id == query.target_id)
    if query.result:
        statement = statement.where(AuditEntry.result == query.result)
    if query.since:
        statement = statement.where(AuditEntry.occurred_at >= query.since)
    if query.until:
        statement = statement.where(AuditEntry.occurred_at < query.until)
    total = await session.scalar(select(func.count()).select_from(statement.subquery()))
    rows = (
        await session.scalars(
            statement.order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc())
            .offset(offset)
            .limit(limit)
        )
    ).all()
    return rows, total or 0


async def count_unsealed(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).where(AuditEntry.chain_seq.is_(None))) or 0
