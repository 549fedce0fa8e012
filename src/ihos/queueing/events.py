"""The queue's event log and what screens, desks and phones receive.

Every change to a queue appends a ``QueueEvent`` with the queue's next sequence number, in the changing
transaction, and publishes the same payload on the hub after commit (topic ``queue.<id>``; the patient's
own topic ``queue.patient.<id>`` too; a queue made or switched on or off, ``queue.department.<id>``). A
client that reconnects asks for the events after the last sequence number it has
(``ihos.queueing.stream``), so nothing depends on the hub delivering.

Entries travel as ``entry_out``: masked name, number, state, labels and the sort key; never an ID number,
a phone number or a priority reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Hashable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.kit.ids import uuid7
from ihos.kit.time import now
from ihos.models.queueing import Queue, QueueEntry, QueueEvent
from ihos.realtime import publish_after_commit

VERBS = {"room": "就诊", "hall": "就诊", "exam": "检查", "lab": "检验"}


def queue_topic(queue_id: uuid.UUID | str) -> str:
    return f"queue.{queue_id}"


def patient_topic(patient_id: uuid.UUID | str) -> str:
    return f"queue.patient.{patient_id}"


def department_topic(department_id: uuid.UUID | str) -> str:
    """Where a department's list of queues changes: a hall screen follows it to show a new room."""
    return f"queue.department.{department_id}"


def queue_list_changed(session: AsyncSession, queue: Queue) -> None:
    """Tell the department's hall screens, after commit, that ``queue`` was made or switched on or off."""
    if queue.department_id is not None:
        publish_after_commit(
            session,
            department_topic(queue.department_id),
            {"type": "queues_changed", "queue_id": str(queue.id), "is_active": queue.is_active},
        )


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def labels(entry: QueueEntry) -> list[str]:
    """What the screens mark: booked / walk_in / order, priority, return, late, missed."""
    marks = [entry.kind]
    if entry.priority_level > 0:
        marks.append("priority")
    if entry.is_return:
        marks.append("return")
    if entry.is_late:
        marks.append("late")
    if entry.miss_count > 0:
        marks.append("missed")
    return marks


def entry_out(entry: QueueEntry) -> dict[str, Any]:
    """An entry as every client sees it (JSON-ready)."""
    return {
        "id": str(entry.id),
        "queue_id": str(entry.queue_id),
        "queue_date": entry.queue_date.isoformat(),
        "number": entry.display_number,
        "name": entry.display_name,
        "state": entry.state,
        "labels": labels(entry),
        "sort_key": entry.sort_key,
        "checked_in_at": iso(entry.checked_in_at),
        "called_at": iso(entry.called_at),
        "called_to": entry.called_to,
        "call_count": entry.call_count,
        "miss_count": entry.miss_count,
        "visit_started_at": iso(entry.visit_started_at),
        "finished_at": iso(entry.finished_at),
        "session_id": str(entry.session_id) if entry.session_id is not None else None,
    }


def announcement(queue: Queue, entry: QueueEntry, place: str) -> str:
    """ "请 12号 张*三 到 3诊室 就诊": the text the screen shows and speaks; the name is masked."""
    return f"请 {entry.display_number}号 {entry.display_name} 到 {place} {VERBS.get(queue.kind, '就诊')}"


async def lock_queue(session: AsyncSession, queue_id: uuid.UUID) -> Queue | None:
    """The queue, locked for this transaction.

    Every change to a queue takes this lock first (PostgreSQL: the queue's row; SQLite: every writer
    holds the database lock), so the waiting list a placement reads stays as read until commit, and
    locks are always taken queue first, entries after: no two changes can deadlock.
    """
    found = await session.scalars(
        select(Queue).where(Queue.id == queue_id).with_for_update().execution_options(populate_existing=True)
    )
    return found.one_or_none()


async def lock_queues(session: AsyncSession, queue_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Queue]:
    """Several queues, locked in id order (a transfer touches two)."""
    locked = {}
    for queue_id in sorted(set(queue_ids)):
        queue = await lock_queue(session, queue_id)
        if queue is not None:
            locked[queue_id] = queue
    return locked


async def move(session: AsyncSession, moved: Iterable[tuple[Hashable, int]]) -> None:
    """New keys for the patients a placement pushed down by one."""
    for entry_id, sort_key in moved:
        await session.execute(
            update(QueueEntry)
            .where(QueueEntry.id == entry_id)
            .values(sort_key=sort_key)
            .execution_options(synchronize_session=False)
        )


_NEXT_SEQ = update(Queue).returning(Queue.last_seq).execution_options(synchronize_session=False)


async def append(
    session: AsyncSession,
    queue: Queue,
    kind: str,
    entry: QueueEntry | None,
    *,
    announcement: str | None = None,
    moved: Iterable[tuple[Hashable, int]] = (),
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Log one change of ``queue`` and publish it after commit; returns the payload."""
    seq = (
        await session.execute(
            _NEXT_SEQ.where(Queue.id == queue.id).values(last_seq=Queue.last_seq + 1, updated_at=now())
        )
    ).scalar_one()
    occurred_at = now()
    payload: dict[str, Any] = {
        "type": "event",
        "queue_id": str(queue.id),
        "seq": seq,
        "kind": kind,
        "at": occurred_at.isoformat(),
        "entry": entry_out(entry) if entry is not None else None,
        "announcement": announcement,
        "moved": [{"id": str(entry_id), "sort_key": key} for entry_id, key in moved],
        **(extra or {}),
    }
    await session.execute(
        insert(QueueEvent).values(
            id=uuid7(),
            queue_id=queue.id,
            seq=seq,
            kind=kind,
            entry_id=entry.id if entry is not None else None,
            occurred_at=occurred_at,
            payload=payload,
        )
    )
    publish_after_commit(session, queue_topic(queue.id), payload)
    if entry is not None:
        publish_after_commit(session, patient_topic(entry.patient_id), payload)
    return payload


async def events_after(
    session: AsyncSession, queue_id: uuid.UUID, after: int, *, limit: int
) -> list[dict[str, Any]]:
    """The logged events of a queue after ``after``, oldest first (at most ``limit``)."""
    rows = await session.scalars(
        select(QueueEvent.payload)
        .where(QueueEvent.queue_id == queue_id, QueueEvent.seq > after)
        .order_by(QueueEvent.seq)
        .limit(limit)
    )
    return list(rows.all())
