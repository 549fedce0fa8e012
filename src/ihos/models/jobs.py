"""Background work (后台任务): due work and outbox messages (``Job``) and the schedule of periodic sweeps."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Enum, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ihos.kit.time import now
from ihos.models.base import Base, IdMixin, TimestampMixin


class JobState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    # Out of attempts or failed for good: waits for an administrator to retry or discard it.
    PARKED = "parked"


class Job(IdMixin, TimestampMixin, Base):
    """One unit of work to run once it is due: an outbox message, a reminder, a follow-up step.

    The runner claims a due row by setting ``state`` to running and ``locked_until`` (its lease); each
    claim counts as one of ``attempts``. A lease that runs out (the worker died) makes the row
    claimable again.
    """

    __tablename__ = "jobs"
    # Claiming reads pending rows by due time and running rows by lease; both start with the state.
    __table_args__ = (Index("ix_jobs_state_due_at", "state", "due_at"),)

    kind: Mapped[str] = mapped_column(String(100))
    # Ids and amounts, never personal data: payloads are stored in clear and shown to administrators.
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[JobState] = mapped_column(
        Enum(
            JobState,
            native_enum=False,
            create_constraint=False,
            length=16,
            values_callable=lambda members: [member.value for member in members],
        ),
        default=JobState.PENDING,
    )
    due_at: Mapped[datetime] = mapped_column(default=now)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=8)
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    # Scheduling the same thing twice (same key) is a no-op while the first row exists.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.kind} {self.state} attempts={self.attempts}/{self.max_attempts}>"


class SweepSchedule(IdMixin, TimestampMixin, Base):
    """When a periodic sweep next runs. A worker runs a sweep only if it moved ``next_run_at`` on
    with a conditional UPDATE, so each period runs once however many workers there are."""

    __tablename__ = "sweep_schedules"

    name: Mapped[str] = mapped_column(String(100), unique=True)
    next_run_at: Mapped[datetime]

    def __repr__(self) -> str:
        return f"<SweepSchedule {self.name} next={self.next_run_at.isoformat()}>"
