"""Slot-pool tests: a hospital with an outpatient office, doctors with titles, registration kinds and
weekly templates made through the real services."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Any

import pytest
from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.kit.schema import ERROR_RESPONSES
from ihos.kit.time import clock, local_today
from ihos.models.organization import Staff
from ihos.models.scheduling import ClinicSession, RegistrationKind, ScheduleTemplate
from ihos.scheduling import api as scheduling_api
from ihos.scheduling import service
from ihos.scheduling.generation import local_instant
from tests.factories import Org, bearer, make_org, make_staff, staff_token

API = "/api/v1/scheduling"
CLINICS = "/api/v1/clinics"


@pytest.fixture(scope="session")
def scheduling_app(shared_app):  # type: ignore[no-untyped-def]
    """The application with the scheduling router, whether or not ``ihos.app`` lists it yet."""
    if any(getattr(route, "path", "").startswith("/api/v1/scheduling") for route in shared_app.routes):
        return shared_app
    from ihos.app import create_app

    app = create_app()
    api = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)
    api.include_router(scheduling_api.router)
    app.include_router(api)
    return app


@pytest.fixture
def app(scheduling_app, session: AsyncSession) -> Iterator[object]:  # type: ignore[no-untyped-def]
    scheduling_app.state.session_override = session
    yield scheduling_app
    scheduling_app.state.session_override = None


@pytest.fixture(autouse=True)
def today(_reset_process_state: None) -> Iterator[date]:
    """Every test runs on a Monday at 10:00 hospital time (next week's), with no cached counts: weekdays,
    release times and the same-day hours are then the same whenever the suite runs."""
    start = local_today() + timedelta(days=7 - local_today().weekday())
    clock.freeze(local_instant(start, time(10)))
    service.forget_cached_counts()
    yield start
    service.forget_cached_counts()


@pytest.fixture
async def org(session: AsyncSession) -> Org:
    return await make_org(session)


@dataclass
class Member:
    id: Any
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)


async def member(session: AsyncSession, org: Org, role: str, **extra: Any) -> Member:
    staff = await make_staff(session, org, roles=[role], **extra)
    return Member(staff.id, await staff_token(session, staff))


@pytest.fixture
async def office(session: AsyncSession, org: Org) -> Member:
    """A member of the outpatient office (门诊办)."""
    return await member(session, org, "outpatient_office")


async def make_doctor(
    session: AsyncSession,
    org: Org,
    *,
    name: str = "王医生",
    title: str | None = "attending_physician",
    rank: int = 0,
    practice_since: date | None = date(2010, 1, 1),
) -> Staff:
    doctor = await make_staff(session, org, roles=["doctor"])
    doctor.name, doctor.professional_title, doctor.rank = name, title, rank
    doctor.practice_since = practice_since
    await session.flush()
    return doctor


async def make_kind(
    session: AsyncSession,
    org: Org,
    *,
    name: str = "心内科专家门诊",
    doctor_id: Any = None,
    slot_type_code: str = "expert",
    fee_fen: int | None = None,
    is_online: bool = False,
    department_id: Any = None,
) -> RegistrationKind:
    return await service.create_registration_kind(
        session,
        org.admin,
        name=name,
        slot_type_code=slot_type_code,
        department_id=department_id or org.department_id,
        doctor_id=doctor_id,
        disease=None,
        fee_fen=fee_fen,
        is_online=is_online,
    )


async def make_template(
    session: AsyncSession,
    org: Org,
    kind: RegistrationKind,
    *,
    weekday: int,
    period: str = "morning",
    starts: time = time(8),
    ends: time = time(12),
    average_minutes: int = 15,
    capacity: int = 16,
    quotas: dict[str, int] | None = None,
    valid_from: date | None = None,
    valid_until: date | None = None,
    room: str | None = "A101",
) -> ScheduleTemplate:
    return await service.create_template(
        session,
        org.admin,
        registration_kind_id=kind.id,
        weekday=weekday,
        period=period,
        starts=starts,
        ends=ends,
        average_minutes=average_minutes,
        capacity=capacity,
        room=room,
        quotas=quotas or {},
        valid_from=valid_from or local_today(),
        valid_until=valid_until,
    )


async def generated(session: AsyncSession, org: Org, day: date, **template: Any) -> ClinicSession:
    """One session generated through the real path on ``day`` (a fresh kind, a template for its weekday)."""
    kind = await make_kind(session, org, **template.pop("kind", {}))
    made = await make_template(session, org, kind, weekday=day.weekday(), valid_from=day, **template)
    result = await service.generate(
        session, org.admin, date_from=day, date_to=day, template_ids=[made.id], preview=False
    )
    [planned] = result.sessions
    return await session.get_one(ClinicSession, planned.id)


def next_weekday(weekday: int, *, after: int = 1) -> date:
    """The first date with ``weekday`` at least ``after`` days from today."""
    day = local_today() + timedelta(days=after)
    return day + timedelta(days=(weekday - day.weekday()) % 7)
