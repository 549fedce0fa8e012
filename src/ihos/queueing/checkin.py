"""Check-in (签到, QU-01): a patient with a booking joins the queue of the session's room (or hall); a
patient with exam or lab orders joins the station's queue. At a kiosk by ID card, hospital card or the
booking's check-in code (the QR code of the app), on the phone, by a nurse, or by another system.

Check-in is refused before the window opens (``checkin_open_minutes`` before the time segment), on another
day, for a booking that is not confirmed, and at another department's desk. A booked patient arriving
after the segment's start plus the grace period is placed by the late rule. The priority level comes from
the intranet at check-in; only the level is kept (SY-01). Checking in a booking marks it arrived.
"""

from __future__ import annotations

import hmac
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.audit import service as audit
from ihos.auth.caller import Caller
from ihos.booking import attendance
from ihos.booking.repository import booking_by_number
from ihos.db import insert_unique
from ihos.integrations.identity import IdentityServiceError
from ihos.integrations.identity.priority import get_priority_service
from ihos.kit.idcard import InvalidIdNumber, parse_id_number
from ihos.kit.time import hospital_zone, local_today, now
from ihos.models.booking import Booking
from ihos.models.patients import AccountPatient, Patient
from ihos.models.queueing import ExamOrder, Queue, QueueEntry
from ihos.models.scheduling import ClinicSession, Slot
from ihos.patients import repository as patients
from ihos.queueing import events, repository
from ihos.queueing.ordering import Arrival, Placement, QueueRules, place_arrival, place_late, place_return
from ihos.queueing.rules import queue_rules
from ihos.queueing.service import (
    STATION_KINDS,
    AlreadyCheckedIn,
    AlreadyInQueue,
    AlreadyVisited,
    BookingNotConfirmed,
    CheckInTooEarly,
    InvalidCheckinCode,
    NoBookingToday,
    NoOrderHere,
    NotToday,
    NotYourBooking,
    QueueBookingNotFound,
    QueueInactive,
    QueueNotFound,
    QueuePatientNotFound,
    RemovedFromQueue,
    SessionNotOpen,
    SeveralBookings,
    WrongDepartment,
    live_key,
    minute_of,
    queue_for_session,
)
from ihos.security.fields import blind_index
from ihos.security.masking import mask_id_number, mask_name

log = logging.getLogger(__name__)

CHECKIN_CODE_PREFIX = "IHQ1"
BOOKABLE_STATES = ("confirmed", "arrived")


@dataclass(frozen=True)
class CheckedIn:
    entry: QueueEntry
    queue: Queue


# -- who is checking in ----------------------------------------------------------------------------------


def checkin_code(booking: Booking) -> str:
    """The text of the booking's check-in QR code: the booking number and a MAC, so that a kiosk accepts
    only codes ihos issued (a typed-in booking number is not enough)."""
    return f"{CHECKIN_CODE_PREFIX}.{booking.booking_number}.{_code_mac(booking.booking_number)}"


def _code_mac(booking_number: str) -> str:
    return blind_index(booking_number, kind="booking_checkin")[:20]


def booking_number_of_code(code: str) -> str:
    parts = code.strip().split(".")
    if len(parts) != 3 or parts[0] != CHECKIN_CODE_PREFIX:
        raise InvalidCheckinCode()
    if not hmac.compare_digest(parts[2], _code_mac(parts[1])):
        raise InvalidCheckinCode()
    return parts[1]


async def booking_by_code(session: AsyncSession, code: str) -> Booking:
    booking = await booking_by_number(session, booking_number_of_code(code))
    if booking is None:
        raise InvalidCheckinCode()
    return booking


async def booking_told(session: AsyncSession, number: str) -> Booking:
    """The booking whose number the patient read out at the desk."""
    booking = await booking_by_number(session, number.strip().upper())
    if booking is None:
        raise QueueBookingNotFound("没有这个预约号，请核对后重试")
    return booking


