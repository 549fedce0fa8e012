"""Who may use the slot pool's routes: the outpatient office configures it; booking records and boards are
for the office and customer service; a doctor sees his own schedule; administrators hold none of it (their
duties are separate); patients and the public browse without signing in. A refusal changes nothing and a
member of staff's refusal is audited."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from ihos.models.audit import AuditEntry
from ihos.models.scheduling import (
    BookingChannel,
    ClinicSession,
    Holiday,
    RegistrationKind,
    ScheduleTemplate,
    SlotType,
)
from ihos.models.system import DepartmentRule, SystemRule
from tests.factories import bearer, make_account, patient_token
from tests.scheduling.conftest import API, CLINICS, generated, make_kind, make_template, member

WRITES = [
    ("POST", "/slot-types", {"code": "new_type", "name": "新号类", "fee_fen": 1, "item_code": "X"}),
    ("PATCH", "/slot-types/general", {"fee_fen": 1}),
    (
        "POST",
        "/registration-kinds",
        {"name": "新号别", "slot_type_code": "general", "department_id": "{department}"},
    ),
    ("PATCH", "/registration-kinds/{kind}", {"name": "改名"}),
    ("POST", "/channels", {"code": "new_channel", "name": "新渠道"}),
    ("PATCH", "/channels/kiosk", {"is_active": False}),
    ("PUT", "/holidays/{day}", {"name": "假日"}),
    ("DELETE", "/holidays/{holiday}", None),
    (
        "POST",
        "/templates",
        {
            "registration_kind_id": "{kind}",
            "weekday": 3,
            "period": "afternoon",
            "starts": "14:00",
            "ends": "17:00",
            "average_minutes": 15,
            "capacity": 12,
            "valid_from": "{day}",
        },
    ),
    ("PATCH", "/templates/{template}", {"capacity": 30}),
    ("PUT", "/rules/booking.daily_cap", {"value": 1}),
    ("PUT", "/departments/{department}/rules/booking.days_ahead", {"value": 14}),
    ("POST", "/generate", {"date_from": "{day}", "date_to": "{day}", "preview": False}),
    (
        "POST",
        "/sessions",
        {
            "registration_kind_id": "{kind}",
            "session_date": "{day}",
            "period": "evening",
            "starts": "18:00",
            "ends": "20:00",
            "average_minutes": 10,
            "capacity": 12,
        },
    ),
    ("POST", "/sessions/{session}/cancel", {"reason": "停"}),
]
CONFIG_READS = [
    "/slot-types",
    "/registration-kinds",
    "/channels",
    "/holidays",
    "/templates",
    "/rules",
    "/departments/{department}/rules",
]
RECORD_READS = ["/sessions", "/sessions/{session}/board", "/bookings"]
PUBLIC_READS = [
    "/campuses",
    "/search?q=内",
    "/departments/{department}/doctors",
    "/departments/{department}/schedule",
    "/doctors/{doctor}",
    "/doctors/{doctor}/schedule",
    "/sessions/{session}",
]
ADMINS = ["system_admin", "security_admin", "audit_admin"]


@dataclass
class World:
    ids: dict[str, str]

    def path(self, path: str) -> str:
        return path.format(**self.ids)

    def body(self, body):  # type: ignore[no-untyped-def]
        if body is None:
            return None
        return {k: v.format(**self.ids) if isinstance(v, str) else v for k, v in body.items()}


@pytest.fixture
async def world(session, org, today) -> World:
    from tests.scheduling.conftest import make_doctor

    doctor = await make_doctor(session, org, name="李主任")
    kind = await make_kind(session, org, doctor_id=doctor.id)
    template = await make_template(session, org, kind, weekday=(today + timedelta(days=3)).weekday())
    clinic = await generated(session, org, today + timedelta(days=1), kind={"name": "普通门诊"})
    holiday_day = today + timedelta(days=40)
    session.add(Holiday(day=holiday_day, name="元旦"))
    await session.flush()
    return World(
        {
            "department": str(org.department_id),
            "kind": str(kind.id),
            "template": str(template.id),
            "session": str(clinic.id),
            "doctor": str(doctor.id),
            "day": str(today + timedelta(days=3)),
            "holiday": str(holiday_day),
        }
    )


async def state(session) -> tuple:
    """Everything the writes above could change."""
    counts = [
        await session.scalar(select(func.count()).select_from(model))
        for model in (
            SlotType,
            RegistrationKind,
            BookingChannel,
            Holiday,
            ScheduleTemplate,
            ClinicSession,
            SystemRule,
            DepartmentRule,
        )
    ]
    fields = (
        await session.scalar(select(SlotType.fee_fen).where(SlotType.code == "general")),
        await session.scalar(select(BookingChannel.is_active).where(BookingChannel.code == "kiosk")),
        tuple((await session.scalars(select(RegistrationKind.name).order_by(RegistrationKind.name))).all()),
        tuple(
            (
                await session.scalars(select(ScheduleTemplate.capacity).order_by(ScheduleTemplate.capacity))
            ).all()
        ),
        tuple((await session.scalars(select(ClinicSession.state).order_by(ClinicSession.state))).all()),
    )
    return (*counts, *fields)


async def token_for(session, org, who: str) -> str | None:
    if who == "anonymous":
        return None
    if who == "patient":
        return await patient_token(session, await make_account(session))
    return (await member(session, org, who)).token


def headers(token: str | None) -> dict[str, str]:
    return bearer(token) if token else {}


class TestConfiguration:
    @pytest.mark.parametrize(
        ("who", "status"),
        [
            ("anonymous", 401),
            ("patient", 403),
            ("doctor", 403),
            ("customer_service", 403),
            *[(admin, 403) for admin in ADMINS],
        ],
    )
    @pytest.mark.parametrize(("method", "path", "body"), WRITES)
    async def test_refusals_change_nothing(
        self, session, client, org, world, who, status, method, path, body
    ):
        token = await token_for(session, org, who)
        before = await state(session)
        response = await client.request(
            method, API + world.path(path), json=world.body(body), headers=headers(token)
        )
        assert response.status_code == status, response.text
        assert await state(session) == before

    @pytest.mark.parametrize(("method", "path", "body"), WRITES)
    async def test_the_outpatient_office_may(self, session, client, org, world, office, method, path, body):
        before = await state(session)
        response = await client.request(
            method, API + world.path(path), json=world.body(body), headers=office.headers
        )
        assert response.status_code in (200, 201, 204), response.text
        assert await state(session) != before

    @pytest.mark.parametrize("path", CONFIG_READS)
    @pytest.mark.parametrize("who", ["doctor", "customer_service", *ADMINS])
    async def test_reading_it_is_for_the_office_too(self, session, client, org, world, who, path):
        response = await client.get(
            API + world.path(path), headers=headers(await token_for(session, org, who))
        )
        assert response.status_code == 403
        denial = await session.scalar(select(AuditEntry).where(AuditEntry.action == "access.denied"))
        assert (denial.result, denial.details) == ("denied", {"permission": "schedule.manage"})

    @pytest.mark.parametrize("path", CONFIG_READS)
    async def test_the_office_reads_it(self, client, world, office, path):
        assert (await client.get(API + world.path(path), headers=office.headers)).status_code == 200


class TestRecords:
    @pytest.mark.parametrize("path", RECORD_READS)
    @pytest.mark.parametrize(
        ("who", "status"),
        [
            ("anonymous", 401),
            ("patient", 403),
            ("doctor", 403),
            ("nurse", 403),
            ("outpatient_office", 200),
            ("customer_service", 200),
            *[(admin, 403) for admin in ADMINS],
        ],
    )
    async def test_matrix(self, session, client, org, world, path, who, status):
        response = await client.get(
            API + world.path(path), headers=headers(await token_for(session, org, who))
        )
        assert response.status_code == status, response.text

    async def test_a_campus_scoped_reader_sees_only_his_campuses(self, session, client, org, world):
        from ihos.auth.caller import Caller
        from ihos.auth.permissions import Permission
        from ihos.scheduling import service

        reader = Caller(
            kind="staff", permissions=frozenset({Permission.BOOKING_READ}), campus_ids=frozenset()
        )
        with pytest.raises(service.ClinicSessionNotFound):
            await service.session_board(session, reader, uuid.UUID(world.ids["session"]))


class TestOwnSchedule:
    @pytest.mark.parametrize(
        ("who", "status"),
        [
            ("anonymous", 401),
            ("patient", 403),
            ("doctor", 200),
            ("outpatient_office", 200),
            *[(a, 200) for a in ADMINS],
        ],
    )
    async def test_matrix(self, session, client, org, world, who, status):
        response = await client.get(f"{API}/my-sessions", headers=headers(await token_for(session, org, who)))
        assert response.status_code == status
        if status == 200:
            assert response.json() == []  # none of them is the doctor of a session


class TestBrowsing:
    @pytest.mark.parametrize("path", PUBLIC_READS)
    @pytest.mark.parametrize("who", ["anonymous", "patient", "doctor"])
    async def test_anyone_may_browse(self, session, client, org, world, who, path):
        response = await client.get(
            CLINICS + world.path(path), headers=headers(await token_for(session, org, who))
        )
        assert response.status_code == 200, response.text
