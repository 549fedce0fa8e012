"""Where a patient stands (候诊查询, QU-05, PT-15): position, patients ahead and the estimated wait, for
the patient app, kiosks and desks.

The estimate is patients ahead × minutes per patient: the average consultation time of the queue's
visits finished that day (from the third one), else the session's average minutes, else the rule's
``consult_minutes``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from ihos.auth.caller import Caller
from ihos.kit.time import local_today
from ihos.models.patients import Patient
from ihos.models.queueing import ExamOrder, Queue, QueueEntry
from ihos.models.scheduling import ClinicSession
from ihos.queueing import repository
from ihos.queueing.rules import queue_rules


@dataclass(frozen=True)
class Standing:
    entry: QueueEntry
    queue: Queue
    patients_ahead: int | None
    estimated_wait_minutes: int | None
    orders: list[ExamOrder] = field(default_factory=list)

    @property
    def position(self) -> int | None:
        return None if self.patients_ahead is None else self.patients_ahead + 1


async def minutes_per_patient(session: AsyncSession, queue: Queue, entry: QueueEntry) -> int:
    average = await repository.average_minutes(session, queue.id, entry.queue_date)
    if average is not None:
        return average
    if entry.session_id is not None:
        clinic = await session.get(ClinicSession, entry.session_id)
        if clinic is not None and clinic.average_minutes > 0:
            return clinic.average_minutes
    return (await queue_rules(session, queue)).consult_minutes


async def standing_of(session: AsyncSession, entry: QueueEntry, queue: Queue) -> Standing:
    if entry.state == "waiting":
        ahead = await repository.patients_ahead(session, entry)
        return Standing(entry, queue, ahead, ahead * await minutes_per_patient(session, queue, entry))
    if entry.state == "called":
        return Standing(entry, queue, 0, 0)
    return Standing(entry, queue, None, None)


async def standings_of_patients(
    session: AsyncSession, patients: list[Patient], *, day: date | None = None
) -> tuple[list[Standing], list[ExamOrder]]:
    """The patients' places in today's queues, and their orders not yet checked in at a station."""
    day = day or local_today()
    rows = await repository.entries_of_patients(session, [p.id for p in patients], day)
    orders = await repository.orders_of_entries(session, [entry.id for entry, _queue in rows])
    standings = []
    for entry, queue in rows:
        standing = await standing_of(session, entry, queue)
        standings.append(
            Standing(
                standing.entry,
                standing.queue,
                standing.patients_ahead,
                standing.estimated_wait_minutes,
                orders.get(entry.id, []),
            )
        )
    pending = await repository.pending_orders_of_patients(session, [p.id_number_index for p in patients], day)
    return standings, pending


async def my_queues(session: AsyncSession, caller: Caller) -> tuple[list[Standing], list[ExamOrder]]:
    """Today's queues of every patient the account holds."""
    patient_ids = await repository.patient_ids_of_account(session, caller.subject_id)
    patients = [await session.get_one(Patient, patient_id) for patient_id in patient_ids]
    return await standings_of_patients(session, patients)


async def positions_in(session: AsyncSession, queue_id: uuid.UUID, day: date) -> dict[uuid.UUID, int]:
    """Position (from 1) of every waiting patient of a queue."""
    waiting = await repository.waiting(session, queue_id, day)
    return {uuid.UUID(str(item.id)): index + 1 for index, item in enumerate(waiting)}
