"""Background work of the integrations: the payment sandboxes' notification deliveries."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ihos.integrations.payment import courier
from ihos.jobs import handler


@handler(courier.JOB)
async def deliver_payment_notification(_session: AsyncSession, payload: dict[str, Any]) -> None:
    await courier.deliver(payload)
