"""Booking: hold a place, pay its fee, see and cancel one's bookings."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header

from ihos.auth.deps import PatientCaller
from ihos.backoffice.rules import get_rule
from ihos.billing.schemas import OrderOut
from ihos.booking import desk_api, patient_api, service, system_api
from ihos.booking.schemas import BookingOut, HoldIn
from ihos.kit.http import ClientAddress, DbSession
from ihos.kit.ratelimit import enforce_rate_limit

router = APIRouter(tags=["booking"])


async def _throttle(session: DbSession, caller: PatientCaller, address: str) -> None:
    """Per account and per address: scripts that hammer the booking button are slowed to a person's pace."""
    await enforce_rate_limit(
        f"booking:account:{caller.subject_id}",
        window_seconds=60,
        limit=await get_rule(session, "booking.per_minute_per_account"),
    )
    await enforce_rate_limit(
        f"booking:address:{address}",
        window_seconds=60,
        limit=await get_rule(session, "booking.per_minute_per_address"),
    )


@router.post("/me/bookings", status_code=201, response_model=BookingOut, summary="预约：锁定号源（待支付）")
async def hold(
    body: HoldIn,
    session: DbSession,
    caller: PatientCaller,
    address: ClientAddress,
    idempotency_key: Annotated[
        str | None, Header(max_length=64, description="重试同一请求时使用同一值")
    ] = None,
) -> BookingOut:
    await _throttle(session, caller, address)
    booking = await service.hold(
        session,
        caller,
        service.HoldRequest(
            clinic_session_id=body.clinic_session_id,
            patient_id=body.patient_id,
            channel="app",
            visit_kind=body.visit_kind,
            segment=body.segment_starts_at,
            request_key=idempotency_key,
        ),
    )
    return BookingOut.model_validate(booking)


@router.post("/me/bookings/{booking_id}/order", response_model=OrderOut, summary="挂号费订单（随后支付）")
async def booking_order(booking_id: uuid.UUID, session: DbSession, caller: PatientCaller) -> OrderOut:
    return OrderOut.model_validate(await service.order_for_booking(session, caller, booking_id))


# Around the hold: my bookings, cancelling, links and notices; the hospital's desk; the other systems.
router.include_router(patient_api.router)
router.include_router(desk_api.router)
router.include_router(system_api.router)
