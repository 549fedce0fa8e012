"""Queue tests: a clinic session today in room "3诊室" (08:00–12:00, half-hour segments, 15 minutes a
patient, no fee so that a booking is confirmed as it is made), patients booked the day before through the
real booking service, and the clock moved through the clinic day.

Every test runs on the Monday of next week: bookings are made on the Sunday at 10:00, the clinic day
starts with the clock at 07:30 (``at(hour, minute)`` moves it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.auth import sessions
from ihos.auth.caller import Caller
from ihos.booking.counter import patient_for_counter
from ihos.booking.service import HoldRequest, hold
from ihos.kit.schema import ERROR_RESPONSES
from ihos.kit.time import clock, hospital_zone, local_today
from ihos.models.booking import Booking
from ihos.models.patients import Patient
from ihos.models.scheduling import ClinicSession, RegistrationKind
from ihos.queueing import api as queueing_api
from ihos.scheduling.generation import add_session
from tests.factories import Org, bearer, id_number, make_org, make_staff, phone_number

API = "/api/v1"
WINDOW = Caller(kind="system", label="测试挂号窗口", roles=frozenset({"system:his"}))


@pytest.fixture(scope="session")
def queue_app(shared_app):  # type: ignore[no-untyped-def]
    """The application with the queue's routes, whether or not ``ihos.app`` lists them yet."""
    if any(getattr(route, "path", "").startswith(f"{API}/queues") for route in shared_app.routes):
        return shared_app
    from ihos.app import create_app

    app = create_app()
    api = APIRouter(prefix=API, responses=ERROR_RESPONSES)
    api.include_router(queueing_api.router)
    app.include_router(api)
    return app


@pytest.fixture
def app(queue_app, session: AsyncSession) -> Iterator[object]:  # type: ignore[no-untyped-def]
    queue_app.state.session_override = session
    yield queue_app
    queue_app.state.session_override = None


_clinic_day: list[date] = []


@pytest.fixture
async def real_http(queue_app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    """The application with its real per-request sessions (for the races and the live feeds)."""
    queue_app.state.session_override = None
    transport = httpx.ASGITransport(app=queue_app, client=("203.0.113.10", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def clinic_day() -> date:
    """The Monday of next week, fixed when the test starts (the clock moves, the clinic day does not)."""
    if not _clinic_day:
        today = local_today()
        _clinic_day.append(today + timedelta(days=7 - today.weekday()))
    return _clinic_day[0]


def at(hour: int, minute: int = 0, *, day: date | None = None) -> datetime:
    """Freeze the clock at hour:minute of the clinic day (hospital time)."""
    moment = datetime.combine(day or clinic_day(), time(hour, minute), tzinfo=hospital_zone())
    clock.freeze(moment)
    return moment


@pytest.fixture(autouse=True)
def day_before(_reset_process_state: None) -> Iterator[date]:
    """Tests start the day before the clinic day at 10:00, when bookings are made."""
    _clinic_day.clear()
    day = clinic_day()
    at(10, 0, day=day - timedelta(days=1))
    yield day
    _clinic_day.clear()


@pytest.fixture
async def org(session: AsyncSession) -> Org:
    return await make_org(session)


async def make_clinic(
    session: AsyncSession,
    org: Org,
    *,
    room: str | None = "3诊室",
    capacity: int = 8,
    starts: time = time(8),
    ends: time = time(12),
    period: str = "morning",
    department_id: Any = None,
    name: str = "内科普通门诊",
    doctor_id: Any = None,
) -> ClinicSession:
    kind = RegistrationKind(
        name=name,
        slot_type_code="general" if doctor_id is None else "expert",
        campus_id=org.campus_id,
        department_id=department_id or org.department_id,
        doctor_id=doctor_id,
        fee_fen=0,
    )
    session.add(kind)
    await session.flush()
    day = clinic_day()
    return await add_session(
        session,
        kind,
        day=day,
        period=period,
        starts_at=datetime.combine(day, starts, tzinfo=hospital_zone()),
        ends_at=datetime.combine(day, ends, tzinfo=hospital_zone()),
        average_minutes=15,
        capacity=capacity,
        room=room,
        quotas={},
    )


@pytest.fixture
async def clinic(session: AsyncSession, org: Org) -> ClinicSession:
    return await make_clinic(session, org)


async def make_patient(session: AsyncSession, *, name: str = "张小三", birth: str = "19900101") -> Patient:
    return await patient_for_counter(
        session, id_number=id_number(birth=birth), name=name, phone=phone_number()
    )


async def book(
    session: AsyncSession,
    clinic: ClinicSession,
    *,
    patient: Patient | None = None,
    name: str = "张小三",
    birth: str = "19900101",
) -> Booking:
    """A confirmed booking of the next free place (made at the window: no account, no fee)."""
    patient = patient or await make_patient(session, name=name, birth=birth)
    booking = await hold(
        session, WINDOW, HoldRequest(clinic_session_id=clinic.id, patient_id=patient.id, channel="window")
    )
    assert booking.state == "confirmed"
    return booking


@dataclass
class Member:
    id: Any
    token: str
    caller: Caller

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)


async def member(session: AsyncSession, org: Org, role: str) -> Member:
    from ihos.auth.deps import staff_permissions
    from ihos.auth.repository import staff_with_access

    staff = await make_staff(session, org, roles=[role])
    loaded = await staff_with_access(session, staff.id)
    assert loaded is not None
    caller = Caller(
        kind="staff",
        id=staff.id,
        label=f"测试{role}",
        roles=frozenset({role}),
        permissions=staff_permissions(loaded),
        client_address="203.0.113.10",
    )
    issued = await sessions.start(
        session, staff_id=staff.id, method="password", client_address="203.0.113.10", user_agent="pytest"
    )
    # A desk signed in for the whole clinic day: the tests move the clock by hours between requests.
    issued.session.idle_timeout_seconds = None
    issued.session.expires_at = issued.session.expires_at + timedelta(days=2)
    await session.flush()
    return Member(staff.id, issued.token, caller)


@pytest.fixture
async def doctor(session: AsyncSession, org: Org) -> Member:
    return await member(session, org, "doctor")


@pytest.fixture
async def nurse(session: AsyncSession, org: Org) -> Member:
    return await member(session, org, "nurse")


@pytest.fixture
async def office(session: AsyncSession, org: Org) -> Member:
    return await member(session, org, "outpatient_office")
