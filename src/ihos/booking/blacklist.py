"""The booking blacklist (SL-09): no-shows and late cancellations counted over a rolling window; at the
cap, a ban from booking for a period, which the hold refuses with its end date; staff may lift a ban.

An event counts towards one ban at most (``BlacklistEvent.ban_id``): after a ban, served or lifted, the
count starts again. Each booking gives one event at most (unique ``booking_id``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.audit import service as audit
from ihos.auth.caller import Caller
from ihos.backoffice.rules import get_rule
from ihos.booking import messages
from ihos.booking.access import SYSTEM
from ihos.db import insert_unique
from ihos.errors import Conflict, NotFound
from ihos.kit.time import now
from ihos.models.booking import BlacklistEvent, Booking, BookingBan
from ihos.models.patients import Patient

KINDS = {"no_show": "爽约", "late_cancel": "逾期退号"}


class BanNotFound(NotFound):
    code = "booking_ban_not_found"
    default_message = "预约限制记录不存在"


class BanNotRunning(Conflict):
    code = "booking_ban_not_running"
    default_message = "该预约限制已解除或已到期"


@dataclass(frozen=True)
class Standing:
    """Where a patient stands: events counted now, the cap, and the ban this event led to (if any)."""

    counted: int
    cap: int
    window_days: int
    ban_days: int
    ban: BookingBan | None


async def running_ban(session: AsyncSession, patient_id: uuid.UUID, at: datetime) -> BookingBan | None:
    return await session.scalar(
        select(BookingBan)
        .where(BookingBan.patient_id == patient_id, BookingBan.ends_at > at, BookingBan.lifted_at.is_(None))
        .order_by(BookingBan.ends_at.desc())
        .limit(1)
    )


async def record_event(
    session: AsyncSession, booking: Booking, *, kind: str, at: datetime
) -> Standing | None:
    """Count a no-show or a late cancellation of ``booking``, and ban the patient at the cap.

    None when this booking was counted already.
    """
    event = BlacklistEvent(patient_id=booking.patient_id, kind=kind, booking_id=booking.id, occurred_at=at)
    if not await insert_unique(session, event):
        return None
    await audit.record(
        session,
        SYSTEM,
        "blacklist.event",
        target_kind="bookings",
        target_id=booking.booking_number,
        details={"kind": kind},
    )
    return await _ban_at_cap(session, booking.patient_id, at)


async def _ban_at_cap(session: AsyncSession, patient_id: uuid.UUID, at: datetime) -> Standing:
    window_days = await get_rule(session, "blacklist.window_days")
    cap = await get_rule(session, "blacklist.cap")
    ban_days = await get_rule(session, "blacklist.ban_days")
    # Two events of one patient at once (a sweep and a cancellation) must not make two bans: on
    # PostgreSQL the patient's row serialises them; SQLite serialises every writer anyway.
    await session.execute(select(Patient.id).where(Patient.id == patient_id).with_for_update())
    counted_ids = (
        await session.scalars(
            select(BlacklistEvent.id).where(
                BlacklistEvent.patient_id == patient_id,
                BlacklistEvent.ban_id.is_(None),
                BlacklistEvent.occurred_at > at - timedelta(days=window_days),
            )
        )
    ).all()
    standing = Standing(len(counted_ids), cap, window_days, ban_days, None)
    if len(counted_ids) < cap or await running_ban(session, patient_id, at) is not None:
        return standing
    ban = BookingBan(
        patient_id=patient_id,
        reason=f"近{window_days}天内爽约或逾期退号累计{len(counted_ids)}次",
        starts_at=at,
        ends_at=at + timedelta(days=ban_days),
    )
    session.add(ban)
    await session.flush()
    await session.execute(
        update(BlacklistEvent)
        .where(BlacklistEvent.id.in_(counted_ids))
        .values(ban_id=ban.id)
        .execution_options(synchronize_session=False)
    )
    await audit.record(
        session,
        SYSTEM,
        "blacklist.ban",
        target_kind="booking_bans",
        target_id=ban.id,
        details={"patient": str(patient_id), "events": len(counted_ids), "days": ban_days},
    )
    await messages.banned(session, ban)
    return Standing(len(counted_ids), cap, window_days, ban_days, ban)


# ---------------------------------------------------------------------------------------------
# staff


@dataclass(frozen=True)
class BanRow:
    ban: BookingBan
    patient: Patient
    events: int


async def list_bans(
    session: AsyncSession,
    caller: Caller,
    *,
    running_only: bool,
    patient_id: uuid.UUID | None,
    offset: int,
    limit: int,
) -> tuple[list[BanRow], int]:
    at = now()
    events = (
        select(func.count())
        .select_from(BlacklistEvent)
        .where(BlacklistEvent.ban_id == BookingBan.id)
        .correlate(BookingBan)
        .scalar_subquery()
    )
    query = select(BookingBan, Patient, events).join(Patient, Patient.id == BookingBan.patient_id)
    if running_only:
        query = query.where(BookingBan.ends_at > at, BookingBan.lifted_at.is_(None))
    if patient_id is not None:
        query = query.where(BookingBan.patient_id == patient_id)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.execute(query.order_by(BookingBan.starts_at.desc()).offset(offset).limit(limit))
    return [BanRow(ban, patient, count or 0) for ban, patient, count in rows.all()], total


async def ban_row(session: AsyncSession, ban: BookingBan) -> BanRow:
    events = await session.scalar(
        select(func.count()).select_from(BlacklistEvent).where(BlacklistEvent.ban_id == ban.id)
    )
    return BanRow(ban, await session.get_one(Patient, ban.patient_id), events or 0)


async def lift_ban(session: AsyncSession, caller: Caller, ban_id: uuid.UUID, *, note: str) -> BookingBan:
    """End a running ban now, with the reason (a hospital error, an emergency the patient proved…)."""
    ban = await session.get(BookingBan, ban_id)
    if ban is None:
        raise BanNotFound()
    at = now()
    lifted = await session.execute(
        update(BookingBan)
        .where(BookingBan.id == ban.id, BookingBan.lifted_at.is_(None), BookingBan.ends_at > at)
        .values(lifted_at=at, lifted_by=caller.subject_id, lift_note=note)
        .execution_options(synchronize_session=False)
    )
    if lifted.rowcount != 1:  # type: ignore[attr-defined]
        raise BanNotRunning()
    await session.refresh(ban)
    await audit.record(
        session,
        caller,
        "blacklist.lift",
        target_kind="booking_bans",
        target_id=ban.id,
        details={"note": note},
    )
    await messages.ban_lifted(session, ban)
    return ban


async def events_of_ban(session: AsyncSession, ban_id: uuid.UUID) -> Sequence[BlacklistEvent]:
    return (
        await session.scalars(
            select(BlacklistEvent).where(BlacklistEvent.ban_id == ban_id).order_by(BlacklistEvent.occurred_at)
        )
    ).all()
