"""Exam and lab orders from the HIS (检查检验申请): the feed that fills the station queues.

A sweep reads the HIS's orders changed since the last read, minus an overlap (the HIS commits out of order,
and its clock is not ours); receiving an order twice changes nothing (``his_order_id`` is unique). An
active order waits for the patient to check in at its station (``checkin.check_in_at_station``); a
cancelled one is withdrawn, and a patient waiting only for it leaves the station's queue.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.config import get_settings
from ihos.db import insert_unique
from ihos.integrations.his import HisOrder, his_orders
from ihos.kit.time import hospital_zone, now
from ihos.models.queueing import ExamOrder, QueueEntry, QueueFeedCursor
from ihos.patients import repository as patients
from ihos.queueing import events
from ihos.security.fields import blind_index
from ihos.security.masking import mask_name

log = logging.getLogger(__name__)

FEED = "his.orders"
OVERLAP = timedelta(minutes=2)
FIRST_LOOK_BACK = timedelta(hours=12)  # the first read ever: the orders of the last half day
BATCH = 200


async def read_his_orders(session: AsyncSession) -> int:
    """Receive the orders changed since the last read; returns how many were new or changed here."""
    cursor = await session.get(QueueFeedCursor, FEED)
    since = cursor.read_until - OVERLAP if cursor is not None else now() - FIRST_LOOK_BACK
    client = his_orders(session, get_settings().integrations.his)
    newest = cursor.read_until if cursor is not None else None
    received = 0
    while True:
        batch = await client.orders_changed_since(since, limit=BATCH)
        for order in batch:
            received += await receive(session, order)
            newest = order.changed_at if newest is None else max(newest, order.changed_at)
        if len(batch) < BATCH or batch[-1].changed_at <= since:
            break
        since = batch[-1].changed_at
    if newest is not None:
        if cursor is None:
            await insert_unique(session, QueueFeedCursor(feed=FEED, read_until=newest))
        else:
            cursor.read_until = newest
            await session.flush()
    return received


async def receive(session: AsyncSession, order: HisOrder) -> int:
    """One order from the feed: 1 if it changed something here, 0 if it was known already."""
    existing = await session.scalar(select(ExamOrder).where(ExamOrder.his_order_id == order.his_order_id))
    if order.state == "cancelled":
        return await _withdraw(session, existing) if existing is not None else 0
    if existing is not None:
        return 0
    patient = await patients.patient_by_id_number(session, order.patient_id_number)
    created = ExamOrder(
        his_order_id=order.his_order_id,
        kind=order.kind,
        patient_index=blind_index(order.patient_id_number, kind="id_number"),
        patient_id=patient.id if patient is not None else None,
        display_name=mask_name(order.patient_name),
        station_code=order.station_code,
        station_name=order.station_name,
        item_name=order.item_name,
        ordered_at=order.ordered_at,
        order_date=order.ordered_at.astimezone(hospital_zone()).date(),
        state="pending",
    )
    return 1 if await insert_unique(session, created) else 0


async def _withdraw(session: AsyncSession, order: ExamOrder) -> int:
    if order.state == "cancelled":
        return 0
    entry_id = order.entry_id
    order.state = "cancelled"
    await session.flush()
    if entry_id is None:
        return 1
    others = await session.scalar(
        select(func.count())
        .select_from(ExamOrder)
        .where(ExamOrder.entry_id == entry_id, ExamOrder.state == "queued")
    )
    if not others:
        await _leave_for_cancelled_order(session, entry_id)
    return 1


async def _leave_for_cancelled_order(session: AsyncSession, entry_id: object) -> None:
    entry = await session.get(QueueEntry, entry_id)
    if entry is None:
        return
    queue = await events.lock_queue(session, entry.queue_id)
    if queue is None:  # pragma: no cover - queues are never deleted
        return
    changed = await session.execute(
        update(QueueEntry)
        .where(QueueEntry.id == entry.id, QueueEntry.state == "waiting")
        .values(
            state="left", live_key=None, end_reason="order_cancelled", finished_at=now(), updated_at=now()
        )
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount == 1:  # type: ignore[attr-defined]
        await session.refresh(entry)
        await events.append(session, queue, "left", entry)
