"""Turning weekly templates into clinic sessions and their slots (SL-03, SL-04, SL-06).

A session is cut into half-hour time segments; each place gets the segment its turn falls in, from the
average consultation time. Places are shared out among the channels' quotas interleaved across the
session (a kiosk's places are not all at 11:30), and what the quotas leave is the shared pool.
Holidays have no sessions; a make-up working day runs the clinics of the weekday it stands for.
Sessions are also added by hand (``add_session``: same-day online clinics, extra clinics) through the
same path, so a hand-made session has its slots, release time and pool time exactly like a generated one.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.backoffice.rules import get_department_rule
from ihos.kit.ids import uuid7
from ihos.kit.time import hospital_zone
from ihos.models.scheduling import (
    BookingChannel,
    ClinicSession,
    Holiday,
    RegistrationKind,
    ScheduleTemplate,
    Slot,
    SlotType,
)

SEGMENT = timedelta(minutes=30)
POOL = "pool"


def local_instant(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=hospital_zone()).astimezone(UTC)


def channel_plan(capacity: int, quotas: dict[str, int]) -> list[str]:
    """The channel of each place, 1…capacity: every quota spread evenly through the session, the rest
    to the shared pool. Quotas that add up to more than the capacity are refused by the caller."""
    plan: list[str] = []
    given = dict.fromkeys(quotas, 0)
    for position in range(1, capacity + 1):
        # The channel furthest behind its even share at this position takes the place.
        lag = {
            channel: quota * position / capacity - given[channel]
            for channel, quota in quotas.items()
            if given[channel] < quota
        }
        channel = max(sorted(lag), key=lambda c: lag[c]) if lag and max(lag.values()) >= 0.5 else None
        if channel is None:
            plan.append(POOL)
            continue
        given[channel] += 1
        plan.append(channel)
    return plan


@dataclass(frozen=True)
class PlannedSlot:
    seq: int
    starts_at: datetime
    ends_at: datetime
    channel: str


def plan_slots(
    starts_at: datetime, ends_at: datetime, average_minutes: int, capacity: int, quotas: dict[str, int]
) -> list[PlannedSlot]:
    """Places of a session with their time segments and channels."""
    channels = channel_plan(capacity, quotas)
    slots = []
    last_segment = max(starts_at, ends_at - SEGMENT)
    for index in range(capacity):
        turn = starts_at + timedelta(minutes=average_minutes * index)
        segment_start = min(starts_at + SEGMENT * ((turn - starts_at) // SEGMENT), last_segment)
        slots.append(
            PlannedSlot(index + 1, segment_start, min(segment_start + SEGMENT, ends_at), channels[index])
        )
    return slots


@dataclass(frozen=True)
class PlannedSession:
    template: ScheduleTemplate
    kind: RegistrationKind
    day: date
    starts_at: datetime
    ends_at: datetime


async def clinic_days(session: AsyncSession, date_from: date, date_to: date) -> dict[date, int | None]:
    """Each date with the weekday whose clinics it runs (None: a holiday, no clinics)."""
    holidays = {
        h.day: h
        for h in (await session.scalars(select(Holiday).where(Holiday.day.between(date_from, date_to)))).all()
    }
    days: dict[date, int | None] = {}
    day = date_from
    while day <= date_to:
        holiday = holidays.get(day)
        if holiday is None:
            days[day] = day.weekday()
        elif holiday.is_workday:
            days[day] = holiday.works_as_weekday if holiday.works_as_weekday is not None else day.weekday()
        else:
            days[day] = None
        day += timedelta(days=1)
    return days


async def plan(
    session: AsyncSession,
    *,
    date_from: date,
    date_to: date,
    template_ids: Sequence[uuid.UUID] | None = None,
    campus_ids: Collection[uuid.UUID] | None = None,
) -> list[PlannedSession]:
    """The sessions the active templates make over the dates, except those that exist already.

    A template makes nothing while its registration kind or the kind's slot type is retired;
    ``campus_ids`` (a campus-scoped caller) keeps to those campuses' kinds."""
    statement = (
        select(ScheduleTemplate, RegistrationKind)
        .join(RegistrationKind, RegistrationKind.id == ScheduleTemplate.registration_kind_id)
        .join(SlotType, SlotType.code == RegistrationKind.slot_type_code)
        .where(ScheduleTemplate.is_active, RegistrationKind.is_active, SlotType.is_active)
    )
    if template_ids:
        statement = statement.where(ScheduleTemplate.id.in_(template_ids))
    if campus_ids is not None:
        statement = statement.where(RegistrationKind.campus_id.in_(campus_ids))
    templates = (await session.execute(statement)).all()
    existing = {
        (row.registration_kind_id, row.session_date, row.period)
        for row in (
            await session.execute(
                select(
                    ClinicSession.registration_kind_id, ClinicSession.session_date, ClinicSession.period
                ).where(ClinicSession.session_date.between(date_from, date_to))
            )
        ).all()
    }
    planned = []
    for day, weekday in (await clinic_days(session, date_from, date_to)).items():
        if weekday is None:
            continue
        for template, kind in templates:
            valid = template.valid_from <= day and (
                template.valid_until is None or day <= template.valid_until
            )
            if template.weekday == weekday and valid and (kind.id, day, template.period) not in existing:
                planned.append(
                    PlannedSession(
                        template,
                        kind,
                        day,
                        local_instant(day, template.starts),
                        local_instant(day, template.ends),
                    )
                )
    return sorted(planned, key=lambda p: (p.day, p.starts_at, p.kind.name))


