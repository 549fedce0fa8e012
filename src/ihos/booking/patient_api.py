"""The patient's side of booking after the hold: my bookings (PT-09), paying, cancelling, booking links,
and the public notices (suspensions, PT-21)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query
from sqlalchemy import or_

from ihos.auth.deps import PatientCaller
from ihos.billing.api import order_out, prepay_out
from ihos.billing.schemas import PayIn
from ihos.booking import cancellation, links, payment, repository, suspensions, views
from ihos.booking.schemas import (
    BookingDetail,
    BookingPayOut,
    BookingView,
    CancelIn,
    CancellationOut,
    NoticeOut,
    OpenedLinkOut,
)
from ihos.integrations.payment.base import Payer
from ihos.kit.http import DbSession
from ihos.kit.schema import Page
from ihos.kit.time import now
from ihos.models.booking import Booking
from ihos.security.masking import mask_name

router = APIRouter()  # included in ihos.booking.api, whose tag it takes

_STATES = "held|confirmed|arrived|completed|cancelled|expired|no_show"
State = Annotated[
    str | None,
    Query(
        pattern=f"^({_STATES})(,({_STATES}))*$",
        max_length=80,
        description="预约状态；多个用逗号分隔（如 confirmed,arrived）",
    ),
]
PageNumber = Annotated[int, Query(ge=1, le=100_000)]
PageSize = Annotated[int, Query(ge=1, le=100)]


@router.get("/me/bookings", response_model=Page[BookingView], summary="我的预约（含窗口、自助机预约）")
async def my_bookings(
    session: DbSession,
    caller: PatientCaller,
    state: State = None,
    patient_id: uuid.UUID | None = None,
    page: PageNumber = 1,
    page_size: PageSize = 20,
) -> Page[BookingView]:
    at = now()
    conditions = [repository.visible_to_account(caller.subject_id)]
    if state is not None:
        conditions.append(or_(*(repository.state_is(one, at) for one in dict.fromkeys(state.split(",")))))
    if patient_id is not None:
        conditions.append(Booking.patient_id == patient_id)
    rows, total = await repository.booking_rows(
        session, *conditions, offset=(page - 1) * page_size, limit=page_size
    )
    return Page(
        items=[views.booking_view(row, at) for row in rows], total=total, page=page, page_size=page_size
    )


@router.get("/me/bookings/{booking_id}", response_model=BookingDetail, summary="预约详情（含取消规则）")
async def my_booking(booking_id: uuid.UUID, session: DbSession, caller: PatientCaller) -> BookingDetail:
    booking = await cancellation.visible_booking(session, caller, booking_id)
    return await views.booking_detail(session, booking)


@router.post("/me/bookings/{booking_id}/cancel", response_model=CancellationOut, summary="取消预约")
async def cancel_my_booking(
    booking_id: uuid.UUID, body: CancelIn, session: DbSession, caller: PatientCaller
) -> CancellationOut:
    done = await cancellation.cancel_by_patient(session, caller, booking_id, accept_late=body.accept_late)
    return await views.cancellation_out(session, done)


@router.post(
    "/me/bookings/{booking_id}/pay", response_model=BookingPayOut, summary="支付挂号费（下单并获取支付参数）"
)
async def pay_my_booking(
    booking_id: uuid.UUID, body: PayIn, session: DbSession, caller: PatientCaller
) -> BookingPayOut:
    payer = Payer(
        wechat_openid=body.wechat_openid,
        alipay_user_id=body.alipay_user_id,
        client_address=caller.client_address,
    )
    order, prepay = await payment.pay_booking(
        session,
        caller,
        booking_id,
        channel_name=body.channel,
        scene=body.scene,
        payer=payer,
        insurance_authorisation=body.insurance_authorisation,
    )
    return BookingPayOut(order=order_out(order), prepay=prepay_out(prepay, order.order_number))


@router.get("/booking-links/{token}", response_model=OpenedLinkOut, summary="打开医生开具的预约链接")
async def open_booking_link(
    session: DbSession, caller: PatientCaller, token: Annotated[str, Path(max_length=300)]
) -> OpenedLinkOut:
    opened = await links.open_link(session, caller, token)
    at = now()
    return OpenedLinkOut(
        registration_kind=views.kind_ref(opened.kind),
        department=views.department_ref(opened.department),
        doctor=views.doctor_ref(opened.doctor),
        patient_id=opened.patient.id,
        patient_name=mask_name(opened.patient.name),
        expires_at=opened.claims.expires_at,
        sessions=[views.session_places_out(places, at) for places in opened.sessions],
    )


@router.get("/notices", response_model=list[NoticeOut], summary="公告（停诊公告等，当前有效）")
async def current_notices(
    session: DbSession, kind: Annotated[str | None, Query(max_length=20)] = None
) -> list[NoticeOut]:
    return [
        NoticeOut.model_validate(notice) for notice in await suspensions.current_notices(session, kind=kind)
    ]
