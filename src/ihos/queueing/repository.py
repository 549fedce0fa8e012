"""Queries of the queue: waiting lists in queue order, a day's entries, counts, averages and orders."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.models.patients import AccountPatient
from ihos.models.queueing import ExamOrder, Queue, QueueEntry
from ihos.models.scheduling import ClinicSession
from ihos.queueing.ordering import Waiting

LIVE_STATES = ("waiting", "called", "in_visit")
# The queue order: the key, then the earlier check-in, then the id (every client sorts the same way).
QUEUE_ORDER = (QueueEntry.sort_key, QueueEntry.checked_in_at, QueueEntry.id)
AVERAGE_SAMPLE = 30  # the last visits that make the average consultation time
AVERAGE_MINIMUM = 3  # fewer finished visits than this: the session's or the rule's minutes


def waiting_in(queue_id: uuid.UUID, day: date) -> ColumnElement[bool]:
    return and_(QueueEntry.queue_id == queue_id, QueueEntry.queue_date == day, QueueEntry.state == "waiting")


async def waiting(session: AsyncSession, queue_id: uuid.UUID, day: date) -> list[Waiting]:
    """The waiting patients of a queue on a day, in queue order, as the placements need them."""
    rows = await session.execute(
        select(QueueEntry.id, QueueEntry.sort_key, QueueEntry.priority_level)
        .where(waiting_in(queue_id, day))
        .order_by(*QUEUE_ORDER)
    )
    return [Waiting(row.id, row.sort_key, row.priority_level) for row in rows]


async def entry_of_booking(
    session: AsyncSession, queue_id: uuid.UUID, booking_id: uuid.UUID
) -> QueueEntry | None:
    return await session.scalar(
        select(QueueEntry)
        .where(QueueEntry.queue_id == queue_id, QueueEntry.booking_id == booking_id)
        .execution_options(populate_existing=True)
    )


async def live_entry_of_patient(
    session: AsyncSession, queue_id: uuid.UUID, patient_id: uuid.UUID, day: date
) -> QueueEntry | None:
    return await session.scalar(
        select(QueueEntry)
        .where(
            QueueEntry.queue_id == queue_id,
            QueueEntry.patient_id == patient_id,
            QueueEntry.queue_date == day,
            QueueEntry.state.in_(LIVE_STATES),
        )
        .execution_options(populate_existing=True)
    )


def before(entry: QueueEntry) -> ColumnElement[bool]:
    """Entries ahead of ``entry`` in queue order."""
    return or_(
        QueueEntry.sort_key < entry.sort_key,
        and_(
            QueueEntry.sort_key == entry.sort_key,
            or_(
                QueueEntry.checked_in_at < entry.checked_in_at,
                and_(QueueEntry.checked_in_at == entry.checked_in_at, QueueEntry.id < entry.id),
            ),
        ),
    )


async def patients_ahead(session: AsyncSession, entry: QueueEntry) -> int:
    return (
        await session.scalar(
            select(func.count())
            .select_from(QueueEntry)
            .where(waiting_in(entry.queue_id, entry.queue_date), before(entry))
        )
        or 0
    )


async def average_minutes(session: AsyncSession, queue_id: uuid.UUID, day: date) -> int | None:
    """The average consultation time of the queue's last visits that day, in whole minutes (at least 1),
    or None when too few visits have finished. Computed here, not in SQL: date arithmetic differs."""
    rows = await session.execute(
        select(QueueEntry.visit_started_at, QueueEntry.finished_at)
        .where(
            QueueEntry.queue_id == queue_id,
            QueueEntry.queue_date == day,
            QueueEntry.state == "done",
            QueueEntry.visit_started_at.is_not(None),
            QueueEntry.finished_at.is_not(None),
        )
        .order_by(QueueEntry.finished_at.desc())
        .limit(AVERAGE_SAMPLE)
    )
    durations = [(row.finished_at - row.visit_started_at).total_seconds() for row in rows]
    if len(durations) < AVERAGE_MINIMUM:
        return None
    return max(1, round(sum(durations) / len(durations) / 60))


async def entries_of_day(
    session: AsyncSession, queue_ids: Iterable[uuid.UUID], day: date, *, states: Sequence[str] | None = None
) -> list[QueueEntry]:
    """The entries of some queues on a day: the live ones in queue order, then the ended ones."""
    conditions: list[ColumnElement[bool]] = [
        QueueEntry.queue_id.in_(list(queue_ids)),
        QueueEntry.queue_date == day,
    ]
    if states is not None:
        conditions.append(QueueEntry.state.in_(states))
    rows = await session.scalars(select(QueueEntry).where(*conditions).order_by(*QUEUE_ORDER))
    return list(rows.all())


async def counts(
    session: AsyncSession, queue_ids: Sequence[uuid.UUID], day: date
) -> dict[uuid.UUID, dict[str, int]]:
    """Per queue, how many entries of the day are in each state."""
    found: dict[uuid.UUID, dict[str, int]] = {queue_id: {} for queue_id in queue_ids}
    if not queue_ids:
        return found
    rows = await session.execute(
        select(QueueEntry.queue_id, QueueEntry.state, func.count())
        .where(QueueEntry.queue_id.in_(queue_ids), QueueEntry.queue_date == day)
        .group_by(QueueEntry.queue_id, QueueEntry.state)
    )
    for queue_id, state, number in rows.all():
        found[queue_id][state] = number
    return found


async def queues(
    session: AsyncSession,
    *,
    campus_ids: frozenset[uuid.UUID] | None,
    department_id: uuid.UUID | None = None,
    kind: str | None = None,
    active_only: bool = False,
) -> list[Queue]:
    conditions: list[ColumnElement[bool]] = []
    if campus_ids is not None:
        conditions.append(Queue.campus_id.in_(campus_ids))
    if department_id is not None:
        conditions.append(Queue.department_id == department_id)
    if kind is not None:
        conditions.append(Queue.kind == kind)
    if active_only:
        conditions.append(Queue.is_active.is_(True))
    rows = await session.scalars(select(Queue).where(*conditions).order_by(Queue.kind, Queue.name))
    return list(rows.all())


async def open_sessions_of_doctor(
    session: AsyncSession, doctor_id: uuid.UUID, day: date
) -> Sequence[ClinicSession]:
    """A doctor's open clinic sessions of ``day``, earliest first."""
    found = await session.scalars(
        select(ClinicSession)
        .where(
            ClinicSession.doctor_id == doctor_id,
            ClinicSession.session_date == day,
            ClinicSession.state == "open",
        )
        .order_by(ClinicSession.starts_at)
    )
    return found.all()


