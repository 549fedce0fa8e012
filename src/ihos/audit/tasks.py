"""Sealing the operation log into its hash chain, a few seconds after entries are written."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from ihos.audit.service import seal
from ihos.jobs import sweep


@sweep("audit.seal", every=timedelta(seconds=2))
async def seal_entries(session: AsyncSession) -> None:
    await seal(session)
