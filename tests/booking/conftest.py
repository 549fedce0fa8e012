"""Booking tests: a released session of a doctor's clinic, and real-name patients who book it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.kit.time import local_today, now
from ihos.models.scheduling import ClinicSession, RegistrationKind, ScheduleTemplate
from ihos.scheduling.generation import create_session, plan
from tests.factories import Org, bearer, id_number, make_account, make_org, patient_token


@dataclass
class Booker:
    account_id: Any
    patient_id: Any
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)


async def verified_booker(session: AsyncSession) -> Booker:
    """A patient account whose holder passed real-name verification (as a staff-approved review does)."""
    from ihos.kit.idcard import parse_id_number
    from ihos.patients.service import _bind_self

    account = await make_account(session)
    number = id_number()
    patient = await _bind_self(
        session,
        account,
        name="测试患者",
        parsed=parse_id_number(number, today=local_today()),
        phone=account.phone,
        reviewed=True,
    )
    return Booker(account.id, patient.id, await patient_token(session, account))


async def released_session(
    session: AsyncSession,
    org: Org,
    *,
    capacity: int = 4,
    quotas: dict[str, int] | None = None,
    day: date | None = None,
    fee_fen: int | None = None,
) -> ClinicSession:
    kind = RegistrationKind(
        name="心内科专家门诊",
        slot_type_code="expert",
        campus_id=org.campus_id,
        department_id=org.department_id,
        fee_fen=fee_fen,
    )
    session.add(kind)
    await session.flush()
    day = day or local_today() + timedelta(days=2)
    session.add(
        ScheduleTemplate(
            registration_kind_id=kind.id,
            weekday=day.weekday(),
            period="morning",
            starts=time(8),
            ends=time(12),
            average_minutes=15,
            capacity=capacity,
            quotas=quotas or {},
            valid_from=day,
        )
    )
    await session.flush()
    [planned] = await plan(session, date_from=day, date_to=day)
    clinic = await create_session(session, planned)
    clinic.release_at = now() - timedelta(minutes=1)
    await session.flush()
    return clinic


@pytest.fixture
async def org(session: AsyncSession) -> Org:
    return await make_org(session)


@pytest.fixture
async def booker(session: AsyncSession) -> Booker:
    return await verified_booker(session)


async def hold(client, booker: Booker, clinic_id: Any, **extra: Any):  # type: ignore[no-untyped-def]
    headers = booker.headers | ({"Idempotency-Key": extra.pop("key")} if "key" in extra else {})
    return await client.post(
        "/api/v1/me/bookings",
        headers=headers,
        json={"clinic_session_id": str(clinic_id), "patient_id": str(booker.patient_id), **extra},
    )