def _feeding(queue: Queue) -> list[ColumnElement[bool]] | None:
    """Which clinic sessions send their patients to ``queue``: those of its room (room queues), or its
    department's sessions without a room (the hall); None for exam and lab stations (orders only)."""
    if queue.kind == "room":
        return [ClinicSession.campus_id == queue.campus_id, ClinicSession.room == queue.code]
    if queue.kind == "hall":
        return [ClinicSession.department_id == queue.department_id, ClinicSession.room.is_(None)]
    return None


async def sits_in_queue(session: AsyncSession, doctor_id: uuid.UUID, queue: Queue, day: date) -> bool:
    """Whether the doctor holds an open clinic session on ``day`` whose patients wait in ``queue``."""
    feeding = _feeding(queue)
    if feeding is None:
        return False
    found = await session.scalar(
        select(ClinicSession.id)
        .where(
            ClinicSession.doctor_id == doctor_id,
            ClinicSession.session_date == day,
            ClinicSession.state == "open",
            *feeding,
        )
        .limit(1)
    )
    return found is not None


async def other_doctors_sessions(
    session: AsyncSession, doctor_id: uuid.UUID, queue: Queue, day: date
) -> list[uuid.UUID]:
    """The sessions of ``day`` feeding ``queue`` that other named doctors hold (whose patients the doctor's
    call-next leaves to them)."""
    feeding = _feeding(queue)
    if feeding is None:
        return []
    found = await session.scalars(
        select(ClinicSession.id).where(
            ClinicSession.doctor_id.is_not(None),
            ClinicSession.doctor_id != doctor_id,
            ClinicSession.session_date == day,
            *feeding,
        )
    )
    return list(found.all())


async def visit_begun_for_booking(session: AsyncSession, booking_id: uuid.UUID) -> bool:
    """Whether a doctor has begun (or finished) the visit of this booking in any queue."""
    found = await session.scalar(
        select(QueueEntry.id)
        .where(QueueEntry.booking_id == booking_id, QueueEntry.visit_started_at.is_not(None))
        .limit(1)
    )
    return found is not None


async def queue_by_scope(session: AsyncSession, scope_key: str) -> Queue | None:
    return await session.scalar(select(Queue).where(Queue.scope_key == scope_key))


async def next_number(session: AsyncSession, queue_id: uuid.UUID, day: date) -> int:
    """The next display number of a station on a day (read under the queue's lock)."""
    highest = await session.scalar(
        select(func.max(QueueEntry.display_number)).where(
            QueueEntry.queue_id == queue_id, QueueEntry.queue_date == day
        )
    )
    return (highest or 0) + 1


async def pending_orders(
    session: AsyncSession, patient_index: str, day: date, *, station_code: str | None = None
) -> list[ExamOrder]:
    conditions: list[ColumnElement[bool]] = [
        ExamOrder.patient_index == patient_index,
        ExamOrder.order_date == day,
        ExamOrder.state == "pending",
    ]
    if station_code is not None:
        conditions.append(ExamOrder.station_code == station_code)
    rows = await session.scalars(select(ExamOrder).where(*conditions).order_by(ExamOrder.ordered_at))
    return list(rows.all())


async def orders_of_entries(
    session: AsyncSession, entry_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[ExamOrder]]:
    found: dict[uuid.UUID, list[ExamOrder]] = {}
    if not entry_ids:
        return found
    rows = await session.scalars(select(ExamOrder).where(ExamOrder.entry_id.in_(entry_ids)))
    for order in rows.all():
        if order.entry_id is not None:
            found.setdefault(order.entry_id, []).append(order)
    return found


async def patient_ids_of_account(session: AsyncSession, account_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(AccountPatient.patient_id).where(AccountPatient.account_id == account_id)
    )
    return list(rows.all())


async def entries_of_patients(
    session: AsyncSession, patient_ids: Sequence[uuid.UUID], day: date
) -> list[tuple[QueueEntry, Queue]]:
    if not patient_ids:
        return []
    rows = await session.execute(
        select(QueueEntry, Queue)
        .join(Queue, Queue.id == QueueEntry.queue_id)
        .where(QueueEntry.patient_id.in_(patient_ids), QueueEntry.queue_date == day)
        .order_by(QueueEntry.checked_in_at)
    )
    return [(entry, queue) for entry, queue in rows.tuples().all()]


async def pending_orders_of_patients(
    session: AsyncSession, patient_indexes: Sequence[str], day: date
) -> list[ExamOrder]:
    if not patient_indexes:
        return []
    rows = await session.scalars(
        select(ExamOrder)
        .where(
            ExamOrder.patient_index.in_(patient_indexes),
            ExamOrder.order_date == day,
            ExamOrder.state == "pending",
        )
        .order_by(ExamOrder.ordered_at)
    )
    return list(rows.all())
