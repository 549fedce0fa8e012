"""The doctor's station (语音叫号, QU-03): call the next patient or a chosen one, recall, mark a missed
call, start and finish the visit, transfer to another room or queue; the triage desk removes and
re-queues. Every call carries its announcement ("请 12号 张*三 到 3诊室 就诊"), spoken by the screens.

"Call next" is one conditional UPDATE of the first waiting entry in queue order: on PostgreSQL the
sub-select takes it ``FOR UPDATE SKIP LOCKED``; on SQLite (writers one at a time) the candidates are tried
in turn, each ``WHERE state = 'waiting'``. Every change locks the queue first (``events.lock_queue``), so
changes of one queue never deadlock and placements read a stable waiting list.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import bindparam, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.audit import service as audit
from ihos.auth.caller import Caller
from ihos.booking.messages import send as send_sms
from ihos.booking.service import VisitBegun
from ihos.db import insert_unique
from ihos.kit.time import local_today, now
from ihos.models.patients import Patient
from ihos.models.queueing import Queue, QueueEntry
from ihos.models.scheduling import ClinicSession
from ihos.queueing import events, repository
from ihos.queueing.checkin import requeue_entry
from ihos.queueing.ordering import Arrival, Placement, place_arrival, place_missed, place_next
from ihos.queueing.rules import queue_rules
from ihos.queueing.service import (
    AlreadyInQueue,
    EntryStateConflict,
    QueueEmpty,
    QueueInactive,
    QueueNotFound,
    live_key,
    minute_of,
    staff_entry,
    staff_queue,
)

CANDIDATES = 8  # SQLite: how many waiting patients to try in turn (PostgreSQL skips locked rows itself)
TransferPlacement = Literal["keep", "next"]


@dataclass(frozen=True)
class Called:
    entry: QueueEntry
    queue: Queue
    announcement: str


# -- call next ---------------------------------------------------------------------------------------------


def _call_values() -> dict[str, Any]:
    return {
        "state": "called",
        "called_at": bindparam("b_at"),
        "called_by": bindparam("b_caller"),
        "called_to": bindparam("b_place"),
        "call_count": QueueEntry.call_count + 1,
        "updated_at": bindparam("b_at"),
    }


def _pick_next(own_patients: bool) -> Any:
    """The waiting entries of the queue in order; with ``own_patients``, not those booked with another
    named doctor (entries without a session, and a clinic's without a named doctor, are anyone's)."""
    pick = select(QueueEntry.id).where(
        QueueEntry.queue_id == bindparam("b_queue"),
        QueueEntry.queue_date == bindparam("b_day"),
        QueueEntry.state == "waiting",
    )
    if own_patients:
        anothers = exists().where(
            ClinicSession.id == QueueEntry.session_id,
            ClinicSession.doctor_id.is_not(None),
            ClinicSession.doctor_id != bindparam("b_doctor"),
        )
        pick = pick.where(~anothers)
    return pick.order_by(*repository.QUEUE_ORDER)


def _call_next_postgres(own_patients: bool) -> Any:
    """Pick and call in one statement; SKIP LOCKED sends a second caller to the next patient."""
    pick = _pick_next(own_patients).limit(1).with_for_update(of=QueueEntry, skip_locked=True)
    return (
        update(QueueEntry)
        .where(QueueEntry.id == pick.scalar_subquery())
        .values(**_call_values())
        .returning(QueueEntry)
        .execution_options(synchronize_session=False, populate_existing=True)
    )


# Bind names carry a prefix: a column's own name is reserved in an UPDATE's SET clause.
_CALL_NEXT_POSTGRES = {own: _call_next_postgres(own) for own in (False, True)}
# SQLite: the candidates, then each one called only if it is still waiting.
_CANDIDATES = {own: _pick_next(own).limit(CANDIDATES) for own in (False, True)}
_CALL_IF_WAITING = (
    update(QueueEntry)
    .where(QueueEntry.id == bindparam("b_entry"), QueueEntry.state == "waiting")
    .values(**_call_values())
    .returning(QueueEntry.id)
    .execution_options(synchronize_session=False)
)


async def _take_next(
    session: AsyncSession, values: dict[str, Any], *, own_patients: bool
) -> QueueEntry | None:
    """The first waiting patient, called (the entry as it is now), or None."""
    if session.bind.dialect.name == "postgresql":
        return (await session.scalars(_CALL_NEXT_POSTGRES[own_patients], values)).one_or_none()
    for entry_id in (await session.scalars(_CANDIDATES[own_patients], values)).all():
        called = (
            await session.execute(_CALL_IF_WAITING, {**values, "b_entry": entry_id})
        ).scalar_one_or_none()
        if called is not None:
            return await session.get_one(QueueEntry, called, populate_existing=True)
    return None


async def call_next(
    session: AsyncSession, caller: Caller, *, queue_id: uuid.UUID, place: str | None
) -> Called:
    """Call the first waiting patient of the queue (``place``: where to go, for a hall's doctor).

    A doctor holding a clinic session in this queue today calls their own patients: a room shared by a
    morning and an afternoon doctor, or a hall shared by several, keeps another doctor's late patients for
    that doctor. Staff without a session here (a nurse calling for the room) call whoever is next."""
    queue = await _lock_open(session, caller, queue_id)
    today = local_today()
    own_patients = (
        caller.is_staff
        and caller.id is not None
        and await repository.sits_in_queue(session, caller.id, queue, today)
    )
    values = {
        "b_queue": queue.id,
        "b_day": today,
        "b_at": now(),
        "b_caller": caller.id if caller.is_staff else None,
        "b_place": place or queue.place,
        "b_doctor": caller.id,
    }
    entry = await _take_next(session, values, own_patients=own_patients)
    if entry is None:
        raise QueueEmpty("没有候诊的本人患者" if own_patients else None)
    return await _announce(session, caller, queue, entry, kind="called")


async def call_entry(
    session: AsyncSession, caller: Caller, *, entry_id: uuid.UUID, place: str | None
) -> Called:
    """Call a chosen waiting patient (the doctor picks from the list)."""
    entry, queue = await staff_entry(session, caller, entry_id)
    queue = await _lock_open(session, caller, queue.id)
    values = {
        "b_entry": entry.id,
        "b_at": now(),
        "b_caller": caller.id if caller.is_staff else None,
        "b_place": place or queue.place,
    }
    if (await session.execute(_CALL_IF_WAITING, values)).scalar_one_or_none() is None:
        raise EntryStateConflict("该患者当前不在候诊中，不能叫号")
    await session.refresh(entry)
    return await _announce(session, caller, queue, entry, kind="called")


async def recall(session: AsyncSession, caller: Caller, *, entry_id: uuid.UUID) -> Called:
    """Call the called patient again (重呼)."""
    entry, queue = await _change(
        session,
        caller,
        entry_id,
        from_states=("called",),
        values={"call_count": QueueEntry.call_count + 1, "called_at": now()},
        refusal="只能重呼已叫号的患者",
    )
    return await _announce(session, caller, queue, entry, kind="recalled")


async def _announce(
    session: AsyncSession, caller: Caller, queue: Queue, entry: QueueEntry, *, kind: str
) -> Called:
    text = events.announcement(queue, entry, entry.called_to or queue.place)
    await events.append(session, queue, kind, entry, announcement=text)
    await _audit(session, caller, f"queue.{'call' if kind == 'called' else 'recall'}", entry)
    rules = await queue_rules(session, queue)
    if rules.sms_on_call:
        patient = await session.get_one(Patient, entry.patient_id)
        await send_sms(
            session,
            [patient.phone],
            f"叫号通知：{text}。",
            dedupe_key=f"queue.call:{entry.id}:{entry.call_count}",
        )
    return Called(entry, queue, text)


# -- the visit ----------------------------------------------------------------------------------------------


async def mark_missed(session: AsyncSession, caller: Caller, *, entry_id: uuid.UUID) -> QueueEntry:
    """过号: the called patient did not come. Back behind ``miss_back`` waiting patients, or out of the
    queue after ``max_misses`` misses (the triage desk can re-queue them)."""
    entry, queue = await staff_entry(session, caller, entry_id)
    queue = await _lock_open(session, caller, queue.id)
    rules = await queue_rules(session, queue)
    misses = entry.miss_count + 1
    waiting = await repository.waiting(session, queue.id, entry.queue_date)
    placement = place_missed(rules, waiting, misses=misses, anchor_minute=minute_of(now()))
    if placement is None:
        values: dict[str, Any] = {
            "state": "missed",
            "live_key": None,
            "end_reason": "missed",
            "finished_at": now(),
        }
    else:
        values = {"state": "waiting", "sort_key": placement.sort_key}
    changed = await _conditional(session, entry, ("called",), {**values, "miss_count": misses})
    if not changed:
        raise EntryStateConflict("只能对已叫号的患者登记过号")
    moved = placement.moved if placement is not None else ()
    await events.move(session, moved)
    await events.append(session, queue, "missed" if placement is not None else "removed", entry, moved=moved)
    await _audit(session, caller, "queue.miss", entry, details={"misses": misses, "out": placement is None})
    return entry


async def start_visit(session: AsyncSession, caller: Caller, *, entry_id: uuid.UUID) -> QueueEntry:
    entry, queue = await _change(
        session,
        caller,
        entry_id,
        from_states=("called",),
        values={"state": "in_visit", "visit_started_at": now()},
        refusal="只能为已叫号的患者开始就诊",
    )
    await events.append(session, queue, "visit_started", entry)
    await _audit(session, caller, "queue.start", entry)
    return entry


async def finish_visit(
    session: AsyncSession, caller: Caller, *, entry_id: uuid.UUID, awaiting_return: bool
) -> QueueEntry:
    """The visit is over; ``awaiting_return``: the doctor sent the patient to an exam and expects them back
    (checking in again puts them behind ``return_after`` patients, marked 复诊)."""
    at = now()
    entry, queue = await _change(
        session,
        caller,
        entry_id,
        from_states=("called", "in_visit"),
        values={"state": "done", "live_key": None, "end_reason": "visited", "finished_at": at},
        refusal="该患者当前不在就诊中",
    )
    if entry.visit_started_at is None:
        # Finished straight from the call: the visit began when the patient was called.
        entry.visit_started_at = entry.called_at
    entry.awaiting_return = awaiting_return
    await session.flush()
    average = await repository.average_minutes(session, queue.id, entry.queue_date)
    await events.append(session, queue, "finished", entry, extra={"average_minutes": average})
    await _audit(session, caller, "queue.finish", entry, details={"awaiting_return": awaiting_return})
    return entry


async def remove(session: AsyncSession, caller: Caller, *, entry_id: uuid.UUID) -> QueueEntry:
    """The patient left (离开): out of the queue; the triage desk can re-queue them."""
    entry, queue = await _change(
        session,
        caller,
        entry_id,
        from_states=repository.LIVE_STATES,
        values={"state": "left", "live_key": None, "end_reason": "left", "finished_at": now()},
        refusal="该患者已不在队列中",
    )
    await events.append(session, queue, "left", entry)
    await _audit(session, caller, "queue.remove", entry)
    return entry


async def requeue(session: AsyncSession, caller: Caller, *, entry_id: uuid.UUID) -> QueueEntry:
    """The triage desk puts a patient who missed too often or left back in the queue (placed as arriving
    now, by the late rule)."""
    entry, queue = await staff_entry(session, caller, entry_id)
    queue = await _lock_open(session, caller, queue.id)
    await session.refresh(entry)
    if entry.state not in ("missed", "left") or entry.end_reason == "transferred":
        raise EntryStateConflict("只能为过号移出或离开的患者重新排队")
    if entry.queue_date != local_today():
        raise EntryStateConflict("只能为今日的患者重新排队")
    return await requeue_entry(session, caller, queue, await queue_rules(session, queue), entry)


async def leave_for_booking(
    session: AsyncSession, booking_id: uuid.UUID, *, reason: str, before_visit: bool = False
) -> int:
    """A booking that ends while its patient waits (cancelled or refunded at a window): the patient leaves
    every queue they wait in for it. For the booking domain to call; returns how many entries ended.

    ``before_visit``: only a patient not yet in the consulting room may leave (退号); one whose visit began
    meanwhile raises ``VisitBegun``, decided under the queue's lock that starting a visit takes too."""
    ended = 0
    leaving = ("waiting", "called") if before_visit else repository.LIVE_STATES
    entry_ids = (
        await session.scalars(
            select(QueueEntry.id).where(
                QueueEntry.booking_id == booking_id, QueueEntry.state.in_(repository.LIVE_STATES)
            )
        )
    ).all()
    for entry_id in entry_ids:
        entry = await session.get_one(QueueEntry, entry_id)
        queue = await events.lock_queue(session, entry.queue_id)
        if queue is None:  # pragma: no cover - queues are never deleted
            continue
        values = {"state": "left", "live_key": None, "end_reason": reason[:20], "finished_at": now()}
        if await _conditional(session, entry, leaving, values):
            await events.append(session, queue, "left", entry)
            ended += 1
        elif before_visit:
            await session.refresh(entry)
            if entry.state == "in_visit":
                raise VisitBegun()
    return ended


# -- transfer -----------------------------------------------------------------------------------------------


async def transfer(
    session: AsyncSession,
    caller: Caller,
    *,
    entry_id: uuid.UUID,
    to_queue_id: uuid.UUID,
    placement: TransferPlacement,
) -> QueueEntry:
    """转诊室: the patient leaves this queue and waits in another of the same campus, by their own number
    and time (``keep``) or to be seen next (``next``). Returns the entry in the new queue."""
    entry, source = await staff_entry(session, caller, entry_id)
    target = await staff_queue(session, caller, to_queue_id)
    if target.id == source.id or target.campus_id != source.campus_id:
        raise QueueNotFound("只能转到本院区的其他队列")
    locked = await events.lock_queues(session, (source.id, target.id))
    source, target = locked[source.id], locked[target.id]
    if not target.is_active:
        raise QueueInactive()
    at = now()
    if not await _conditional(
        session,
        entry,
        repository.LIVE_STATES,
        {"state": "left", "live_key": None, "end_reason": "transferred", "finished_at": at},
    ):
        raise EntryStateConflict("该患者已不在队列中")
    rules = await queue_rules(session, target)
    waiting = await repository.waiting(session, target.id, entry.queue_date)
    if placement == "next":
        placed = place_next(waiting, anchor_minute=minute_of(at))
    else:
        placed = place_arrival(rules, _arrival_of(entry), waiting)
    moved = await _enter(session, entry, target, placed, at=at)
    await events.move(session, placed.moved)
    await events.append(session, source, "transferred_out", entry, extra={"to_queue_id": str(target.id)})
    await events.append(session, target, "transferred_in", moved, moved=placed.moved)
    await _audit(
        session, caller, "queue.transfer", entry, details={"to_queue": str(target.id), "placement": placement}
    )
    return moved


def _arrival_of(entry: QueueEntry) -> Arrival:
    """The patient as they checked in (their lateness stays what it was)."""
    return Arrival(
        kind=entry.kind,  # type: ignore[arg-type]
        number=entry.display_number,
        arrived_minute=minute_of(entry.checked_in_at),
        segment_minute=minute_of(entry.segment_starts_at) if entry.segment_starts_at else None,
        segment_length=(
            max(1, round((entry.segment_ends_at - entry.segment_starts_at).total_seconds() / 60))
            if entry.segment_starts_at and entry.segment_ends_at
            else 30
        ),
        period_end_minute=minute_of(entry.period_ends_at) if entry.period_ends_at else None,
        priority_level=entry.priority_level,
    )


async def _enter(
    session: AsyncSession, entry: QueueEntry, target: Queue, placed: Placement, *, at: datetime
) -> QueueEntry:
    """The transferred patient's entry in ``target``: a new one, or their earlier one there again."""
    key = live_key(target.id, entry.patient_id, entry.queue_date)
    earlier = (
        await repository.entry_of_booking(session, target.id, entry.booking_id) if entry.booking_id else None
    )
    if earlier is not None:
        if not await _conditional(
            session,
            earlier,
            ("done", "missed", "left"),
            {
                "state": "waiting",
                "live_key": key,
                "sort_key": placed.sort_key,
                "end_reason": None,
                "called_at": None,
                "called_to": None,
                "finished_at": None,
                "transferred_from": entry.id,
            },
        ):
            raise AlreadyInQueue()
        return earlier
    moved = QueueEntry(
        queue_id=target.id,
        queue_date=entry.queue_date,
        patient_id=entry.patient_id,
        display_name=entry.display_name,
        booking_id=entry.booking_id,
        session_id=entry.session_id,
        display_number=entry.display_number,
        kind=entry.kind,
        state="waiting",
        live_key=key,
        sort_key=placed.sort_key,
        checked_in_at=entry.checked_in_at,
        channel="transfer",
        segment_starts_at=entry.segment_starts_at,
        segment_ends_at=entry.segment_ends_at,
        period_ends_at=entry.period_ends_at,
        priority_level=entry.priority_level,
        is_late=entry.is_late,
        is_return=entry.is_return,
        miss_count=entry.miss_count,
        transferred_from=entry.id,
        created_at=at,
    )
    if not await insert_unique(session, moved):
        raise AlreadyInQueue()
    return moved


# -- helpers ------------------------------------------------------------------------------------------------


async def _lock_open(session: AsyncSession, caller: Caller, queue_id: uuid.UUID) -> Queue:
    """The open queue, locked; the caller's right to see it is checked on the locked row (one statement
    on every call; a refusal rolls back, and the lock with it)."""
    queue = await events.lock_queue(session, queue_id)
    if queue is None or not caller.may_see_campus(queue.campus_id):
        raise QueueNotFound()
    if not queue.is_active:
        raise QueueInactive()
    return queue


async def _conditional(
    session: AsyncSession, entry: QueueEntry, from_states: tuple[str, ...], values: dict[str, Any]
) -> bool:
    """Change ``entry`` only if it is in one of ``from_states``; the row count decides."""
    changed = await session.execute(
        update(QueueEntry)
        .where(QueueEntry.id == entry.id, QueueEntry.state.in_(from_states))
        .values(**values, updated_at=now())
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        return False
    await session.refresh(entry)
    return True


async def _change(
    session: AsyncSession,
    caller: Caller,
    entry_id: uuid.UUID,
    *,
    from_states: tuple[str, ...],
    values: dict[str, Any],
    refusal: str,
) -> tuple[QueueEntry, Queue]:
    entry, queue = await staff_entry(session, caller, entry_id)
    queue = await _lock_open(session, caller, queue.id)
    if not await _conditional(session, entry, from_states, values):
        raise EntryStateConflict(refusal)
    return entry, queue


async def _audit(
    session: AsyncSession,
    caller: Caller,
    action: str,
    entry: QueueEntry,
    *,
    details: dict[str, Any] | None = None,
) -> None:
    await audit.record(
        session,
        caller,
        action,
        target_kind="queue_entries",
        target_id=entry.id,
        details={"queue": str(entry.queue_id), "number": entry.display_number, **(details or {})},
    )