async def patient_by_card(
    session: AsyncSession, *, id_number: str | None = None, card_number: str | None = None
) -> Patient:
    """The patient of an ID card (read by the kiosk's card reader) or a hospital / health card."""
    found: Patient | None = None
    if id_number:
        try:
            parsed = parse_id_number(id_number, today=local_today())
        except InvalidIdNumber as exc:
            raise QueuePatientNotFound(str(exc)) from None
        found = await patients.patient_by_id_number(session, parsed.value)
    elif card_number:
        found = await session.scalar(select(Patient).where(Patient.health_card_number == card_number.strip()))
    if found is None:
        raise QueuePatientNotFound()
    return found


async def bookings_today(session: AsyncSession, caller: Caller, patient: Patient) -> list[Booking]:
    """The patient's bookings that can be checked in today, at campuses the caller may see."""
    rows = await session.execute(
        select(Booking, ClinicSession.campus_id)
        .join(ClinicSession, ClinicSession.id == Booking.session_id)
        .where(
            Booking.patient_id == patient.id,
            Booking.state.in_(BOOKABLE_STATES),
            ClinicSession.session_date == local_today(),
        )
        .order_by(ClinicSession.starts_at)
    )
    return [booking for booking, campus_id in rows.tuples().all() if caller.may_see_campus(campus_id)]


async def may_use_booking(session: AsyncSession, caller: Caller, booking: Booking) -> None:
    """A patient checks in their own bookings and those of the patients their account holds (a window
    booking has no account, so holding the patient is what counts)."""
    holds = await session.scalar(
        select(AccountPatient.id).where(
            AccountPatient.account_id == caller.subject_id, AccountPatient.patient_id == booking.patient_id
        )
    )
    if holds is None and booking.account_id != caller.id:
        raise NotYourBooking()


async def _may_check_in(
    session: AsyncSession, caller: Caller, booking: Booking, clinic: ClinicSession
) -> None:
    if caller.is_patient:
        await may_use_booking(session, caller, booking)
    elif not caller.may_see_campus(clinic.campus_id):
        raise QueueBookingNotFound()


def _check_today(booking: Booking, clinic: ClinicSession, department_id: uuid.UUID | None) -> None:
    if booking.state not in BOOKABLE_STATES:
        raise AlreadyVisited() if booking.state == "completed" else BookingNotConfirmed()
    if clinic.state != "open":
        raise SessionNotOpen()
    if clinic.session_date != local_today():
        raise NotToday(f"该预约的就诊日期为 {clinic.session_date:%Y年%m月%d日}，只能在就诊当日签到")
    if department_id is not None and clinic.department_id != department_id:
        raise WrongDepartment()


async def priority_level_of(patient: Patient) -> int:
    """The intranet's level for the patient; 0 when it cannot answer (check-in goes on without it)."""
    try:
        answer = await get_priority_service().priority_level(patient.name, patient.id_number)
    except IdentityServiceError as exc:
        log.warning("no priority level for %s: %s", mask_id_number(patient.id_number), exc.code)
        return 0
    return answer.level


# -- bookings ---------------------------------------------------------------------------------------------


