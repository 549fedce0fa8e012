"""Shaping queues, entries and orders for the API (names are masked already: entries keep only that)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ihos.models.queueing import ExamOrder, Queue, QueueEntry, QueueScreen
from ihos.queueing import events, positions
from ihos.queueing.positions import Standing
from ihos.queueing.schemas import (
    CheckInOut,
    ExamOrderOut,
    IssuedScreenOut,
    MyQueueItemOut,
    QueueEntryOut,
    QueueOut,
    ScreenOut,
    StaffEntryOut,
)


def queue_out(queue: Queue) -> QueueOut:
    return QueueOut.model_validate(queue)


def entry_out(entry: QueueEntry) -> QueueEntryOut:
    return QueueEntryOut.model_validate(events.entry_out(entry))


def staff_entry_out(entry: QueueEntry, position: int | None) -> StaffEntryOut:
    return StaffEntryOut.model_validate(
        {
            **events.entry_out(entry),
            "patient_id": entry.patient_id,
            "booking_id": entry.booking_id,
            "session_id": entry.session_id,
            "channel": entry.channel,
            "priority_level": entry.priority_level,
            "awaiting_return": entry.awaiting_return,
            "end_reason": entry.end_reason,
            "position": position,
        }
    )


def order_out(order: ExamOrder) -> ExamOrderOut:
    return ExamOrderOut.model_validate(order)


def standing_out(standing: Standing) -> MyQueueItemOut:
    return MyQueueItemOut(
        entry=entry_out(standing.entry),
        queue=queue_out(standing.queue),
        position=standing.position if standing.entry.state == "waiting" else None,
        patients_ahead=standing.patients_ahead,
        estimated_wait_minutes=standing.estimated_wait_minutes,
        orders=[order_out(order) for order in standing.orders],
    )


async def check_in_out(session: AsyncSession, entry: QueueEntry, queue: Queue) -> CheckInOut:
    standing = await positions.standing_of(session, entry, queue)
    return CheckInOut(
        entry=entry_out(entry),
        queue=queue_out(queue),
        position=standing.position if entry.state == "waiting" else None,
        estimated_wait_minutes=standing.estimated_wait_minutes,
    )


def screen_out(screen: QueueScreen) -> ScreenOut:
    return ScreenOut.model_validate(screen)


def issued_screen_out(screen: QueueScreen, token: str) -> IssuedScreenOut:
    return IssuedScreenOut.model_validate({**ScreenOut.model_validate(screen).model_dump(), "token": token})
