"""Shaping bookings, sessions, bans and notices for the API (names masked here, as every ``*_out`` does)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from ihos.billing import refunds
from ihos.booking import cancellation, repository
from ihos.booking.blacklist import BanRow
from ihos.booking.messages import PERIODS
from ihos.booking.schemas import (
    BanOut,
    BookingDetail,
    BookingView,
    CancellationOut,
    CancellationTermsOut,
    DoctorRef,
    KindRef,
    NamedRef,
    OrderBrief,
    RefundBrief,
    SessionBrief,
    SessionPlacesOut,
)
from ihos.booking.service import BookingNotFound
from ihos.kit.time import now
from ihos.models.booking import Booking
from ihos.models.organization import Campus, Department, Staff
from ihos.models.scheduling import ClinicSession, RegistrationKind
from ihos.security.masking import mask_name

STATE_LABELS = {
    "held": "待支付",
    "confirmed": "已预约",
    "arrived": "已签到",
    "completed": "已就诊",
    "cancelled": "已取消",
    "expired": "已失效",
    "no_show": "爽约",
}


def shown_state(booking: Booking, at: datetime) -> str:
    """A hold past its expiry is expired, whether or not the sweep has tidied it yet."""
    if booking.state == "held" and booking.hold_expires_at is not None and booking.hold_expires_at <= at:
        return "expired"
    return booking.state


def kind_ref(kind: RegistrationKind) -> KindRef:
    return KindRef(id=kind.id, name=kind.name, slot_type_code=kind.slot_type_code, disease=kind.disease)


def doctor_ref(doctor: Staff | None) -> DoctorRef | None:
    if doctor is None:
        return None
    return DoctorRef(id=doctor.id, name=doctor.name, professional_title=doctor.professional_title)


def session_brief(clinic: ClinicSession, campus: Campus) -> SessionBrief:
    return SessionBrief(
        id=clinic.id,
        session_date=clinic.session_date,
        period=clinic.period,
        period_label=PERIODS.get(clinic.period, clinic.period),
        starts_at=clinic.starts_at,
        ends_at=clinic.ends_at,
        room=clinic.room,
        state=clinic.state,
        campus_name=campus.name,
    )


def booking_view(row: repository.BookingRow, at: datetime | None = None) -> BookingView:
    booking, order = row.booking, row.order
    state = shown_state(booking, at or now())
    return BookingView(
        id=booking.id,
        booking_number=booking.booking_number,
        state=state,
        state_label=STATE_LABELS.get(state, state),
        channel=booking.channel,
        visit_kind=booking.visit_kind,
        seq=booking.seq,
        fee_fen=booking.fee_fen,
        segment_starts_at=row.slot.starts_at,
        segment_ends_at=row.slot.ends_at,
        session=session_brief(row.clinic, row.campus),
        registration_kind=kind_ref(row.kind),
        department=NamedRef(id=row.department.id, name=row.department.name),
        doctor=doctor_ref(row.doctor),
        patient_id=row.patient.id,
        patient_name=mask_name(row.patient.name),
        order=OrderBrief.model_validate(order) if order is not None else None,
        his_registration_number=booking.his_registration_number,
        counter_payment=booking.counter_payment,
        hold_expires_at=booking.hold_expires_at,
        confirmed_at=booking.confirmed_at,
        arrived_at=booking.arrived_at,
        ended_at=booking.ended_at,
        end_reason=booking.end_reason,
        created_at=booking.created_at,
    )


async def booking_detail(session: AsyncSession, booking: Booking) -> BookingDetail:
    row = await repository.booking_row(session, booking.id)
    if row is None:
        raise BookingNotFound()
    at = now()
    found = await refunds.refunds_of_order(session, row.order.id) if row.order is not None else []
    terms = await cancellation.terms(session, row.booking, at=at)
    return BookingDetail(
        **booking_view(row, at).model_dump(),
        refunds=[RefundBrief.model_validate(refund) for refund in found],
        cancellation=CancellationTermsOut.model_validate(terms) if terms is not None else None,
    )


def session_places_out(places: repository.SessionPlaces, at: datetime | None = None) -> SessionPlacesOut:
    clinic = places.clinic
    return SessionPlacesOut(
        id=clinic.id,
        session_date=clinic.session_date,
        period=clinic.period,
        period_label=PERIODS.get(clinic.period, clinic.period),
        starts_at=clinic.starts_at,
        ends_at=clinic.ends_at,
        release_at=clinic.release_at,
        is_released=(at or now()) >= clinic.release_at,
        room=clinic.room,
        campus_name=places.campus.name,
        registration_kind=kind_ref(places.kind),
        department=NamedRef(id=places.department.id, name=places.department.name),
        doctor=doctor_ref(places.doctor),
        fee_fen=clinic.fee_fen,
        available=places.available,
    )


def department_ref(department: Department) -> NamedRef:
    return NamedRef(id=department.id, name=department.name)


def ban_out(row: BanRow, at: datetime | None = None) -> BanOut:
    ban = row.ban
    return BanOut(
        id=ban.id,
        patient_id=ban.patient_id,
        patient_name=mask_name(row.patient.name),
        reason=ban.reason,
        starts_at=ban.starts_at,
        ends_at=ban.ends_at,
        is_running=ban.lifted_at is None and ban.ends_at > (at or now()),
        events=row.events,
        lifted_at=ban.lifted_at,
        lifted_by=ban.lifted_by,
        lift_note=ban.lift_note,
    )


async def cancellation_out(session: AsyncSession, done: cancellation.Cancellation) -> CancellationOut:
    return CancellationOut(
        booking=await booking_detail(session, done.booking),
        is_late=done.is_late,
        refund=RefundBrief.model_validate(done.refund) if done.refund is not None else None,
        counter_refund_fen=done.counter_refund_fen,
        message=done.message,
    )
