"""The patient app's queue (PT-15, QU-05): check in on the phone, the check-in code for a kiosk, and where
each of the account's patients stands in today's queues (the live version is the WebSocket)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from ihos.auth.deps import PatientCaller
from ihos.kit.http import DbSession
from ihos.kit.qrcode import png_data_uri
from ihos.models.booking import Booking
from ihos.queueing import checkin, positions, views
from ihos.queueing.schemas import CheckinCodeOut, CheckInOut, MyQueuesOut, PhoneCheckInIn
from ihos.queueing.service import QueueBookingNotFound

router = APIRouter(tags=["queue"])


@router.get("/me/queues", response_model=MyQueuesOut, summary="我的候诊（今日各队列的位置与预计等待）")
async def my_queues(session: DbSession, caller: PatientCaller) -> MyQueuesOut:
    standings, pending = await positions.my_queues(session, caller)
    return MyQueuesOut(
        items=[views.standing_out(standing) for standing in standings],
        pending_orders=[views.order_out(order) for order in pending],
    )


@router.post("/me/queue-check-ins", status_code=201, response_model=CheckInOut, summary="手机签到")
async def phone_check_in(body: PhoneCheckInIn, session: DbSession, caller: PatientCaller) -> CheckInOut:
    booking = await session.get(Booking, body.booking_id)
    if booking is None:
        raise QueueBookingNotFound()
    checked = await checkin.check_in_booking(session, caller, booking=booking, channel="phone")
    return await views.check_in_out(session, checked.entry, checked.queue)


@router.get(
    "/me/bookings/{booking_id}/checkin-code", response_model=CheckinCodeOut, summary="预约的签到二维码内容"
)
async def checkin_code(booking_id: uuid.UUID, session: DbSession, caller: PatientCaller) -> CheckinCodeOut:
    booking = await session.get(Booking, booking_id)
    if booking is None:
        raise QueueBookingNotFound()
    await checkin.may_use_booking(session, caller, booking)
    code = checkin.checkin_code(booking)
    return CheckinCodeOut(code=code, image=png_data_uri(code))
