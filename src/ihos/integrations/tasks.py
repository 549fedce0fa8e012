"""Background work of the integrations: the payment sandboxes' notification deliveries, and forgetting
WeChat Pay notification nonces once they are too old to matter."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ihos.integrations.payment import courier
from ihos.jobs import handler, sweep


@handler(courier.JOB)
async def deliver_payment_notification(_session: AsyncSession, payload: dict[str, Any]) -> None:
    await courier.deliver(payload)


@sweep("payments.purge_wechat_nonces", every=timedelta(minutes=10))
async def purge_wechat_pay_nonces(session: AsyncSession) -> None:
    from ihos.integrations.payment.wechat.channel import purge_expired_nonces

    await purge_expired_nonces(session)
