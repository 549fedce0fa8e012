"""Fixtures for the patients tests: the cast (an owner, a stranger, staff in any role) and a runner for
the SMS jobs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ihos.auth import sms
from ihos.auth import tasks as auth_tasks
from ihos.jobs import Registry, Runner
from tests.factories import (
    Org,
    make_account,
    make_org,
    make_staff,
    patient_caller,
    patient_token,
    phone_number,
    staff_token,
    unique,
)
from tests.patients.helpers import PatientUser, StaffUser

MakePatientUser = Callable[..., Awaitable[PatientUser]]
MakeStaffUser = Callable[[str], Awaitable[StaffUser]]


@pytest.fixture
def make_patient_user(session: AsyncSession) -> MakePatientUser:
    async def make(*, phone: str | None = None, username: str | None = None) -> PatientUser:
        account = await make_account(session, phone=phone or phone_number(), username=username)
        token = await patient_token(session, account)
        assert account.phone is not None
        return PatientUser(account.id, account.phone, account.username, token, patient_caller(account))

    return make


@pytest.fixture
async def owner(make_patient_user: MakePatientUser) -> PatientUser:
    return await make_patient_user(username=unique("owner"))


@pytest.fixture
async def stranger(make_patient_user: MakePatientUser) -> PatientUser:
    return await make_patient_user(username=unique("stranger"))


@pytest.fixture
async def org(session: AsyncSession) -> Org:
    return await make_org(session)


@pytest.fixture
def make_staff_user(session: AsyncSession, org: Org) -> MakeStaffUser:
    async def make(role: str) -> StaffUser:
        staff = await make_staff(session, org, roles=[role])
        return StaffUser(staff.id, await staff_token(session, staff))

    return make


@pytest.fixture
async def customer_service(make_staff_user: MakeStaffUser) -> StaffUser:
    return await make_staff_user("customer_service")


@pytest.fixture
def send_sms(session: AsyncSession) -> Callable[[], Awaitable[int]]:
    """``await send_sms()`` runs the due SMS jobs inside the test's transaction, as a worker would."""
    registry = Registry()
    registry.handler(sms.SEND_JOB)(auth_tasks.send_code)
    registry.handler(auth_tasks.NOTICE_JOB)(auth_tasks.send_notice)
    maker = async_sessionmaker(
        bind=session.bind, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    runner = Runner(maker, registry=registry)

    async def run() -> int:
        await session.commit()
        return await runner.run_once()

    return run
