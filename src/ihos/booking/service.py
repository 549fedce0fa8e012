"""Holding, confirming and ending bookings — the part of ihos that must never double-book.

The race for a place is one conditional UPDATE whose row count decides (``_take_place``): a slot is taken
if it is free, or held past its expiry, or cooled down after a cancellation ("lazy expiry": an expired hold
is free for the next booker before any sweep tidies it). The same transaction (on PostgreSQL the same
statement) inserts the booking, whose unique ``active_key`` refuses a second live booking of one patient
for one session; if anything fails the transaction rolls back and the place is free again. A retried
request (same idempotency key) returns the first booking. docs/developer/booking.md walks through it.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    JSON,
    ColumnElement,
    Row,
    Table,
    bindparam,
    exists,
    func,
    insert,
    literal,
    select,
    true,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, make_transient_to_detached

from ihos.audit import service as audit
from ihos.auth.caller import Caller
from ihos.backoffice.rules import get_department_rule, get_rule
from ihos.billing import service as billing
from ihos.booking import messages
from ihos.booking.repository import place_given_back
from ihos.errors import Conflict, Forbidden, NotFound
from ihos.kit.ids import digits, uuid7
from ihos.kit.prepared import Prepared
from ihos.kit.time import local_now, local_today, now
from ihos.models.accounts import Account
from ihos.models.audit import AuditEntry
from ihos.models.booking import Booking, BookingBan
from ihos.models.patients import AccountPatient, Patient
from ihos.models.scheduling import ClinicSession, Slot

LIVE_STATES = ("held", "confirmed", "arrived")
CANDIDATES = 8  # SQLite: how many free places to try in turn (PostgreSQL picks one with SKIP LOCKED)


class ClinicSessionNotFound(NotFound):
    code = "clinic_session_not_found"
    default_message = "出诊信息不存在"


class NotYetReleased(Conflict):
    code = "not_yet_released"
    default_message = "号源尚未放出"


class SessionNotBookable(Conflict):
    code = "session_not_bookable"
    default_message = "该场次已停诊或已结束，不能预约"


class SoldOut(Conflict):
    code = "sold_out"
    default_message = "号源已约满"


class AlreadyBooked(Conflict):
    code = "already_booked"
    default_message = "该就诊人已预约本场次，不能重复预约"


class DailyCapReached(Conflict):
    code = "daily_cap_reached"
    default_message = "该就诊人当日预约数已达上限"


class BookingBanned(Forbidden):
    code = "booking_banned"
    default_message = "因多次爽约或违约，暂停预约"


class RealNameRequired(Forbidden):
    code = "real_name_required"
    default_message = "预约挂号前，请先完成实名认证"


class PatientNotHeld(NotFound):
    code = "patient_not_found"
    default_message = "就诊人不存在"


class BookingNotFound(NotFound):
    code = "booking_not_found"
    default_message = "预约不存在"


class HoldExpired(Conflict):
    code = "hold_expired"
    default_message = "预约已超过支付时间，号源已释放，请重新预约"


class NotCancellable(Conflict):
    code = "not_cancellable"
    default_message = "该预约当前不能取消"


class VisitBegun(NotCancellable):
    default_message = "患者已开始就诊，不能退号"


def booking_number() -> str:
    return f"BK{local_now():%Y%m%d%H%M%S}{digits(6)}"


# ---------------------------------------------------------------------------------------------
# checks before the race


# The rush runs the statements below for every booking: each is built once, with bind parameters,
# so a request only binds values (building SQLAlchemy expressions per call cost more than running them).

# Everything that decides whether this patient may book this session now, in one statement: the session's
# booking facts and the patient's. It reads the patient's row FOR NO KEY UPDATE (PostgreSQL; SQLite
# serialises writers anyway), so that one patient's bookings queue behind each other: taps racing each
# other would otherwise each pass the checks before any of them commits. NO KEY UPDATE, so that rows which
# merely reference the patient still insert meanwhile.
_FACTS = Prepared(
    select(
        ClinicSession.id,
        ClinicSession.state,
        ClinicSession.ends_at,
        ClinicSession.session_date,
        ClinicSession.department_id,
        ClinicSession.release_at,
        ClinicSession.pool_at,
        ClinicSession.fee_fen,
        # the booking this very request made before (a retry with the same idempotency key)
        select(Booking.id)
        .where(Booking.request_key == bindparam("request_key"))
        .scalar_subquery()
        .label("earlier_booking_id"),
        # the holder's real-name status, if the patient is the calling account's
        select(Account.real_name_status)
        .join(AccountPatient, AccountPatient.account_id == Account.id)
        .where(Account.id == bindparam("account_id"), AccountPatient.patient_id == Patient.id)
        .scalar_subquery()
        .label("real_name_status"),
        # a running ban
        select(BookingBan.id)
        .where(
            BookingBan.patient_id == Patient.id,
            BookingBan.ends_at > bindparam("at"),
            BookingBan.lifted_at.is_(None),
        )
        .order_by(BookingBan.ends_at.desc())
        .limit(1)
        .scalar_subquery()
        .label("ban_id"),
        # the patient's hold of this session that lapsed unpaid (it ends now, to make way for the new one)
        select(Booking.id)
        .where(
            Booking.active_key == bindparam("active_key"),
            Booking.state == "held",
            Booking.hold_expires_at < bindparam("at"),
        )
        .scalar_subquery()
        .label("lapsed_hold_id"),
    )
    .join(Patient, Patient.id == bindparam("patient_id"))
    .where(ClinicSession.id == bindparam("session_id"))
    .with_for_update(of=Patient, key_share=True)
)

_END_LAPSED_HOLD = Prepared(
    update(Booking)
    .where(Booking.id == bindparam("booking_id"), Booking.state == "held")
    .values(state="expired", active_key=None, ended_at=bindparam("at"), end_reason="hold_expired")
    .execution_options(synchronize_session=False)
)

_BOOKING_COLUMNS = tuple(column.key for column in Booking.__table__.columns)
_BOOKINGS = cast(Table, Booking.__table__)


def _insert_booking(dialect_insert: Any) -> Prepared:
    """A booking row that is not written if its number is taken (numbers are drawn at random: at the
    rush's rate two requests draw the same one every few seconds); every other refusal stands. Returns
    the booking's id if written."""
    return Prepared(
        dialect_insert(_BOOKINGS)
        .values({key: bindparam(f"v_{key}") for key in _BOOKING_COLUMNS})
        .on_conflict_do_nothing(index_elements=["booking_number"])
        .returning(_BOOKINGS.c.id)
    )


_INSERT_BOOKING = {"postgresql": _insert_booking(postgresql.insert), "sqlite": _insert_booking(sqlite.insert)}
NUMBER_DRAWS = 5


async def _facts(
    session: AsyncSession, caller: Caller, request: HoldRequest, request_key: str | None, at: datetime
) -> Any:
    """The session's and the patient's booking facts (a row, not entities); NotFound for either missing."""
    facts = await _FACTS.first(
        session,
        session_id=request.clinic_session_id,
        patient_id=request.patient_id,
        account_id=caller.id,
        request_key=request_key,
        active_key=f"{request.patient_id}:{request.clinic_session_id}",
        at=at,
    )
    if facts is None:
        if await session.get(ClinicSession, request.clinic_session_id) is None:
            raise ClinicSessionNotFound()
        raise PatientNotHeld()
    return facts


async def _check_bookable(session: AsyncSession, clinic: Any, at: datetime) -> None:
    """The session is open and released (today: within the same-day hours)."""
    if clinic.state != "open" or at >= clinic.ends_at:
        raise SessionNotBookable()
    if clinic.session_date == local_today():
        start = await get_department_rule(session, "booking.same_day_start_minute", clinic.department_id)
        end = await get_department_rule(session, "booking.same_day_end_minute", clinic.department_id)
        minute = local_now().hour * 60 + local_now().minute
        if not start <= minute < end:
            raise NotYetReleased(
                f"当日挂号时间为 {start // 60:02d}:{start % 60:02d}–{end // 60:02d}:{end % 60:02d}"
            )
    elif at < clinic.release_at:
        opens = clinic.release_at.astimezone(local_now().tzinfo)
        raise NotYetReleased(f"号源将于 {opens:%m月%d日 %H:%M} 放出")


async def _check_eligible(session: AsyncSession, caller: Caller, facts: Any, at: datetime) -> None:
    """For a patient caller, the patient is the account's and its holder real-name verified; no ban is
    running. A lapsed hold of the same session ends here. (The day's cap is checked with the take.)"""
    if caller.is_patient:
        if facts.real_name_status is None:
            raise PatientNotHeld()
        if facts.real_name_status != "verified":
            raise RealNameRequired()
    if facts.ban_id is not None:
        found = await session.get_one(BookingBan, facts.ban_id)
        until = found.ends_at.astimezone(local_now().tzinfo)
        raise BookingBanned(f"{found.reason}，{until:%Y年%m月%d日}前不能预约")
    if facts.lapsed_hold_id is not None:
        await _END_LAPSED_HOLD.rows(session, booking_id=facts.lapsed_hold_id, at=at)


# ---------------------------------------------------------------------------------------------
# the race


# Where a booker looks for a place, in turn. Each look is one index range in number order (the partial
# indexes on slots), so that finding a place costs the same for the first booker and the ten-thousandth:
# a single condition over free, lapsed and cooling places made PostgreSQL sort every free place each time.
OWN_CHANNEL, SHARED_POOL, ANY_CHANNEL = "own", "pool", "any"
RECLAIM_OWN, RECLAIM_ANY = "reclaim", "reclaim_any"
LOOKS_BEFORE_POOL_AT = (OWN_CHANNEL, SHARED_POOL, RECLAIM_OWN)
LOOKS_AFTER_POOL_AT = (ANY_CHANNEL, RECLAIM_ANY)

_TAKE: dict[tuple[str, str, bool], Any] = {}


def _live_that_day() -> Any:
    """How many live bookings the patient (``v_patient_id``) has on the session's (``b_session``) day.

    Counted with the take, not with the facts: on PostgreSQL a statement reads from the moment it
    started, and the facts statement starts before it waits for the patient's row lock, so it would miss
    the bookings of the taps that held the lock before it; the take starts after. Found through the
    patient's few live bookings and each one's session date by key: a join let PostgreSQL, its statistics
    behind a rush, walk the popular session's thousands of bookings instead."""
    theirs, this = aliased(ClinicSession), aliased(ClinicSession)
    return (
        select(func.count())
        .select_from(Booking)
        .where(
            Booking.patient_id == bindparam("v_patient_id"),
            Booking.state.in_([literal(state) for state in LIVE_STATES]),
            select(theirs.session_date).where(theirs.id == Booking.session_id).scalar_subquery()
            == select(this.session_date).where(this.id == bindparam("b_session")).scalar_subquery(),
        )
        .scalar_subquery()
    )


_LIVE_THAT_DAY = Prepared(select(_live_that_day()))


def _wanted(look: str, with_segment: bool) -> list[ColumnElement[bool]]:
    at: Any = bindparam("at")
    wanted = [Slot.session_id == bindparam("b_session")]
    if look == OWN_CHANNEL:
        wanted += [Slot.status == "free", Slot.channel == bindparam("b_channel")]
    elif look == SHARED_POOL:
        wanted += [Slot.status == "free", Slot.channel == "pool"]
    elif look == ANY_CHANNEL:
        wanted += [Slot.status == "free"]
    elif look == RECLAIM_OWN:
        wanted += [place_given_back(at), Slot.channel.in_([bindparam("b_channel"), literal("pool")])]
    else:
        wanted += [place_given_back(at)]
    if with_segment:
        wanted.append(Slot.starts_at == bindparam("b_segment"))
    return wanted


def _take_statement(dialect: str, look: str, with_segment: bool) -> Any:
    """The hold statement for one look; built on first use."""
    key = (dialect, look, with_segment)
    if key not in _TAKE:
        wanted = _wanted(look, with_segment)
        take = (
            update(Slot)
            .values(
                status="held",
                hold_expires_at=bindparam("b_hold_until"),
                available_at=None,
                booking_id=bindparam("v_id"),
            )
            .returning(Slot.id, Slot.seq)
            .execution_options(synchronize_session=False)
        )
        if dialect == "postgresql":
            # Pick and hold in one statement; SKIP LOCKED sends concurrent bookers to different places.
            pick = (
                select(Slot.id).where(*wanted).order_by(Slot.seq).limit(1).with_for_update(skip_locked=True)
            )
            _TAKE[key] = _with_booking_and_audit_entry(take.where(Slot.id == pick.scalar_subquery()))
        else:
            # SQLite serialises writers: list a few candidates, hold each in turn with the same condition.
            _TAKE[key] = (
                select(Slot.id).where(*wanted).order_by(Slot.seq).limit(CANDIDATES),
                take.where(Slot.id == bindparam("b_slot"), *wanted),
            )
    return _TAKE[key]


def _with_booking_and_audit_entry(take: Any) -> Prepared:
    """PostgreSQL: the take, the booking of the place taken and the booking's audit entry, as one
    statement (data-modifying WITH), since round trips are most of the rush's cost. The booking and the
    entry are written only if a place was taken, and a place is taken only below the day's cap
    (``b_cap``). One row: the patient's live bookings that day before this one, and the place (none:
    none free, or the cap reached).

    The booking's columns are bound as ``v_<column>`` (but its place and number, which come from the
    take), the entry's as ``a_<field>``; the entry's details get the place's number added."""
    entries = cast(Table, AuditEntry.__table__)
    day = select(_live_that_day().label("live_that_day")).cte("day")
    taken = take.where(select(day.c.live_that_day).scalar_subquery() < bindparam("b_cap")).cte("taken")
    from_take = {"slot_id": taken.c.id, "seq": taken.c.seq}
    booking = select(
        *(from_take.get(key, bindparam(f"v_{key}", type_=_BOOKINGS.c[key].type)) for key in _BOOKING_COLUMNS)
    )
    booked = (
        postgresql.insert(_BOOKINGS)
        .from_select(list(_BOOKING_COLUMNS), booking)
        .on_conflict_do_nothing(index_elements=["booking_number"])
        .returning(_BOOKINGS.c.seq)
        .cte("booked")
    )
    details = sql_cast(
        sql_cast(bindparam("a_details", type_=JSON), JSONB) + func.jsonb_build_object("seq", booked.c.seq),
        JSON,
    )
    entry = select(
        *(
            details if key == "details" else bindparam(f"a_{key}", type_=entries.c[key].type)
            for key in audit.ENTRY_FIELDS
        )
    ).select_from(booked)
    audited = (
        insert(entries).from_select(list(audit.ENTRY_FIELDS), entry).returning(entries.c.id).cte("audited")
    )
    was_booked = exists(select(booked.c.seq)).label("booked")
    place = select(day.c.live_that_day, taken.c.id, taken.c.seq, was_booked)
    return Prepared(place.select_from(day.outerjoin(taken, true())).add_cte(booked, audited))


@dataclass(frozen=True)
class Taken:
    slot_id: uuid.UUID
    seq: int
    booking_number: str


async def _take_place(
    session: AsyncSession,
    clinic: Row[Any],
    booking: dict[str, Any],
    entry: dict[str, Any],
    *,
    segment: datetime | None,
    hold_until: datetime,
    daily_cap: int,
    at: datetime,
) -> Taken | None:
    """Hold one available place of the session (in the segment, if given) and write the ``booking`` of
    it with its audit ``entry``; the place and the booking's number, or None when there is none.
    DailyCapReached if the patient has ``daily_cap`` live bookings that day.

    Before the session's pool_at a channel takes its own places, then the shared pool's, then any of
    those given back; after it, any channel's."""
    values = {
        "b_session": clinic.id,
        "at": at,
        "b_channel": booking["channel"],
        "b_segment": segment,
        "b_hold_until": hold_until,
        "v_id": booking["id"],  # the booking the place is held for
        "v_patient_id": booking["patient_id"],
        "b_cap": daily_cap,
    }
    looks = LOOKS_AFTER_POOL_AT if at >= clinic.pool_at else LOOKS_BEFORE_POOL_AT
    if session.bind.dialect.name == "postgresql":
        return await _take_in_one_statement(session, looks, values, booking, entry)
    return await _take_in_turn(session, looks, values, booking, entry)


async def _take_in_one_statement(
    session: AsyncSession,
    looks: tuple[str, ...],
    values: dict[str, Any],
    booking: dict[str, Any],
    entry: dict[str, Any],
) -> Taken | None:
    """PostgreSQL: per look, one statement counts the day's bookings, takes a place and writes the
    booking and its entry."""
    params = {**values, **_bound(booking, "v_"), **_bound(entry, "a_")}
    for look in looks:
        statement = _take_statement("postgresql", look, values["b_segment"] is not None)
        row = await _refusing_a_second_booking(statement.first(session, **params))
        if row.live_that_day >= values["b_cap"]:
            raise DailyCapReached()
        if row.id is None:
            continue
        if row.booked:
            return Taken(row.id, row.seq, booking["booking_number"])
        # The place is held, but its booking's number was someone else's: write it with another.
        number = await _book_place(session, booking, entry, slot_id=row.id, seq=row.seq, fresh_number=True)
        return Taken(row.id, row.seq, number)
    return None


async def _take_in_turn(
    session: AsyncSession,
    looks: tuple[str, ...],
    values: dict[str, Any],
    booking: dict[str, Any],
    entry: dict[str, Any],
) -> Taken | None:
    """SQLite, whose writers take turns (nothing changes between these statements): the day's count,
    then per look a few candidate places held in turn, then the booking and its entry."""
    if await _LIVE_THAT_DAY.scalar(session, **values) >= values["b_cap"]:
        raise DailyCapReached()
    for look in looks:
        candidates, take = _take_statement("sqlite", look, values["b_segment"] is not None)
        for slot_id in (await session.scalars(candidates, values)).all():
            row = (await session.execute(take, {**values, "b_slot": slot_id})).first()
            if row:
                number = await _book_place(session, booking, entry, slot_id=row[0], seq=row[1])
                return Taken(row[0], row[1], number)
    return None


async def _book_place(
    session: AsyncSession,
    booking: dict[str, Any],
    entry: dict[str, Any],
    *,
    slot_id: uuid.UUID,
    seq: int,
    fresh_number: bool = False,
) -> str:
    """The booking of the place just taken and its audit entry (SQLite; PostgreSQL after a number
    clash); the booking's number, drawn anew while the one in hand is taken."""
    number = booking_number() if fresh_number else booking["booking_number"]
    for _ in range(NUMBER_DRAWS):
        row = {**booking, "booking_number": number, "slot_id": slot_id, "seq": seq}
        statement = _INSERT_BOOKING[session.bind.dialect.name]
        if await _refusing_a_second_booking(statement.rows(session, **_bound(row, "v_"))):
            details = {**entry["details"], "seq": seq}
            await audit.insert_entry(session, {**entry, "target_id": number, "details": details})
            return number
        number = booking_number()
    raise RuntimeError(f"{NUMBER_DRAWS} booking numbers drawn in a row were taken")


def _bound(values: dict[str, Any], prefix: str) -> dict[str, Any]:
    return {f"{prefix}{key}": value for key, value in values.items()}


async def _refusing_a_second_booking(writing: Awaitable[Any]) -> Any:
    try:
        return await writing
    except IntegrityError:
        # The patient has a live booking of this session (or the same request is being handled): the
        # transaction rolls back and the place is free again.
        raise AlreadyBooked() from None


@dataclass(frozen=True)
class HoldRequest:
    clinic_session_id: uuid.UUID
    patient_id: uuid.UUID
    channel: str
    visit_kind: str = "first"
    segment: datetime | None = None
    request_key: str | None = None


async def hold(session: AsyncSession, caller: Caller, request: HoldRequest) -> Booking:
    """Hold a place for a patient; the booking is confirmed when its fee is paid."""
    at = now()
    request_key = f"{caller.kind}:{caller.subject_id}:{request.request_key}" if request.request_key else None
    clinic = await _facts(session, caller, request, request_key, at)
    if clinic.earlier_booking_id is not None:
        return await session.get_one(Booking, clinic.earlier_booking_id)  # a retry: the first answer again
    await _check_bookable(session, clinic, at)
    await _check_eligible(session, caller, clinic, at)
    hold_until = at + timedelta(minutes=await get_rule(session, "order.hold_minutes"))
    free = clinic.fee_fen == 0
    booking = _new_booking(caller, request, clinic, request_key=request_key, hold_until=hold_until, at=at)
    entry = audit.entry_values(
        caller,
        "booking.hold",
        target_kind="bookings",
        target_id=booking["booking_number"],
        details={"session": str(clinic.id), "channel": request.channel},
    )
    daily_cap = await get_department_rule(session, "booking.daily_cap", clinic.department_id)
    taken = await _take_place(
        session,
        clinic,
        booking,
        entry,
        segment=request.segment,
        hold_until=hold_until,
        daily_cap=daily_cap,
        at=at,
    )
    if taken is None:
        raise SoldOut("该时段号源已约满" if request.segment else "号源已约满")
    place = {"slot_id": taken.slot_id, "seq": taken.seq, "booking_number": taken.booking_number}
    held = _as_loaded(session, {**booking, **place})
    if free:
        await _mark_slot_booked(session, held)
        await messages.booking_confirmed(session, held)
    return held


def _new_booking(
    caller: Caller,
    request: HoldRequest,
    clinic: Row[Any],
    *,
    request_key: str | None,
    hold_until: datetime,
    at: datetime,
) -> dict[str, Any]:
    """Every column of the booking about to be written; its place (slot_id, seq) comes from the take."""
    free = clinic.fee_fen == 0
    values = {
        "id": uuid7(),
        "booking_number": booking_number(),
        "session_id": clinic.id,
        "patient_id": request.patient_id,
        "account_id": caller.id if caller.is_patient else None,
        "channel": request.channel,
        "visit_kind": request.visit_kind,
        "state": "confirmed" if free else "held",
        "active_key": f"{request.patient_id}:{clinic.id}",
        "request_key": request_key,
        "fee_fen": clinic.fee_fen,
        "hold_expires_at": None if free else hold_until,
        "confirmed_at": at if free else None,
        "booked_by_kind": caller.kind,
        "booked_by_id": caller.id,
        "created_at": at,
        "updated_at": at,
    }
    return {key: values.get(key) for key in _BOOKING_COLUMNS}


def _as_loaded(session: AsyncSession, values: dict[str, Any]) -> Booking:
    """The booking just written, as a persistent entity of the session (as if loaded), for the callers
    that go on with it."""
    booking = Booking(**values)
    make_transient_to_detached(booking)
    session.add(booking)
    return booking


async def _mark_slot_booked(session: AsyncSession, booking: Booking) -> bool:
    secured = await session.execute(
        update(Slot)
        .where(Slot.id == booking.slot_id, Slot.booking_id == booking.id, Slot.status == "held")
        .values(status="booked", hold_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    return bool(secured.rowcount)  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------
# paying


async def own_booking(session: AsyncSession, caller: Caller, booking_id: uuid.UUID) -> Booking:
    booking = await session.get(Booking, booking_id)
    if booking is None or (caller.is_patient and booking.account_id != caller.id):
        raise BookingNotFound()
    return booking


async def order_for_booking(session: AsyncSession, caller: Caller, booking_id: uuid.UUID):  # type: ignore[no-untyped-def]
    """The registration-fee order of a held booking (made once; ends with the hold)."""
    booking = await own_booking(session, caller, booking_id)
    if booking.state != "held" or booking.hold_expires_at is None or booking.hold_expires_at <= now():
        raise HoldExpired()
    if booking.order_number:
        existing = await billing.order_by_number(session, booking.order_number)
        if existing is not None and existing.state in billing.PAYABLE_STATES:
            return existing
    clinic = await session.get_one(ClinicSession, booking.session_id)
    patient = await session.get_one(Patient, booking.patient_id)
    order = await billing.create_order(
        session,
        caller,
        account_id=booking.account_id,
        patient=patient,
        business_kind="registration",
        business_reference=str(booking.id),
        description=f"挂号费 {clinic.session_date:%m月%d日} {booking.seq}号",
        lines=[billing.LineIn(clinic.item_code, "挂号费", 1, clinic.fee_fen)],
        expires_at=booking.hold_expires_at,
    )
    booking.order_number = order.order_number
    await session.flush()
    return order


@billing.on_paid("registration")
async def _registration_paid(session: AsyncSession, order) -> None:  # type: ignore[no-untyped-def]
    """The fee is paid: the place is the patient's. If the hold had lapsed and the place gone, refund."""
    booking = await session.get(Booking, uuid.UUID(order.business_reference))
    if booking is None:
        return
    if await _mark_slot_booked(session, booking):
        booking.state = "confirmed"
        booking.confirmed_at = now()
        booking.hold_expires_at = None
        await audit.record(
            session,
            billing.SYSTEM,
            "booking.confirm",
            target_kind="bookings",
            target_id=booking.booking_number,
        )
        await messages.booking_confirmed(session, booking)
        return
    from ihos.billing import refunds
    from ihos.models.billing import Payment

    # A booking cancelled meanwhile (by the patient, or by a suspension) keeps its state; a lapsed hold
    # whose place went to someone else ends here.
    await end_booking(session, booking, state="expired", reason="paid_after_release", at=now())
    payment = await session.scalar(
        select(Payment).where(Payment.order_id == order.id, Payment.disposition == "applied")
    )
    if payment is not None:
        await refunds.refund_automatically(session, payment, reason="支付时号源已释放，自动退款")


# ---------------------------------------------------------------------------------------------
# ending


async def _cooling_until(session: AsyncSession, at: datetime) -> datetime:
    low = await get_rule(session, "booking.cooling_min_seconds")
    high = max(low, await get_rule(session, "booking.cooling_max_seconds"))
    # Not for security: an unpredictable return time only makes scalpers' polling useless.
    return at + timedelta(seconds=random.randint(low, high))  # noqa: S311


async def release_slot(session: AsyncSession, booking: Booking, *, at: datetime) -> None:
    """Give the booking's place back to the pool, after a random cooling delay."""
    await session.execute(
        update(Slot)
        .where(Slot.id == booking.slot_id, Slot.booking_id == booking.id)
        .values(
            status="cooling",
            hold_expires_at=None,
            available_at=await _cooling_until(session, at),
            booking_id=None,
        )
        .execution_options(synchronize_session=False)
    )


async def end_booking(
    session: AsyncSession, booking: Booking, *, state: str, reason: str, at: datetime
) -> bool:
    """Move a live booking to an end state once (conditional on its current state)."""
    ended = await session.execute(
        update(Booking)
        .where(Booking.id == booking.id, Booking.state.in_(LIVE_STATES))
        .values(state=state, active_key=None, ended_at=at, end_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if ended.rowcount != 1:  # type: ignore[attr-defined]
        return False
    await session.refresh(booking)
    return True


@billing.on_paid_and_confirmed("registration")
async def _registration_written_to_his(session: AsyncSession, order) -> None:  # type: ignore[no-untyped-def]
    """The HIS took the fee: the booking keeps the HIS's registration number (挂号流水号)."""
    if order.business_reference is None:
        return
    await session.execute(
        update(Booking)
        .where(Booking.id == uuid.UUID(order.business_reference))
        .values(his_registration_number=order.his_receipt_number)
        .execution_options(synchronize_session=False)
    )
