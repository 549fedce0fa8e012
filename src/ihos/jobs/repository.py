"""Queries on jobs and sweep schedules. Every change of state is a conditional UPDATE checked by row
count, so two workers can never both believe they own a job or a sweep period."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.kit.time import now
from ihos.models.jobs import Job, JobState, SweepSchedule

# Claims change rows behind the ORM's back; the claimed rows are read from RETURNING instead.
NO_SYNC = {"synchronize_session": False}


@dataclass(frozen=True)
class ClaimedJob:
    """A job this worker holds. ``attempt`` (the row's ``attempts`` after the claim) names the claim:
    a later claim of the same row by another worker, after our lease ran out, has a higher one."""

    id: uuid.UUID
    kind: str
    payload: dict[str, Any]
    attempt: int
    max_attempts: int


def _rowcount(result: Any) -> int:
    return cast(CursorResult[Any], result).rowcount


async def park_abandoned_jobs(session: AsyncSession) -> int:
    """Park running jobs whose lease ran out on their last attempt: a job that keeps killing its
    worker must not be claimed for ever."""
    at = now()
    result = await session.execute(
        update(Job)
        .where(Job.state == JobState.RUNNING, Job.locked_until <= at, Job.attempts >= Job.max_attempts)
        .values(state=JobState.PARKED, locked_until=None, last_error="租约到期仍未完成（执行进程可能已退出）")
        .execution_options(**NO_SYNC)
    )
    return _rowcount(result)


async def claim_due_jobs(session: AsyncSession, *, limit: int, lease: timedelta) -> list[ClaimedJob]:
    """Mark up to ``limit`` due jobs as running under a lease and return them, oldest due first.

    Due means pending with ``due_at`` passed, or running with the lease run out (the worker died).
    On PostgreSQL ``SKIP LOCKED`` lets concurrent workers claim disjoint rows without waiting; SQLite
    renders no locking clause and needs none, as its writers take the database lock in turn.
    """
    at = now()
    due = (
        select(Job.id)
        .where(
            or_(
                and_(Job.state == JobState.PENDING, Job.due_at <= at),
                and_(Job.state == JobState.RUNNING, Job.locked_until <= at),
            )
        )
        .order_by(Job.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    result = await session.execute(
        update(Job)
        .where(Job.id.in_(due))
        .values(state=JobState.RUNNING, attempts=Job.attempts + 1, locked_until=at + lease, updated_at=at)
        .returning(Job.id, Job.kind, Job.payload, Job.attempts, Job.max_attempts)
        .execution_options(**NO_SYNC)
    )
    # RETURNING comes in no particular order; ids are time-ordered, so this runs them oldest first.
    return sorted((ClaimedJob(*row) for row in result.all()), key=lambda job: job.id)


def _held(job: ClaimedJob) -> Any:
    return and_(Job.id == job.id, Job.state == JobState.RUNNING, Job.attempts == job.attempt)


async def mark_done(session: AsyncSession, job: ClaimedJob) -> bool:
    """Mark the job done if we still hold it; False means our lease ran out and another worker
    claimed it, so the caller must roll back the handler's work."""
    result = await session.execute(
        update(Job)
        .where(_held(job))
        .values(state=JobState.DONE, locked_until=None)
        .execution_options(**NO_SYNC)
    )
    return _rowcount(result) == 1


async def schedule_retry(session: AsyncSession, job: ClaimedJob, *, due_at: datetime, error: str) -> bool:
    result = await session.execute(
        update(Job)
        .where(_held(job))
        .values(state=JobState.PENDING, due_at=due_at, locked_until=None, last_error=error)
        .execution_options(**NO_SYNC)
    )
    return _rowcount(result) == 1


async def park(session: AsyncSession, job: ClaimedJob, *, error: str) -> bool:
    result = await session.execute(
        update(Job)
        .where(_held(job))
        .values(state=JobState.PARKED, locked_until=None, last_error=error)
        .execution_options(**NO_SYNC)
    )
    return _rowcount(result) == 1


async def delete_done_jobs(session: AsyncSession, *, finished_before: datetime, limit: int) -> int:
    """Delete up to ``limit`` jobs that finished before the given instant (in batches, so that a
    large backlog never holds locks for long)."""
    batch = (
        select(Job.id)
        .where(Job.state == JobState.DONE, Job.updated_at < finished_before)
        .order_by(Job.updated_at)
        .limit(limit)
    )
    result = await session.execute(delete(Job).where(Job.id.in_(batch)).execution_options(**NO_SYNC))
    return _rowcount(result)


# Sweeps


async def add_missing_sweeps(session: AsyncSession, names: Iterable[str]) -> None:
    """Create schedule rows for sweeps seen for the first time, due at once. Another worker may
    create the same row at the same moment: the unique name decides and the loser moves on."""
    wanted = set(names)
    existing = set(
        (await session.scalars(select(SweepSchedule.name).where(SweepSchedule.name.in_(wanted)))).all()
    )
    for name in sorted(wanted - existing):
        try:
            async with session.begin_nested():
                session.add(SweepSchedule(name=name, next_run_at=now()))
        except IntegrityError:
            pass


async def claim_sweep(session: AsyncSession, name: str, *, every: timedelta) -> bool:
    """Take this period of the sweep: True for exactly one caller per period."""
    at = now()
    result = await session.execute(
        update(SweepSchedule)
        .where(SweepSchedule.name == name, SweepSchedule.next_run_at <= at)
        .values(next_run_at=at + every, updated_at=at)
        .execution_options(**NO_SYNC)
    )
    return _rowcount(result) == 1


async def due_sweep_names(session: AsyncSession, names: Iterable[str]) -> list[str]:
    at = now()
    rows = await session.scalars(
        select(SweepSchedule.name)
        .where(SweepSchedule.name.in_(set(names)), SweepSchedule.next_run_at <= at)
        .order_by(SweepSchedule.next_run_at)
    )
    return list(rows.all())


# Parked jobs, for the back office


async def get_job(session: AsyncSession, job_id: uuid.UUID) -> Job | None:
    return await session.get(Job, job_id, populate_existing=True)


async def list_parked(session: AsyncSession, *, offset: int, limit: int) -> tuple[list[Job], int]:
    parked = Job.state == JobState.PARKED
    total = await session.scalar(select(func.count()).select_from(Job).where(parked))
    rows = await session.scalars(
        select(Job).where(parked).order_by(Job.updated_at.desc(), Job.id).offset(offset).limit(limit)
    )
    return list(rows.all()), int(total or 0)


async def requeue_parked(session: AsyncSession, job_id: uuid.UUID) -> bool:
    """Give a parked job a fresh set of attempts, due now. The last error stays until the next one."""
    result = await session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state == JobState.PARKED)
        .values(state=JobState.PENDING, due_at=now(), attempts=0, locked_until=None)
        .execution_options(**NO_SYNC)
    )
    return _rowcount(result) == 1


async def delete_parked(session: AsyncSession, job_id: uuid.UUID) -> bool:
    result = await session.execute(
        delete(Job).where(Job.id == job_id, Job.state == JobState.PARKED).execution_options(**NO_SYNC)
    )
    return _rowcount(result) == 1
