"""Sessions by hand (SL-03): a same-day online session added, a session nobody booked cancelled; a session
with bookings is refused (that is a suspension) and left as it was."""

from __future__ import annotations

import uuid
from datetime import time, timedelta

from sqlalchemy import func, select

from ihos.kit.time import clock
from ihos.models.audit import AuditEntry
from ihos.models.booking import Booking
from ihos.models.scheduling import ClinicSession, Slot
from ihos.scheduling.generation import local_instant
from tests.booking.conftest import hold, verified_booker
from tests.scheduling.conftest import API, generated, make_doctor, make_kind


async def statuses(session, clinic_id) -> dict[str, int]:
    rows = await session.execute(
        select(Slot.status, func.count())
        .where(Slot.session_id == clinic_id)
        .group_by(Slot.status)
        .execution_options(populate_existing=True)
    )
    return dict(rows.tuples().all())


def session_payload(kind_id, day, **extra) -> dict:
    return {
        "registration_kind_id": str(kind_id),
        "session_date": str(day),
        "period": "evening",
        "starts": "18:00",
        "ends": "21:00",
        "average_minutes": 10,
        "capacity": 12,
        "quotas": {"internet_hospital": 4},
        **extra,
    }


class TestAddSession:
    async def test_it_works(self, session, client, org, office, today):
        doctor = await make_doctor(session, org, name="赵医生")
        kind = await make_kind(
            session,
            org,
            name="互联网复诊",
            slot_type_code="online_return",
            doctor_id=doctor.id,
            is_online=True,
        )
        response = await client.post(
            f"{API}/sessions", headers=office.headers, json=session_payload(kind.id, today)
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert (body["is_online"], body["is_generated"], body["state"], body["capacity"]) == (
            True,
            False,
            "open",
            12,
        )
        assert (body["doctor_name"], body["fee_fen"]) == ("赵医生", 2_000)
        assert body["places"] == {"free": 12, "held": 0, "booked": 0, "cooling": 0, "blocked": 0}
        clinic = await session.get_one(ClinicSession, uuid.UUID(body["id"]))
        assert clinic.starts_at == local_instant(today, time(18))
        assert clinic.release_at < clinic.starts_at  # same day: bookable within the same-day hours
        channels = (await session.scalars(select(Slot.channel).where(Slot.session_id == clinic.id))).all()
        assert sorted(set(channels)) == ["internet_hospital", "pool"]
        [entry] = (
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "clinic_session.add"))
        ).all()
        assert (entry.actor_id, entry.details["period"]) == (office.id, "evening")

    async def test_a_patient_can_book_it_the_same_day(self, session, client, org, office, today):
        kind = await make_kind(session, org, is_online=False)
        added = await client.post(
            f"{API}/sessions", headers=office.headers, json=session_payload(kind.id, today)
        )
        booker = await verified_booker(session)
        response = await hold(client, booker, added.json()["id"])
        assert response.status_code == 201, response.text

    async def test_one_session_per_kind_date_and_period(self, session, client, org, office, today):
        kind_id = (await make_kind(session, org)).id
        first = await client.post(
            f"{API}/sessions", headers=office.headers, json=session_payload(kind_id, today)
        )
        again = await client.post(
            f"{API}/sessions", headers=office.headers, json=session_payload(kind_id, today)
        )
        assert (first.status_code, again.status_code, again.json()["error"]) == (
            201,
            409,
            "clinic_session_exists",
        )
        assert await session.scalar(select(func.count()).select_from(ClinicSession)) == 1

    async def test_not_a_session_that_is_over(self, session, client, org, office, today):
        kind_id = (await make_kind(session, org)).id
        for payload in (
            session_payload(kind_id, today, starts="08:00", ends="09:30"),  # it is 10:00
            session_payload(kind_id, today - timedelta(days=1)),
        ):
            response = await client.post(f"{API}/sessions", headers=office.headers, json=payload)
            assert (response.status_code, response.json()["error"]) == (400, "invalid_schedule")
        assert await session.scalar(select(func.count()).select_from(ClinicSession)) == 0

    async def test_quotas_within_the_capacity(self, session, client, org, office, today):
        kind_id = (await make_kind(session, org)).id
        response = await client.post(
            f"{API}/sessions", headers=office.headers, json=session_payload(kind_id, today, capacity=3)
        )
        assert response.json()["error"] == "quotas_exceed_capacity"

    async def test_a_retired_kind(self, session, client, org, office, today):
        kind = await make_kind(session, org)
        kind.is_active = False
        response = await client.post(
            f"{API}/sessions", headers=office.headers, json=session_payload(kind.id, today)
        )
        assert response.json()["error"] == "registration_kind_retired"