async def check_in_booking(
    session: AsyncSession,
    caller: Caller,
    *,
    booking: Booking,
    channel: str,
    department_id: uuid.UUID | None = None,
) -> CheckedIn:
    """Check a booking in: the patient joins the queue of the session's room (or the department's hall)."""
    clinic = await session.get_one(ClinicSession, booking.session_id)
    await _may_check_in(session, caller, booking, clinic)
    _check_today(booking, clinic, department_id)
    slot = await session.get_one(Slot, booking.slot_id)
    queue = await queue_for_session(session, clinic)
    if not queue.is_active:
        raise QueueInactive()
    rules = await queue_rules(session, queue)
    at = now()
    opens = slot.starts_at - timedelta(minutes=rules.checkin_open_minutes)
    if at < opens:
        local = opens.astimezone(hospital_zone())
        raise CheckInTooEarly(f"签到将于 {local:%H:%M} 开始，请稍后再来")
    patient = await session.get_one(Patient, booking.patient_id)
    level = await priority_level_of(patient)  # before the lock: a call to the intranet
    queue = await _locked(session, queue.id)
    existing = await repository.entry_of_booking(session, queue.id, booking.id)
    if existing is not None:
        return CheckedIn(await _again(session, caller, queue, rules, existing, channel=channel), queue)
    arrival = Arrival(
        kind="walk_in" if _registered_same_day(booking, clinic) else "booked",
        number=booking.seq,
        arrived_minute=minute_of(at),
        segment_minute=minute_of(slot.starts_at),
        segment_length=max(1, round((slot.ends_at - slot.starts_at).total_seconds() / 60)),
        period_end_minute=minute_of(clinic.ends_at),
        priority_level=level,
    )
    placement = place_arrival(rules, arrival, await repository.waiting(session, queue.id, local_today()))
    entry = QueueEntry(
        queue_id=queue.id,
        queue_date=local_today(),
        patient_id=patient.id,
        display_name=mask_name(patient.name),
        booking_id=booking.id,
        session_id=clinic.id,
        display_number=booking.seq,
        kind=arrival.kind,
        state="waiting",
        live_key=live_key(queue.id, patient.id, local_today()),
        sort_key=placement.sort_key,
        checked_in_at=at,
        channel=channel,
        segment_starts_at=slot.starts_at,
        segment_ends_at=slot.ends_at,
        period_ends_at=clinic.ends_at,
        priority_level=level,
        is_late=placement.is_late,
    )
    await _insert(session, entry)
    await events.move(session, placement.moved)
    if booking.state == "confirmed":
        await attendance.mark_arrived(session, caller, booking.id)
    await events.append(session, queue, "checked_in", entry, moved=placement.moved)
    await _audit(session, caller, "queue.check_in", entry, channel=channel)
    return CheckedIn(entry, queue)


def _registered_same_day(booking: Booking, clinic: ClinicSession) -> bool:
    """当日挂号: a booking made on the day of the visit joins after that segment's booked patients."""
    return booking.created_at.astimezone(hospital_zone()).date() == clinic.session_date


async def _locked(session: AsyncSession, queue_id: uuid.UUID) -> Queue:
    queue = await events.lock_queue(session, queue_id)
    if queue is None:  # pragma: no cover - queues are never deleted
        raise QueueNotFound()
    return queue


async def _insert(session: AsyncSession, entry: QueueEntry) -> None:
    # The unique keys decide: one entry per booking and queue, one live entry per patient and queue a day.
    if not await insert_unique(session, entry):
        raise AlreadyInQueue()


async def _again(
    session: AsyncSession, caller: Caller, queue: Queue, rules: QueueRules, entry: QueueEntry, *, channel: str
) -> QueueEntry:
    """A booking checked in before: back from an exam, back after leaving or missing, or a second tap."""
    if entry.state in repository.LIVE_STATES:
        raise AlreadyCheckedIn()
    if entry.state == "done" and entry.awaiting_return:
        waiting = await repository.waiting(session, queue.id, entry.queue_date)
        placement = place_return(rules, waiting, anchor_minute=minute_of(now()))
        return await _rejoin(session, caller, queue, entry, placement, kind="returned", channel=channel)
    if entry.state == "done":
        raise AlreadyVisited()
    if entry.end_reason == "transferred":
        raise AlreadyCheckedIn("您已转到其他诊室候诊，请留意叫号")
    if channel != "nurse":
        # Missed too often, or left: the triage nurse decides whether they come back.
        raise RemovedFromQueue()
    return await requeue_entry(session, caller, queue, rules, entry)


async def requeue_entry(
    session: AsyncSession, caller: Caller, queue: Queue, rules: QueueRules, entry: QueueEntry
) -> QueueEntry:
    """A patient who missed too often or left comes back: placed by the late rule, as arriving now
    (never back in their old place, whatever the time)."""
    at = now()
    arrival = Arrival(
        kind=entry.kind,  # type: ignore[arg-type]
        number=entry.display_number,
        arrived_minute=minute_of(at),
        segment_minute=minute_of(entry.segment_starts_at) if entry.segment_starts_at else None,
        segment_length=_segment_length(entry),
        period_end_minute=minute_of(entry.period_ends_at) if entry.period_ends_at else None,
        priority_level=entry.priority_level,
    )
    placement = place_late(rules, arrival, await repository.waiting(session, queue.id, entry.queue_date))
    return await _rejoin(session, caller, queue, entry, placement, kind="requeued", channel="nurse")


