"""Booking for the hospital's other systems (SL-11): HIS windows and kiosks, by signed system-client
requests (see docs/operator/system-client-booking.md). Bookings made here have the client's channel and
show in the patient's records in the app."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Header, Query

from ihos.auth.system_clients import SystemCaller
from ihos.backoffice.rules import get_rule
from ihos.booking import attendance, cancellation, counter, messages, repository, views
from ihos.booking.schemas import (
    BookingDetail,
    BookingView,
    CancellationOut,
    CounterCancelIn,
    CounterConfirmIn,
    CounterHoldIn,
    PatientQuery,
    SegmentOut,
    SessionPlacesOut,
    SessionSegmentsOut,
)
from ihos.booking.service import ClinicSessionNotFound
from ihos.errors import InvalidInput
from ihos.kit.http import DbSession
from ihos.kit.time import local_today, now
from ihos.models.booking import Booking
from ihos.models.scheduling import ClinicSession
from ihos.patients import repository as patients

router = APIRouter(tags=["booking-system"])

Channel = Annotated[str | None, Query(pattern="^(window|kiosk|his)$", description="留空为接入系统的默认渠道")]


@router.get(
    "/system/booking/sessions", response_model=list[SessionPlacesOut], summary="出诊与余号（对接系统）"
)
async def system_sessions(
    session: DbSession,
    caller: SystemCaller,
    date_from: date | None = None,
    date_to: date | None = None,
    department_id: uuid.UUID | None = None,
    registration_kind_id: uuid.UUID | None = None,
    channel: Channel = None,
) -> list[SessionPlacesOut]:
    today = local_today()
    date_from = date_from or today
    date_to = date_to or today + timedelta(days=await get_rule(session, "booking.days_ahead"))
    if date_to < date_from or date_to - date_from > timedelta(days=90):
        raise InvalidInput("日期范围不正确（最长90天）")
    at = now()
    found = await repository.sessions_with_places(
        session,
        channel=counter.channel_for(caller, channel),
        at=at,
        date_from=date_from,
        date_to=date_to,
        registration_kind_id=registration_kind_id,
        department_id=department_id,
        campus_ids=caller.campus_ids,
    )
    return [views.session_places_out(places, at) for places in found]


@router.get(
    "/system/booking/sessions/{clinic_session_id}",
    response_model=SessionSegmentsOut,
    summary="一个出诊各时段的余号（对接系统）",
)
async def system_session(
    clinic_session_id: uuid.UUID, session: DbSession, caller: SystemCaller, channel: Channel = None
) -> SessionSegmentsOut:
    clinic = await session.get(ClinicSession, clinic_session_id)
    if clinic is None or not caller.may_see_campus(clinic.campus_id):
        raise ClinicSessionNotFound()
    at = now()
    chosen = counter.channel_for(caller, channel)
    found = await repository.sessions_with_places(
        session,
        channel=chosen,
        at=at,
        date_from=clinic.session_date,
        date_to=clinic.session_date,
        clinic_session_id=clinic.id,
    )
    if not found:
        raise ClinicSessionNotFound("该出诊已停诊或已结束")
    places = found[0]
    segments = await repository.places_by_segment(session, clinic, channel=chosen, at=at)
    return SessionSegmentsOut(
        session=views.session_places_out(places, at),
        segments=[
            SegmentOut(starts_at=s.starts_at, ends_at=s.ends_at, available=s.available) for s in segments
        ],
    )


@router.post(
    "/system/bookings", status_code=201, response_model=BookingDetail, summary="为患者锁号（对接系统）"
)
async def system_hold(
    body: CounterHoldIn,
    session: DbSession,
    caller: SystemCaller,
    idempotency_key: Annotated[
        str | None, Header(max_length=64, description="重试同一请求时使用同一值")
    ] = None,
) -> BookingDetail:
    booking = await counter.hold_at_counter(
        session,
        caller,
        clinic_session_id=body.clinic_session_id,
        id_number=body.patient.id_number,
        name=body.patient.name,
        phone=body.patient.phone,
        channel=body.channel,
        visit_kind=body.visit_kind,
        segment=body.segment_starts_at,
        request_key=idempotency_key,
    )
    if booking.state == "confirmed":  # a session without a fee: confirmed as it is held
        await messages.booking_confirmed(session, booking)
    return await views.booking_detail(session, booking)


@router.post("/system/bookings/query", response_model=list[BookingView], summary="查询患者的预约（对接系统）")
async def system_patient_bookings(
    body: PatientQuery, session: DbSession, caller: SystemCaller
) -> list[BookingView]:
    # A POST, so that the ID number travels in the signed body, not in URLs that access logs keep.
    patient = await patients.patient_by_id_number(session, body.id_number)
    if patient is None:
        return []
    at = now()
    conditions = [Booking.patient_id == patient.id]
    if caller.campus_ids is not None:
        conditions.append(ClinicSession.campus_id.in_(caller.campus_ids))
    if body.state is not None:
        conditions.append(repository.state_is(body.state, at))
    rows, _total = await repository.booking_rows(session, *conditions, limit=100)
    return [views.booking_view(row, at) for row in rows]


@router.get("/system/bookings/{booking_id}", response_model=BookingDetail, summary="预约详情（对接系统）")
async def system_booking(booking_id: uuid.UUID, session: DbSession, caller: SystemCaller) -> BookingDetail:
    return await views.booking_detail(session, await cancellation.staff_booking(session, caller, booking_id))


@router.post(
    "/system/bookings/{booking_id}/confirm",
    response_model=BookingDetail,
    summary="窗口/自助机已收费，确认预约（对接系统）",
)
async def system_confirm(
    booking_id: uuid.UUID, body: CounterConfirmIn, session: DbSession, caller: SystemCaller
) -> BookingDetail:
    booking = await counter.confirm_at_counter(
        session,
        caller,
        booking_id,
        payment_method=body.payment_method,
        his_registration_number=body.his_registration_number,
    )
    return await views.booking_detail(session, booking)


@router.post(
    "/system/bookings/{booking_id}/cancel", response_model=CancellationOut, summary="退号（对接系统）"
)
async def system_cancel(
    booking_id: uuid.UUID, body: CounterCancelIn, session: DbSession, caller: SystemCaller
) -> CancellationOut:
    booking = await cancellation.staff_booking(session, caller, booking_id)
    done = await cancellation.cancel_at_counter(
        session, caller, booking, accept_late=body.accept_late, note=body.note
    )
    return await views.cancellation_out(session, done)


@router.post("/system/bookings/{booking_id}/arrive", response_model=BookingDetail, summary="签到（对接系统）")
async def system_arrive(booking_id: uuid.UUID, session: DbSession, caller: SystemCaller) -> BookingDetail:
    return await views.booking_detail(session, await attendance.mark_arrived(session, caller, booking_id))


@router.post(
    "/system/bookings/{booking_id}/no-show", response_model=BookingDetail, summary="登记爽约（对接系统）"
)
async def system_no_show(booking_id: uuid.UUID, session: DbSession, caller: SystemCaller) -> BookingDetail:
    booking, _standing = await attendance.mark_no_show(session, caller, booking_id)
    return await views.booking_detail(session, booking)
