"""Paying a booking's fee in one step from the app: its order (made once) and the channel's prepay.
The booking is confirmed when the channel's notification arrives (``service._registration_paid``)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from ihos.auth.caller import Caller
from ihos.billing import service as billing
from ihos.booking.service import order_for_booking
from ihos.integrations.payment.base import Payer, Prepay, Scene
from ihos.models.billing import Order


async def pay_booking(
    session: AsyncSession,
    caller: Caller,
    booking_id: uuid.UUID,
    *,
    channel_name: str,
    scene: Scene,
    payer: Payer,
    insurance_authorisation: str | None = None,
) -> tuple[Order, Prepay]:
    order = await order_for_booking(session, caller, booking_id)
    prepay = await billing.pay(
        session,
        caller,
        order_number=order.order_number,
        channel_name=channel_name,
        scene=scene,
        payer=payer,
        insurance_authorisation=insurance_authorisation,
    )
    await session.refresh(order)  # billing moved it to paying with a conditional UPDATE
    return order, prepay
