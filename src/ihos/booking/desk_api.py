"""The hospital's side of booking: finding and cancelling bookings, releasing holds, arrival and no-show,
booking bans, suspensions, and doctors' booking links. Every change is audited."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy import ColumnElement

from ihos.auth.caller import Caller
from ihos.auth.deps import requires
from ihos.booking import access, attendance, blacklist, cancellation, links, repository, suspensions, views
from ihos.booking.schemas import (
    BanOut,
    BookingDetail,
    BookingView,
    CancellationOut,
    LiftIn,
    LinkIn,
    LinkOut,
    NoticeOut,
    StaffReasonIn,
    SuspensionApplied,
    SuspensionIn,
    SuspensionOut,
)
from ihos.kit.http import DbSession
from ihos.kit.schema import Page
from ihos.kit.time import now
from ihos.models.booking import Booking
from ihos.models.scheduling import ClinicSession
from ihos.security.masking import mask_name

router = APIRouter(tags=["booking-desk"])

BookingReader = Annotated[Caller, Depends(requires(access.BOOKING_READ))]
BookingManager = Annotated[Caller, Depends(requires(access.BOOKING_MANAGE))]
AttendanceRecorder = Annotated[Caller, Depends(requires(access.BOOKING_ATTENDANCE))]
BlacklistManager = Annotated[Caller, Depends(requires(access.BLACKLIST_MANAGE))]
SuspensionManager = Annotated[Caller, Depends(requires(access.SUSPENSION_MANAGE))]
LinkMaker = Annotated[Caller, Depends(requires(access.BOOKING_LINK))]
PageNumber = Annotated[int, Query(ge=1, le=100_000)]
PageSize = Annotated[int, Query(ge=1, le=100)]
State = Annotated[str | None, Query(pattern="^(held|confirmed|arrived|completed|cancelled|expired|no_show)$")]


@router.get("/bookings", response_model=Page[BookingView], summary="预约查询")
async def find_bookings(
    session: DbSession,
    caller: BookingReader,
    clinic_session_id: uuid.UUID | None = None,
    patient_id: uuid.UUID | None = None,
    session_date: date | None = None,
    state: State = None,
    page: PageNumber = 1,
    page_size: PageSize = 20,
) -> Page[BookingView]:
    at = now()
    conditions: list[ColumnElement[bool]] = []
    if caller.campus_ids is not None:
        conditions.append(ClinicSession.campus_id.in_(caller.campus_ids))
    if clinic_session_id is not None:
        conditions.append(Booking.session_id == clinic_session_id)
    if patient_id is not None:
        conditions.append(Booking.patient_id == patient_id)
    if session_date is not None:
        conditions.append(ClinicSession.session_date == session_date)
    if state is not None:
        conditions.append(repository.state_is(state, at))
    rows, total = await repository.booking_rows(
        session, *conditions, offset=(page - 1) * page_size, limit=page_size
    )
    return Page(
        items=[views.booking_view(row, at) for row in rows], total=total, page=page, page_size=page_size
    )


@router.get("/bookings/{booking_id}", response_model=BookingDetail, summary="预约详情")
async def booking_detail(booking_id: uuid.UUID, session: DbSession, caller: BookingReader) -> BookingDetail:
    return await views.booking_detail(session, await cancellation.staff_booking(session, caller, booking_id))


@router.post(
    "/bookings/{booking_id}/cancel", response_model=CancellationOut, summary="取消预约（院方，全额退费）"
)
async def cancel_booking(
    booking_id: uuid.UUID, body: StaffReasonIn, session: DbSession, caller: BookingManager
) -> CancellationOut:
    done = await cancellation.cancel_by_staff(session, caller, booking_id, reason=body.reason)
    return await views.cancellation_out(session, done)


@router.post("/bookings/{booking_id}/release", response_model=BookingDetail, summary="释放未支付的锁号")
async def release_hold(
    booking_id: uuid.UUID, body: StaffReasonIn, session: DbSession, caller: BookingManager
) -> BookingDetail:
    booking = await cancellation.release_hold(session, caller, booking_id, reason=body.reason)
    return await views.booking_detail(session, booking)


@router.post("/bookings/{booking_id}/arrive", response_model=BookingDetail, summary="签到")
async def mark_arrived(
    booking_id: uuid.UUID, session: DbSession, caller: AttendanceRecorder
) -> BookingDetail:
    return await views.booking_detail(session, await attendance.mark_arrived(session, caller, booking_id))


@router.post("/bookings/{booking_id}/no-show", response_model=BookingDetail, summary="登记爽约")
async def mark_no_show(
    booking_id: uuid.UUID, session: DbSession, caller: AttendanceRecorder
) -> BookingDetail:
    booking, _standing = await attendance.mark_no_show(session, caller, booking_id)
    return await views.booking_detail(session, booking)


# blacklist -------------------------------------------------------------------------------------


@router.get("/booking-bans", response_model=Page[BanOut], summary="预约黑名单（限制预约的患者）")
async def list_bans(
    session: DbSession,
    caller: BlacklistManager,
    running: bool = True,
    patient_id: uuid.UUID | None = None,
    page: PageNumber = 1,
    page_size: PageSize = 20,
) -> Page[BanOut]:
    rows, total = await blacklist.list_bans(
        session,
        caller,
        running_only=running,
        patient_id=patient_id,
        offset=(page - 1) * page_size,
        limit=page_size,
    )
    at = now()
    return Page(items=[views.ban_out(row, at) for row in rows], total=total, page=page, page_size=page_size)


@router.post("/booking-bans/{ban_id}/lift", response_model=BanOut, summary="解除预约限制")
async def lift_ban(ban_id: uuid.UUID, body: LiftIn, session: DbSession, caller: BlacklistManager) -> BanOut:
    ban = await blacklist.lift_ban(session, caller, ban_id, note=body.note)
    return views.ban_out(await blacklist.ban_row(session, ban))


# suspensions -----------------------------------------------------------------------------------


@router.post(
    "/suspensions",
    status_code=201,
    response_model=SuspensionApplied,
    summary="停诊（取消、退费、通知、公告）",
)
async def suspend(body: SuspensionIn, session: DbSession, caller: SuspensionManager) -> SuspensionApplied:
    if body.kind == "temporary":
        if body.clinic_session_id is None:
            raise suspensions.InvalidSuspension("临时停诊须指定场次")
        applied = await suspensions.suspend_session(
            session, caller, clinic_session_id=body.clinic_session_id, reason=body.reason
        )
    else:
        if body.date_from is None or body.date_to is None:
            raise suspensions.InvalidSuspension("长期停诊须指定起止日期")
        applied = await suspensions.suspend_clinics(
            session,
            caller,
            doctor_id=body.doctor_id,
            registration_kind_id=body.registration_kind_id,
            date_from=body.date_from,
            date_to=body.date_to,
            reason=body.reason,
        )
    return SuspensionApplied(
        suspension=SuspensionOut.model_validate(applied.suspension),
        sessions=applied.sessions,
        bookings=applied.bookings,
        notice=NoticeOut.model_validate(applied.notice),
    )


@router.get("/suspensions", response_model=Page[SuspensionOut], summary="停诊记录")
async def list_suspensions(
    session: DbSession,
    caller: SuspensionManager,
    date_from: date | None = None,
    page: PageNumber = 1,
    page_size: PageSize = 20,
) -> Page[SuspensionOut]:
    rows, total = await suspensions.list_suspensions(
        session, date_from=date_from, offset=(page - 1) * page_size, limit=page_size
    )
    return Page(
        items=[SuspensionOut.model_validate(row) for row in rows], total=total, page=page, page_size=page_size
    )


# booking links ---------------------------------------------------------------------------------


@router.post("/bookings/links", status_code=201, response_model=LinkOut, summary="开具预约链接（医生）")
async def create_link(body: LinkIn, session: DbSession, caller: LinkMaker) -> LinkOut:
    issued = await links.create_link(
        session,
        caller,
        patient_id=body.patient_id,
        registration_kind_id=body.registration_kind_id,
        valid_days=body.valid_days,
    )
    return LinkOut(
        token=issued.token,
        path=f"/h5/pages/booking/link?token={issued.token}",
        expires_at=issued.expires_at,
        registration_kind_name=issued.kind.name,
        patient_name=mask_name(issued.patient.name),
    )
