"""Booking for the hospital's other systems (SL-11): HIS windows, kiosks and the HIS itself book, confirm,
cancel and record arrival through signed system-client requests, with the same service functions as the
app (the hold with a system caller) and their own channel.

The patient is identified by ID number. A patient ihos does not know yet is created from name, ID number
and phone: the window or the kiosk's card reader has seen the identity card, and the person is the same
one an account may later verify as itself (with the usual proof of the phone on record). A known ID number
must come with the name on record. Such patients are held by no account until one adds them.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.audit import service as audit
from ihos.auth import sms
from ihos.auth.caller import Caller
from ihos.booking import messages
from ihos.booking.cancellation import staff_booking
from ihos.booking.service import (
    ClinicSessionNotFound,
    HoldExpired,
    HoldRequest,
    _mark_slot_booked,
    hold,
)
from ihos.db import insert_unique
from ihos.errors import Conflict, InvalidInput
from ihos.kit.idcard import InvalidIdNumber, parse_id_number
from ihos.kit.time import local_today, now
from ihos.models.booking import Booking
from ihos.models.patients import Patient
from ihos.models.scheduling import ClinicSession
from ihos.patients import repository as patients
from ihos.security.fields import blind_index

# The channels each kind of system client books for; the first is its default.
CHANNELS: dict[str, tuple[str, ...]] = {"his": ("window", "his"), "kiosk": ("kiosk",), "other": ("his",)}
COUNTER_PAYMENTS = ("cash", "bank_card", "wechat", "alipay", "unionpay", "insurance", "other")


class ChannelNotAllowed(Conflict):
    code = "channel_not_allowed"
    default_message = "该接入系统不能使用此预约渠道"


class PatientNameMismatch(Conflict):
    code = "patient_name_mismatch"
    default_message = "姓名与该身份证号登记的就诊人不一致"


class PatientDetailsRequired(InvalidInput):
    code = "patient_details_required"
    default_message = "该身份证号尚未登记为就诊人，请提供姓名和手机号"


class InvalidIdentityNumber(InvalidInput):
    code = "invalid_id_number"
    default_message = "身份证号码不正确"


class NotACounterBooking(Conflict):
    code = "not_a_counter_booking"
    default_message = "该预约须在线支付，不能在窗口确认"


def client_kind(caller: Caller) -> str:
    for role in caller.roles:
        if role.startswith("system:"):
            return role.removeprefix("system:")
    return "other"


def channel_for(caller: Caller, requested: str | None) -> str:
    allowed = CHANNELS.get(client_kind(caller), CHANNELS["other"])
    if requested is None:
        return allowed[0]
    if requested not in allowed:
        raise ChannelNotAllowed(f"该接入系统只能使用渠道：{'、'.join(allowed)}")
    return requested


def _all_counter_channels() -> frozenset[str]:
    return frozenset(channel for channels in CHANNELS.values() for channel in channels)


async def patient_for_counter(
    session: AsyncSession, *, id_number: str, name: str, phone: str | None
) -> Patient:
    """The patient with this ID number (the name must match), or a new one from name, number and phone."""
    try:
        parsed = parse_id_number(id_number, today=local_today())
    except InvalidIdNumber as exc:
        raise InvalidIdentityNumber(str(exc)) from None
    found = await patients.patient_by_id_number(session, parsed.value)
    if found is None:
        if not phone:
            raise PatientDetailsRequired()
        number = sms.phone_or_error(phone)
        created = Patient(
            name=name,
            id_number=parsed.value,
            id_number_index=blind_index(parsed.value, kind="id_number"),
            sex=parsed.sex,
            birth_date=parsed.birth_date,
            phone=number,
            phone_index=blind_index(number, kind="phone"),
        )
        if await insert_unique(session, created):
            return created
        # Another window registered the same person a moment ago.
        found = await patients.patient_by_id_number(session, parsed.value)
        if found is None:  # pragma: no cover - the unique index refused it, so it exists
            raise PatientDetailsRequired()
    if found.name != name.strip():
        raise PatientNameMismatch()
    return found


async def hold_at_counter(
    session: AsyncSession,
    caller: Caller,
    *,
    clinic_session_id: uuid.UUID,
    id_number: str,
    name: str,
    phone: str | None,
    channel: str | None,
    visit_kind: str,
    segment: datetime | None,
    request_key: str | None,
) -> Booking:
    """Hold a place for the patient in front of the window or kiosk (the app's hold, a system caller)."""
    clinic = await session.get(ClinicSession, clinic_session_id)
    if clinic is None or not caller.may_see_campus(clinic.campus_id):
        raise ClinicSessionNotFound()
    patient = await patient_for_counter(session, id_number=id_number, name=name, phone=phone)
    return await hold(
        session,
        caller,
        HoldRequest(
            clinic_session_id=clinic.id,
            patient_id=patient.id,
            channel=channel_for(caller, channel),
            visit_kind=visit_kind,
            segment=segment,
            request_key=request_key,
        ),
    )


async def confirm_at_counter(
    session: AsyncSession,
    caller: Caller,
    booking_id: uuid.UUID,
    *,
    payment_method: str,
    his_registration_number: str | None,
) -> Booking:
    """The window or kiosk took the fee itself: the booking is confirmed without an online order."""
    booking = await staff_booking(session, caller, booking_id)
    if booking.channel not in _all_counter_channels() or booking.order_number is not None:
        raise NotACounterBooking()
    if booking.state == "confirmed":
        return booking  # a retried confirmation, or a free session's booking (confirmed when held)
    if booking.state != "held" or not await _mark_slot_booked(session, booking):
        raise HoldExpired()
    at = now()
    confirmed = await session.execute(
        update(Booking)
        .where(Booking.id == booking.id, Booking.state == "held")
        .values(
            state="confirmed",
            confirmed_at=at,
            hold_expires_at=None,
            counter_payment=payment_method,
            his_registration_number=his_registration_number,
        )
        .execution_options(synchronize_session=False)
    )
    if confirmed.rowcount != 1:  # type: ignore[attr-defined]
        raise HoldExpired()
    await session.refresh(booking)
    await audit.record(
        session,
        caller,
        "booking.confirm",
        target_kind="bookings",
        target_id=booking.booking_number,
        details={"counter_payment": payment_method, "his_registration_number": his_registration_number},
    )
    await messages.booking_confirmed(session, booking)
    return booking