def _segment_length(entry: QueueEntry) -> int:
    if entry.segment_starts_at is None or entry.segment_ends_at is None:
        return 30
    return max(1, round((entry.segment_ends_at - entry.segment_starts_at).total_seconds() / 60))


async def _rejoin(
    session: AsyncSession,
    caller: Caller,
    queue: Queue,
    entry: QueueEntry,
    placement: Placement,
    *,
    kind: str,
    channel: str,
) -> QueueEntry:
    """An ended entry waits again, conditional on its state (a second tap finds it waiting)."""
    values: dict[str, object] = {
        "state": "waiting",
        "live_key": live_key(queue.id, entry.patient_id, entry.queue_date),
        "sort_key": placement.sort_key,
        "end_reason": None,
        "awaiting_return": False,
        "called_at": None,
        "called_to": None,
        "finished_at": None,
        "visit_started_at": None,
    }
    if kind == "returned":
        values["is_return"] = True
    else:
        values |= {"miss_count": 0, "is_late": placement.is_late}
    try:
        async with session.begin_nested():
            changed = await session.execute(
                update(QueueEntry)
                .where(QueueEntry.id == entry.id, QueueEntry.state == entry.state)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
    except IntegrityError:  # the live key: the patient waits in this queue under another booking
        raise AlreadyInQueue() from None
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise AlreadyCheckedIn()
    await session.refresh(entry)
    await events.move(session, placement.moved)
    await events.append(session, queue, kind, entry, moved=placement.moved)
    await _audit(session, caller, f"queue.{kind}", entry, channel=channel)
    return entry


# -- exam and lab stations ------------------------------------------------------------------------------


async def check_in_at_station(
    session: AsyncSession, caller: Caller, *, queue: Queue, patient: Patient, channel: str
) -> CheckedIn:
    """A patient with exam or lab orders for this station today joins its queue (by arrival)."""
    if queue.kind not in STATION_KINDS:
        raise NoOrderHere("该队列不是检查检验队列")
    if not queue.is_active:
        raise QueueInactive()
    day = local_today()
    if not await repository.pending_orders(session, patient.id_number_index, day, station_code=queue.code):
        raise NoOrderHere()
    rules = await queue_rules(session, queue)
    level = await priority_level_of(patient)
    queue = await _locked(session, queue.id)
    orders = await repository.pending_orders(session, patient.id_number_index, day, station_code=queue.code)
    existing = await repository.live_entry_of_patient(session, queue.id, patient.id, day)
    if existing is not None:
        # A further order for a patient already waiting here: it is done in the same visit.
        await _attach(session, orders, existing)
        return CheckedIn(existing, queue)
    if not orders:  # another desk checked them in a moment ago
        raise AlreadyCheckedIn()
    at = now()
    number = await repository.next_number(session, queue.id, day)
    arrival = Arrival(kind="order", number=number, arrived_minute=minute_of(at), priority_level=level)
    placement = place_arrival(rules, arrival, await repository.waiting(session, queue.id, day))
    entry = QueueEntry(
        queue_id=queue.id,
        queue_date=day,
        patient_id=patient.id,
        display_name=mask_name(patient.name),
        display_number=number,
        kind="order",
        state="waiting",
        live_key=live_key(queue.id, patient.id, day),
        sort_key=placement.sort_key,
        checked_in_at=at,
        channel=channel,
        priority_level=level,
    )
    await _insert(session, entry)
    await _attach(session, orders, entry)
    await events.move(session, placement.moved)
    await events.append(session, queue, "checked_in", entry, moved=placement.moved)
    await _audit(session, caller, "queue.check_in", entry, channel=channel)
    return CheckedIn(entry, queue)


async def _attach(session: AsyncSession, orders: list[ExamOrder], entry: QueueEntry) -> None:
    for order in orders:
        await session.execute(
            update(ExamOrder)
            .where(ExamOrder.id == order.id, ExamOrder.state == "pending")
            .values(state="queued", entry_id=entry.id, patient_id=entry.patient_id, updated_at=now())
            .execution_options(synchronize_session=False)
        )


# -- at a kiosk or a desk ------------------------------------------------------------------------------


async def check_in_patient(
    session: AsyncSession,
    caller: Caller,
    *,
    patient: Patient,
    channel: str,
    booking_id: uuid.UUID | None = None,
    department_id: uuid.UUID | None = None,
    station_queue_id: uuid.UUID | None = None,
) -> CheckedIn:
    """A patient identified by card: at a station, its orders; otherwise today's booking (the one named,
    or the only one; with several, ``SeveralBookings`` lists them for the patient to choose)."""
    if station_queue_id is not None:
        queue = await session.get(Queue, station_queue_id)
        if queue is None or not caller.may_see_campus(queue.campus_id):
            raise QueueNotFound()
        return await check_in_at_station(session, caller, queue=queue, patient=patient, channel=channel)
    candidates = await bookings_today(session, caller, patient)
    if department_id is not None:
        candidates = [
            b for b in candidates if await _department_of(session, b) == department_id
        ] or candidates
    if booking_id is not None:
        chosen = [b for b in candidates if b.id == booking_id]
        if not chosen:
            raise NoBookingToday()
        candidates = chosen
    if not candidates:
        raise NoBookingToday()
    if len(candidates) > 1:
        raise SeveralBookings(details={"bookings": [await _choice(session, b) for b in candidates]})
    return await check_in_booking(
        session, caller, booking=candidates[0], channel=channel, department_id=department_id
    )


async def check_in_by(
    session: AsyncSession,
    caller: Caller,
    *,
    channel: str,
    booking_id: uuid.UUID | None = None,
    booking_code: str | None = None,
    booking_number: str | None = None,
    id_number: str | None = None,
    card_number: str | None = None,
    department_id: uuid.UUID | None = None,
    station_queue_id: uuid.UUID | None = None,
) -> CheckedIn:
    """Check in whoever the desk or kiosk identified: by the check-in code, by the booking number (the
    triage desk only: a nurse who sees the patient), by ID card or hospital card (with ``booking_id``
    choosing among several bookings), or by the booking itself."""
    booking: Booking | None = None
    if booking_code:
        booking = await booking_by_code(session, booking_code)
    elif booking_number:
        booking = await booking_told(session, booking_number)
    if booking is not None:
        return await check_in_booking(
            session, caller, booking=booking, channel=channel, department_id=department_id
        )
    if id_number or card_number:
        patient = await patient_by_card(session, id_number=id_number, card_number=card_number)
        return await check_in_patient(
            session,
            caller,
            patient=patient,
            channel=channel,
            booking_id=booking_id,
            department_id=department_id,
            station_queue_id=station_queue_id,
        )
    found = await session.get(Booking, booking_id) if booking_id else None
    if found is None:
        raise QueueBookingNotFound()
    return await check_in_booking(
        session, caller, booking=found, channel=channel, department_id=department_id
    )


async def _department_of(session: AsyncSession, booking: Booking) -> uuid.UUID:
    clinic = await session.get_one(ClinicSession, booking.session_id)
    return clinic.department_id


async def _choice(session: AsyncSession, booking: Booking) -> dict[str, object]:
    from ihos.booking.messages import describe

    return {"booking_id": str(booking.id), "description": await describe(session, booking)}


async def _audit(
    session: AsyncSession, caller: Caller, action: str, entry: QueueEntry, *, channel: str
) -> None:
    await audit.record(
        session,
        caller,
        action,
        target_kind="queue_entries",
        target_id=entry.id,
        details={
            "queue": str(entry.queue_id),
            "number": entry.display_number,
            "channel": channel,
            "priority_level": entry.priority_level,
        },
    )