class TestCancelSession:
    async def test_it_works(self, session, client, org, office, today):
        clinic_id = (await generated(session, org, today + timedelta(days=1), capacity=6)).id
        response = await client.post(
            f"{API}/sessions/{clinic_id}/cancel", headers=office.headers, json={"reason": "医生外出会诊"}
        )
        assert response.status_code == 200, response.text
        assert response.json()["state"] == "cancelled"
        assert response.json()["places"]["blocked"] == 6
        assert await statuses(session, clinic_id) == {"blocked": 6}
        [entry] = (
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "clinic_session.cancel"))
        ).all()
        assert entry.details["reason"] == "医生外出会诊"

    async def test_nobody_can_book_it_afterwards(self, session, client, org, office, today):
        clinic_id = (await generated(session, org, today + timedelta(days=1))).id
        await client.post(f"{API}/sessions/{clinic_id}/cancel", headers=office.headers, json={"reason": "停"})
        response = await hold(client, await verified_booker(session), clinic_id)
        assert response.json()["error"] == "session_not_bookable"

    async def test_a_session_with_bookings_is_refused_and_left_alone(
        self, session, client, org, office, today
    ):
        clinic_id = (await generated(session, org, today + timedelta(days=1), capacity=4)).id
        assert (await hold(client, await verified_booker(session), clinic_id)).status_code == 201
        response = await client.post(
            f"{API}/sessions/{clinic_id}/cancel", headers=office.headers, json={"reason": "停"}
        )
        assert (response.status_code, response.json()["error"]) == (409, "clinic_session_has_bookings")
        assert "1 个有效预约" in response.json()["message"]
        assert (await session.get_one(ClinicSession, clinic_id, populate_existing=True)).state == "open"
        assert await statuses(session, clinic_id) == {"held": 1, "free": 3}
        assert (
            await session.scalars(
                select(AuditEntry.action).where(AuditEntry.action == "clinic_session.cancel")
            )
        ).all() == []

    async def test_a_lapsed_hold_does_not_count(self, session, client, org, office, today):
        clinic_id = (await generated(session, org, today + timedelta(days=1), capacity=4)).id
        await hold(client, await verified_booker(session), clinic_id)
        clock.travel(timedelta(minutes=16))
        response = await client.post(
            f"{API}/sessions/{clinic_id}/cancel", headers=office.headers, json={"reason": "停"}
        )
        assert response.status_code == 200, response.text
        assert await statuses(session, clinic_id) == {"blocked": 4}
        booking = await session.scalar(select(Booking).execution_options(populate_existing=True))
        assert (booking.state, booking.active_key, booking.end_reason) == ("expired", None, "hold_expired")

    async def test_only_an_open_session_that_is_not_over(self, session, client, org, office, today):
        cancelled = (await generated(session, org, today + timedelta(days=1), kind={"name": "甲"})).id
        await client.post(f"{API}/sessions/{cancelled}/cancel", headers=office.headers, json={"reason": "停"})
        over = (await generated(session, org, today, kind={"name": "乙"}, starts=time(7), ends=time(9))).id
        again = await client.post(
            f"{API}/sessions/{cancelled}/cancel", headers=office.headers, json={"reason": "停"}
        )
        late = await client.post(
            f"{API}/sessions/{over}/cancel", headers=office.headers, json={"reason": "停"}
        )
        assert again.json()["error"] == "clinic_session_not_open"
        assert late.json()["error"] == "clinic_session_over"

    async def test_a_reason_is_required(self, session, client, org, office, today):
        clinic_id = (await generated(session, org, today + timedelta(days=1))).id
        response = await client.post(f"{API}/sessions/{clinic_id}/cancel", headers=office.headers, json={})
        assert response.status_code == 422
