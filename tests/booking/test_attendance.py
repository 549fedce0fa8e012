"""Arrival and no-show: a nurse (or the HIS, see test_system_api) records them; a sweep settles what
nobody recorded two hours after the session ended. Expired holds are tidied by a sweep too (SL-10)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from ihos.kit.time import clock
from ihos.models.booking import BlacklistEvent
from ihos.models.system import SystemRule
from tests.booking.conftest import hold, released_session, verified_booker
from tests.booking.support import (
    audit_actions,
    booked,
    booking_of,
    count,
    headers_for,
    local_at,
    payments_reach,
    signed_in_again,
    slot_of,
    staff_headers,
    travel_to,
)
from tests.factories import make_staff


@pytest.fixture(autouse=True)
def _payments(app):  # type: ignore[no-untyped-def]
    with payments_reach(app):
        yield


class TestArrival:
    async def test_it_works(self, session, client, org, booker, run_jobs):
        clinic = await released_session(session, org)
        clinic_id, day = clinic.id, clinic.session_date
        booking_id = await booked(client, session, run_jobs, booker, clinic_id)
        travel_to(local_at(day, 7, 50))
        nurse = await staff_headers(session, org, "nurse")
        response = await client.post(f"/api/v1/bookings/{booking_id}/arrive", headers=nurse)
        assert response.status_code == 200, response.text
        assert (response.json()["state"], response.json()["state_label"]) == ("arrived", "已签到")
        assert response.json()["arrived_at"] is not None
        assert response.json()["cancellation"] is None  # an arrived patient no longer cancels
        assert "booking.arrive" in await audit_actions(session, response.json()["booking_number"])

    async def test_only_on_the_day(self, session, client, org, booker, run_jobs):
        clinic_id = (await released_session(session, org)).id
        booking_id = await booked(client, session, run_jobs, booker, clinic_id)
        nurse = await staff_headers(session, org, "nurse")
        response = await client.post(f"/api/v1/bookings/{booking_id}/arrive", headers=nurse)
        assert response.status_code == 409
        assert response.json()["error"] == "not_session_day"
        assert (await booking_of(session, booking_id)).state == "confirmed"

    async def test_only_confirmed(self, session, client, org, booker):
        clinic = await released_session(session, org)
        clinic_id, day = clinic.id, clinic.session_date
        booking_id = (await hold(client, booker, clinic_id)).json()["id"]
        travel_to(local_at(day, 7, 50))
        nurse = await staff_headers(session, org, "nurse")
        response = await client.post(f"/api/v1/bookings/{booking_id}/arrive", headers=nurse)
        assert response.json()["error"] == "booking_not_confirmed"

    @pytest.mark.parametrize(
        ("who", "status"),
        [
            ("anonymous", 401),
            ("patient", 403),
            ("finance", 403),
            ("doctor", 403),
            ("nurse", 200),
            ("outpatient_office", 200),
        ],
    )
    async def test_authorisation(self, session, client, org, booker, run_jobs, who, status):
        clinic = await released_session(session, org)
        clinic_id, day = clinic.id, clinic.session_date
        booking_id = await booked(client, session, run_jobs, booker, clinic_id)
        travel_to(local_at(day, 8))
        headers = await headers_for(session, org, booker, who)
        response = await client.post(f"/api/v1/bookings/{booking_id}/arrive", headers=headers)
        assert response.status_code == status, response.text
        assert (await booking_of(session, booking_id)).state == ("arrived" if status == 200 else "confirmed")

    async def test_another_campus(self, session, client, org, booker, run_jobs):
        from tests.factories import make_org

        clinic = await released_session(session, org)
        clinic_id, day = clinic.id, clinic.session_date
        booking_id = await booked(client, session, run_jobs, booker, clinic_id)
        travel_to(local_at(day, 8))
        elsewhere = await staff_headers(session, await make_org(session), "nurse")
        response = await client.post(f"/api/v1/bookings/{booking_id}/arrive", headers=elsewhere)
        assert response.status_code == 404
        assert (await booking_of(session, booking_id)).state == "confirmed"


class TestNoShow:
    async def test_the_sweep(self, session, client, org, run_jobs):
        clinic = await released_session(session, org)
        clinic_id, day = clinic.id, clinic.session_date
        absent, present = await verified_booker(session), await verified_booker(session)
        absent_booking = await booked(client, session, run_jobs, absent, clinic_id)
        present_booking = await booked(client, session, run_jobs, present, clinic_id)
        travel_to(local_at(day, 8))
        nurse = await staff_headers(session, org, "nurse")
        await client.post(f"/api/v1/bookings/{present_booking}/arrive", headers=nurse)
        travel_to(local_at(day, 13, 59))  # the session ended at 12:00; settled two hours later
        await run_jobs()
        assert (await booking_of(session, absent_booking)).state == "confirmed"
        travel_to(local_at(day, 14, 10))  # the sweep's next period
        await run_jobs()
        gone = await booking_of(session, absent_booking)
        came = await booking_of(session, present_booking)
        assert (gone.state, gone.end_reason, gone.active_key) == ("no_show", "no_show", None)
        assert (came.state, came.end_reason) == ("completed", "visited")
        [event] = (await session.scalars(select(BlacklistEvent))).all()
        assert (event.kind, str(event.booking_id), event.patient_id) == (
            "no_show",
            absent_booking,
            absent.patient_id,
        )
        assert (
            await slot_of(session, absent_booking)
        ).status == "booked"  # the place is past; never re-offered
        await run_jobs()
        clock.travel(timedelta(hours=1))
        await run_jobs()
        assert await count(session, BlacklistEvent) == 1  # counted once

    async def test_without_tracking_nobody_is_counted_absent(self, session, client, org, run_jobs):
        # A hospital whose HIS does not report arrivals switches tracking off.
        session.add(SystemRule(key="booking.no_show_tracking", value=0))
        session.add(SystemRule(key="booking.settle_after_minutes", value=30))
        clinic = await released_session(session, org)
        patient = await verified_booker(session)
        booking_id = await booked(client, session, run_jobs, patient, clinic.id)
        travel_to(local_at(clinic.session_date, 12, 40))  # the session ended at 12:00; settled 30 min later
        await run_jobs()
        ended = await booking_of(session, booking_id)
        assert (ended.state, ended.end_reason, ended.active_key) == (
            "completed",
            "attendance_not_tracked",
            None,
        )
        assert await count(session, BlacklistEvent) == 0

    async def test_by_a_nurse(self, session, client, org, booker, run_jobs):
        clinic = await released_session(session, org)
        clinic_id, day = clinic.id, clinic.session_date
        booking_id = await booked(client, session, run_jobs, booker, clinic_id)
        nurse_id = (await make_staff(session, org, roles=["nurse"])).id
        travel_to(local_at(day, 7, 30))
        early = await client.post(
            f"/api/v1/bookings/{booking_id}/no-show", headers=await signed_in_again(session, nurse_id)
        )
        assert (early.status_code, early.json()["error"]) == (409, "session_not_started")
        travel_to(local_at(day, 11, 30))
        nurse = await signed_in_again(session, nurse_id)
        response = await client.post(f"/api/v1/bookings/{booking_id}/no-show", headers=nurse)
        assert response.status_code == 200, response.text
        assert (response.json()["state"], response.json()["state_label"]) == ("no_show", "爽约")
        assert await count(session, BlacklistEvent, BlacklistEvent.kind == "no_show") == 1


class TestExpiredHolds:
    async def test_the_sweep_tidies_them(self, session, client, org, booker, run_jobs):
        clinic_id = (await released_session(session, org)).id
        booking_id = (await hold(client, booker, clinic_id)).json()["id"]
        await run_jobs()
        assert (await slot_of(session, booking_id)).status == "held"
        clock.travel(timedelta(minutes=15, seconds=1))
        await run_jobs()
        booking = await booking_of(session, booking_id)
        assert (booking.state, booking.end_reason, booking.active_key) == ("expired", "hold_expired", None)
        slot = await slot_of(session, booking_id)
        assert (slot.status, slot.booking_id, slot.hold_expires_at) == ("free", None, None)

    async def test_a_paid_booking_is_left_alone(self, session, client, org, booker, run_jobs):
        clinic_id = (await released_session(session, org)).id
        booking_id = await booked(client, session, run_jobs, booker, clinic_id)
        clock.travel(timedelta(minutes=30))
        await run_jobs()
        assert (await booking_of(session, booking_id)).state == "confirmed"
        assert (await slot_of(session, booking_id)).status == "booked"
