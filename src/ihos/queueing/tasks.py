"""Background work of the queue: reading the HIS's exam and lab orders, and closing the entries a day left
open (patients never called or never finished are not waiting tomorrow)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.jobs import sweep
from ihos.kit.time import local_today, now
from ihos.models.queueing import QueueEntry
from ihos.queueing import orders
from ihos.queueing.repository import LIVE_STATES


@sweep("queue.his_orders", every=timedelta(seconds=15))
async def read_his_orders(session: AsyncSession) -> None:
    await orders.read_his_orders(session)


@sweep("queue.close_days", every=timedelta(hours=1))
async def close_past_days(session: AsyncSession) -> None:
    """Entries of past days still live end as ``left`` (``day_ended``); nobody watches them any more, so
    no events are logged."""
    at = now()
    await session.execute(
        update(QueueEntry)
        .where(QueueEntry.queue_date < local_today(), QueueEntry.state.in_(LIVE_STATES))
        .values(state="left", live_key=None, end_reason="day_ended", finished_at=at, updated_at=at)
        .execution_options(synchronize_session=False)
    )