async def release_times(
    session: AsyncSession, *, department_id: uuid.UUID, day: date, starts_at: datetime
) -> tuple[datetime, datetime]:
    """When a session of the department on ``day`` is released (N days ahead at HH:MM) and when its
    unbooked channel quotas return to the shared pool, from the rules (the department's override first)."""
    days_ahead = await get_department_rule(session, "booking.days_ahead", department_id)
    release_minute = await get_department_rule(session, "booking.release_minute", department_id)
    pool_hours = await get_department_rule(session, "booking.pool_return_hours", department_id)
    release_at = local_instant(
        day - timedelta(days=days_ahead), time(release_minute // 60, release_minute % 60)
    )
    return release_at, starts_at - timedelta(hours=pool_hours)


async def active_channels(session: AsyncSession) -> set[str]:
    return set((await session.scalars(select(BookingChannel.code).where(BookingChannel.is_active))).all())


async def create_session(
    session: AsyncSession, planned: PlannedSession, *, channels: Collection[str] | None = None
) -> ClinicSession:
    """One session of a template and its slots. ``channels``: the active booking channels, when the
    caller has read them once for many sessions."""
    template = planned.template
    return await add_session(
        session,
        planned.kind,
        day=planned.day,
        period=template.period,
        starts_at=planned.starts_at,
        ends_at=planned.ends_at,
        average_minutes=template.average_minutes,
        capacity=template.capacity,
        room=template.room,
        quotas=template.quotas,
        template_id=template.id,
        channels=channels,
    )


async def add_session(
    session: AsyncSession,
    kind: RegistrationKind,
    *,
    day: date,
    period: str,
    starts_at: datetime,
    ends_at: datetime,
    average_minutes: int,
    capacity: int,
    room: str | None,
    quotas: Mapping[str, Any],
    template_id: uuid.UUID | None = None,
    channels: Collection[str] | None = None,
) -> ClinicSession:
    """One session and its slots (the slots in one bulk insert: a session has up to a few hundred).

    The quota of a channel retired since the template was written goes to the shared pool.
    """
    slot_type = await session.get_one(SlotType, kind.slot_type_code)
    release_at, pool_at = await release_times(
        session, department_id=kind.department_id, day=day, starts_at=starts_at
    )
    clinic = ClinicSession(
        id=uuid7(),
        registration_kind_id=kind.id,
        template_id=template_id,
        campus_id=kind.campus_id,
        department_id=kind.department_id,
        doctor_id=kind.doctor_id,
        session_date=day,
        period=period,
        starts_at=starts_at,
        ends_at=ends_at,
        room=room,
        average_minutes=average_minutes,
        capacity=capacity,
        fee_fen=kind.fee_fen if kind.fee_fen is not None else slot_type.fee_fen,
        item_code=slot_type.item_code,
        is_online=kind.is_online,
        release_at=release_at,
        pool_at=pool_at,
    )
    session.add(clinic)
    await session.flush()
    open_channels = await active_channels(session) if channels is None else channels
    places = {
        channel: int(count)
        for channel, count in quotas.items()
        if channel in open_channels and int(count) > 0
    }
    rows = [
        {
            "id": uuid7(),
            "session_id": clinic.id,
            "seq": s.seq,
            "starts_at": s.starts_at,
            "ends_at": s.ends_at,
            "channel": s.channel,
            "status": "free",
        }
        for s in plan_slots(clinic.starts_at, clinic.ends_at, clinic.average_minutes, clinic.capacity, places)
    ]
    await session.execute(insert(Slot), rows)
    return clinic
