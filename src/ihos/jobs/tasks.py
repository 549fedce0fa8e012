"""Housekeeping of the job table itself."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from ihos.jobs import repository
from ihos.jobs.registry import sweep
from ihos.kit.time import now

# Done jobs are kept this long for inquiries ("was the SMS sent?"), then deleted.
KEEP_DONE_JOBS = timedelta(days=7)
PRUNE_BATCH = 1000


@sweep("jobs.prune", every=timedelta(hours=1))
async def prune_done_jobs(session: AsyncSession) -> None:
    """Delete done jobs older than ``KEEP_DONE_JOBS``, one batch per run (a backlog shrinks hourly)."""
    await repository.delete_done_jobs(session, finished_before=now() - KEEP_DONE_JOBS, limit=PRUNE_BATCH)
