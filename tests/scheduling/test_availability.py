"""What the patient app is told is available (SL-04): counted with the hold's own rule (free, a hold past
its expiry, a cancelled place past its cooling), for the app's channel and the pool (every channel after
``pool_at``), cached about a second. Each count is checked against the hold itself: exactly that many
holds succeed, and the next is sold out."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select, update

from ihos.booking.service import end_booking, release_slot
from ihos.kit.time import clock, now
from ihos.models.booking import Booking
from ihos.models.scheduling import ClinicSession, Slot
from ihos.scheduling import service
from ihos.scheduling.generation import local_instant
from tests.booking.conftest import hold, verified_booker
from tests.scheduling.conftest import CLINICS, generated


async def offered(client, clinic_id) -> tuple[str, int, list[tuple[datetime, int]]]:
    body = (await client.get(f"{CLINICS}/sessions/{clinic_id}")).json()
    segments = [(datetime.fromisoformat(s["starts_at"]), s["available"]) for s in body["segments"]]
    return body["state"], body["available"], segments


async def book_until_sold_out(session, client, clinic_id) -> int:
    """Holds through the real endpoint until one is refused; how many succeeded."""
    taken = 0
    while True:
        response = await hold(client, await verified_booker(session), clinic_id)
        if response.status_code != 201:
            assert response.json()["error"] == "sold_out", response.text
            return taken
        taken += 1


class TestCounts:
    async def test_it_works(self, session, client, org, today):
        clinic_id = (
            await generated(session, org, today + timedelta(days=2), capacity=4, average_minutes=30)
        ).id
        state, available, segments = await offered(client, clinic_id)
        day = today + timedelta(days=2)
        assert (state, available) == ("available", 4)
        assert segments == [
            (local_instant(day, time(h, m)), 1) for h, m in ((8, 0), (8, 30), (9, 0), (9, 30))
        ]

    async def test_the_count_is_what_the_hold_can_take(self, session, client, org, today):
        clinic_id = (await generated(session, org, today + timedelta(days=2), capacity=5)).id
        await hold(client, await verified_booker(session), clinic_id)
        service.forget_cached_counts()
        _, available, _ = await offered(client, clinic_id)
        assert available == 4
        assert await book_until_sold_out(session, client, clinic_id) == 4
        service.forget_cached_counts()
        assert (await offered(client, clinic_id))[:2] == ("full", 0)

    async def test_other_channels_quotas_only_after_pool_at(self, session, client, org, today):
        day = today + timedelta(days=2)
        clinic = await generated(session, org, day, capacity=6, quotas={"window": 2, "kiosk": 1, "app": 1})
        clinic_id = clinic.id
        clinic.pool_at = now() + timedelta(minutes=5)  # soon, so that the holds below are still running then
        assert (await offered(client, clinic_id))[1] == 3  # 2 pooled + 1 of the app's own
        assert await book_until_sold_out(session, client, clinic_id) == 3
        clock.travel(timedelta(minutes=5))
        assert (await offered(client, clinic_id))[1] == 3  # the window's and the kiosk's, returned
        assert await book_until_sold_out(session, client, clinic_id) == 3

    async def test_a_lapsed_hold_counts_as_free_at_once(self, session, client, org, today):
        clinic_id = (await generated(session, org, today + timedelta(days=2), capacity=2)).id
        assert await book_until_sold_out(session, client, clinic_id) == 2
        assert (await offered(client, clinic_id))[1] == 0
        clock.travel(timedelta(minutes=16))  # past the 15-minute hold, before any sweep
        assert (await offered(client, clinic_id))[:2] == ("available", 2)
        assert await book_until_sold_out(session, client, clinic_id) == 2

    async def test_a_cancelled_place_counts_after_its_cooling(self, session, client, org, today):
        clinic_id = (await generated(session, org, today + timedelta(days=2), capacity=2)).id
        assert await book_until_sold_out(session, client, clinic_id) == 2
        booking = await session.scalar(select(Booking).order_by(Booking.seq).limit(1))
        await end_booking(session, booking, state="cancelled", reason="patient", at=now())
        await release_slot(session, booking, at=now())
        cooled_at = await session.scalar(select(Slot.available_at).where(Slot.id == booking.slot_id))
        service.forget_cached_counts()
        assert (await offered(client, clinic_id))[1] == 0
        assert await book_until_sold_out(session, client, clinic_id) == 0
        clock.freeze(cooled_at)
        assert (await offered(client, clinic_id))[1] == 1
        assert await book_until_sold_out(session, client, clinic_id) == 1

    async def test_blocked_places_are_not_offered(self, session, client, org, today):
        clinic_id = (await generated(session, org, today + timedelta(days=2), capacity=3)).id
        await session.execute(
            update(Slot).where(Slot.session_id == clinic_id, Slot.seq == 1).values(status="blocked")
        )
        assert (await offered(client, clinic_id))[1] == 2
        assert await book_until_sold_out(session, client, clinic_id) == 2

    async def test_a_segment_counts_its_own_places(self, session, client, org, today):
        day = today + timedelta(days=2)
        clinic_id = (await generated(session, org, day, capacity=4, average_minutes=15)).id  # 2 per half hour
        first = local_instant(day, time(8))
        booker = await verified_booker(session)
        response = await hold(client, booker, clinic_id, segment_starts_at=first.isoformat())
        assert response.status_code == 201
        service.forget_cached_counts()
        _, available, segments = await offered(client, clinic_id)
        assert (available, segments) == (3, [(first, 1), (local_instant(day, time(8, 30)), 2)])


class TestCache:
    async def test_counts_are_cached_about_a_second(self, session, client, org, today):
        clinic_id = (await generated(session, org, today + timedelta(days=2), capacity=3)).id
        assert (await offered(client, clinic_id))[1] == 3
        await session.execute(update(Slot).where(Slot.session_id == clinic_id).values(status="booked"))
        assert (await offered(client, clinic_id))[1] == 3  # the same second: the cached count
        clock.travel(timedelta(seconds=1))
        assert (await offered(client, clinic_id))[1] == 0

    async def test_one_query_counts_a_whole_schedule(self, session, client, org, today):
        ids = [
            (await generated(session, org, today + timedelta(days=n), kind={"name": f"号别{n}"})).id
            for n in (1, 2, 3)
        ]
        counted = []
        original = service.repository.segment_availability

        async def counting(session, session_ids, at):
            counted.append(len(session_ids))
            return await original(session, session_ids, at)

        service.repository.segment_availability = counting  # type: ignore[assignment]
        try:
            response = await client.get(f"{CLINICS}/departments/{org.department_id}/schedule")
            await client.get(f"{CLINICS}/departments/{org.department_id}/schedule")
        finally:
            service.repository.segment_availability = original  # type: ignore[assignment]
        assert [s["id"] for s in response.json()["sessions"]] == [str(i) for i in ids]
        assert counted == [3]  # the second request within the second was served from the cache


class TestStates:
    async def test_not_released_yet_says_when(self, session, client, org, today):
        day = today + timedelta(days=7)
        clinic = await generated(session, org, day, starts=time(14), ends=time(17), period="afternoon")
        clinic_id = clinic.id
        clinic.release_at = local_instant(today, time(15))
        body = (await client.get(f"{CLINICS}/sessions/{clinic_id}")).json()
        assert (body["state"], datetime.fromisoformat(body["opens_at"])) == (
            "not_released",
            local_instant(today, time(15)),
        )
        assert (await hold(client, await verified_booker(session), clinic_id)).json()[
            "error"
        ] == "not_yet_released"

    async def test_same_day_hours(self, session, client, org, today):
        clinic_id = (
            await generated(session, org, today, starts=time(18), ends=time(21), period="evening")
        ).id
        assert (await client.get(f"{CLINICS}/sessions/{clinic_id}")).json()["state"] == "available"
        clock.freeze(local_instant(today, time(17, 30)))  # same-day registration closed at 17:00
        assert (await client.get(f"{CLINICS}/sessions/{clinic_id}")).json()["state"] == "closed"
        assert (await hold(client, await verified_booker(session), clinic_id)).json()[
            "error"
        ] == "not_yet_released"
        clock.freeze(local_instant(today, time(6, 30)))  # opens at 07:00
        body = (await client.get(f"{CLINICS}/sessions/{clinic_id}")).json()
        assert (body["state"], datetime.fromisoformat(body["opens_at"])) == (
            "not_released",
            local_instant(today, time(7)),
        )

    async def test_stopped(self, session, client, org, today):
        clinic = await generated(session, org, today + timedelta(days=2))
        clinic_id = clinic.id
        clinic.state = "suspended"
        body = (await client.get(f"{CLINICS}/sessions/{clinic_id}")).json()
        assert body["state"] == "stopped"
        assert (await session.get_one(ClinicSession, clinic_id)).state == "suspended"
