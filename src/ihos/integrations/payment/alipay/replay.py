"""Replayed notifications (重放通知): remember each accepted notify_id and refuse it a second time.

A notification older than the channel's window is refused as stale before its id is looked at, so
ids are kept only as long as the window; older rows are purged on the way.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.kit.time import now
from ihos.models.sandbox_alipay_unionpay import SeenChannelNotification


async def remember_notification(
    session: AsyncSession, *, channel: str, notification_id: str, notified_at: datetime, keep: timedelta
) -> bool:
    """Record ``notification_id`` as accepted in the caller's transaction; False if it already was.

    The unique constraint decides, so two deliveries racing each other cannot both pass. A caller
    that rolls back forgets the id with everything else, and the channel's resend is then accepted.
    """
    await session.execute(
        delete(SeenChannelNotification).where(
            SeenChannelNotification.channel == channel,
            SeenChannelNotification.notified_at < now() - keep,
        )
    )
    try:
        async with session.begin_nested():
            await session.execute(
                insert(SeenChannelNotification).values(
                    channel=channel, notification_id=notification_id, notified_at=notified_at
                )
            )
    except IntegrityError:
        return False
    return True
