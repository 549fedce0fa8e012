"""Recording background work in the caller's transaction, and the back office's hold on parked jobs.

``enqueue`` never commits: the job exists if and only if the caller's transaction commits, and the
in-process runner is woken after that commit.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.db import after_commit
from ihos.errors import Conflict, NotFound
from ihos.jobs import repository
from ihos.jobs.runner import wake_runners
from ihos.jobs.schemas import FailedJob
from ihos.kit.schema import Page
from ihos.kit.time import now
from ihos.models.jobs import Job, JobState

DEFAULT_MAX_ATTEMPTS = 8


class JobNotFound(NotFound):
    code = "job_not_found"
    default_message = "任务不存在"


class JobNotParked(Conflict):
    code = "job_not_parked"
    default_message = "只有已搁置的任务可以重试或丢弃"


async def enqueue(
    session: AsyncSession,
    kind: str,
    payload: dict[str, Any],
    *,
    due_at: datetime | None = None,
    dedupe_key: str | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> Job | None:
    """Record a job in the caller's transaction, to run at ``due_at`` (default: now).

    With a ``dedupe_key`` that another job still holds, nothing is added and None is returned, so
    scheduling the same thing twice is harmless. The payload must be JSON; keep it to ids.
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    job = Job(
        kind=kind,
        payload=payload,
        state=JobState.PENDING,
        due_at=due_at or now(),
        attempts=0,
        max_attempts=max_attempts,
        dedupe_key=dedupe_key,
    )
    if dedupe_key is None:
        session.add(job)
        await session.flush()
    else:
        try:
            # A savepoint, so that a duplicate key undoes only this insert, not the caller's work.
            async with session.begin_nested():
                session.add(job)
        except IntegrityError:
            return None
    after_commit(session, wake_runners)
    return job


async def list_failed_jobs(session: AsyncSession, *, page: int = 1, page_size: int = 20) -> Page[FailedJob]:
    """Parked jobs, most recently parked first."""
    jobs, total = await repository.list_parked(session, offset=(page - 1) * page_size, limit=page_size)
    return Page[FailedJob](
        items=[FailedJob.model_validate(job) for job in jobs], total=total, page=page, page_size=page_size
    )


async def retry_job(session: AsyncSession, job_id: uuid.UUID) -> Job:
    """Put a parked job back in the queue, due now, with a fresh set of attempts."""
    job = await _parked_job(session, job_id)
    # Conditional on the state, in case another administrator acted on it meanwhile.
    if not await repository.requeue_parked(session, job_id):
        raise JobNotParked()
    await session.refresh(job)
    after_commit(session, wake_runners)
    return job


async def discard_job(session: AsyncSession, job_id: uuid.UUID) -> Job:
    """Delete a parked job for good; returns what it was, for the audit record."""
    job = await _parked_job(session, job_id)
    if not await repository.delete_parked(session, job_id):
        raise JobNotParked()
    session.expunge(job)
    return job


async def _parked_job(session: AsyncSession, job_id: uuid.UUID) -> Job:
    job = await repository.get_job(session, job_id)
    if job is None:
        raise JobNotFound()
    if job.state != JobState.PARKED:
        raise JobNotParked()
    return job
